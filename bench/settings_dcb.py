"""Django settings of the django-celery-beat project in the benchmark (its own process)."""

from __future__ import annotations

from bench.settings_common import *  # noqa: F403
from support.django_settings import ADMIN_APPS

INSTALLED_APPS = [*ADMIN_APPS, "django_celery_beat"]
