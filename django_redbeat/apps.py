"""The Django app: system checks and the receivers that keep Redis in step with the models."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoRedBeatConfig(AppConfig):
    name = "django_redbeat"
    verbose_name = _("Periodic tasks (RedBeat)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_redbeat import checks, receivers

        checks.register()
        receivers.connect()
