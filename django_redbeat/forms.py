"""The admin form: a task and its schedule in one form, with JSON and schedules checked.

Model validation (``PeriodicTask.clean``) does the checking, so the form, the admin and code that
calls ``full_clean()`` refuse the same input with the same per-field messages.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from django import forms
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from django_redbeat.exceptions import RedBeatError
from django_redbeat.models import PeriodicTask
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync import bridge


def registered_tasks(app: Celery) -> list[str]:
    """The names of the app's tasks, without Celery's own."""
    return sorted(name for name in app.tasks if not name.startswith("celery."))


class TaskNameInput(forms.TextInput):
    """A text input that offers the registered task names and accepts any other."""

    template_name = "admin/django_redbeat/widgets/task_name.html"

    def __init__(self, task_names: list[str], attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"list": "redbeat-task-names", "autocomplete": "off", **(attrs or {})})
        self.task_names = task_names

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["task_names"] = self.task_names
        return context


class PeriodicTaskForm(forms.ModelForm):
    reset_run_state = forms.BooleanField(
        label=_("Reset run state"), required=False,
        help_text=_("Forget the last run and the run count; the next run is timed from now."),
    )  # fmt: skip

    class Meta:
        model = PeriodicTask
        exclude: list[str] = []
        widgets = {"rrule": forms.TextInput(attrs={"size": 60})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = bridge.celery_app()
        if "task" in self.fields:
            self.fields["task"].widget = TaskNameInput(registered_tasks(self.app))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name in self._static_names():
            raise forms.ValidationError(
                _("%(name)s is an entry of beat_schedule (a static entry): choose another name."),
                params={"name": name},
            )
        return name

    def _static_names(self) -> set[str]:
        # checked here rather than in the model: it reads Redis, and a failure must not block
        try:
            return set(get_redis(self.app).smembers(ensure_conf(self.app).statics_key))
        except (RedisError, RedBeatError):
            return set()
