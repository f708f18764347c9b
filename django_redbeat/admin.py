"""The admin: the schedule editor, with the live run state read from Redis.

The list reads every row's run state in one pipelined round trip per page. Changes reach Redis
through the receivers (after commit); actions that bypass signals sync explicitly. When Redis
cannot be written, the database change stands and the user gets a warning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_redbeat import admin_display, admin_history, schedule_preview
from django_redbeat.admin_pages import RedBeatPages
from django_redbeat.admin_pause import PauseActions
from django_redbeat.forms import PeriodicTaskForm, registered_tasks
from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge

NOT_IN_REDIS = "-"
#: The "Run policy" fieldset: every RunPolicy name has its field there (a test checks it).
RUN_POLICY_FIELDS = (
    "catch_up", ("catch_up_window", "catch_up_limit"), ("overlap", "overlap_timeout"), "jitter",
    ("start_time", "end_time"), "max_runs", "pause_after_failures",
)  # fmt: skip


class RunStateChangeList(ChangeList):
    """Attaches each row's Redis run state (``task.run_state``) with one read for the page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        try:
            states = bridge.read_run_states([task.name for task in self.result_list])
        except bridge.SYNC_ERRORS as exc:
            messages.warning(request, _("Run state unavailable: Redis cannot be read (%s).") % exc)
            states = {}
        histories = {}
        with contextlib.suppress(*bridge.SYNC_ERRORS):  # the warning above tells it
            histories = admin_history.read([task.name for task in self.result_list], False)
        for task in self.result_list:
            task.run_state = states.get(task.name)
            task.run_history = histories.get(task.name)


def last_run_text(state: bridge.RunState | None) -> datetime | str | None:
    if not state or not state.in_redis:
        return NOT_IN_REDIS
    # a new (or reset) entry's last_run_at is when it was created: its count tells it never ran
    return state.last_run_at if state.total_run_count else _("never")


def kind_fieldset(title: str, kinds: list[str], fields: tuple[Any, ...]) -> tuple[str, Any]:
    """A fieldset shown only while one of ``kinds`` is the selected schedule kind."""
    classes = [f"redbeat-kind-{kind}" for kind in kinds]
    return (title, {"fields": fields, "classes": classes})


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(RedBeatPages, PauseActions, admin.ModelAdmin):
    form = PeriodicTaskForm
    list_display = (
        "name", "task", "schedule_text", "status", "next_run", "last_run", "run_count",
    )  # fmt: skip
    list_filter = (
        "enabled", "kind",
        ("task", admin.AllValuesFieldListFilter), ("queue", admin.AllValuesFieldListFilter),
    )  # fmt: skip
    search_fields = ("name", "task", "description")
    actions = (
        "enable", "disable", "pause_with_reason", "run_now", "sync_to_redis", "reset_run_state",
    )  # fmt: skip
    readonly_fields = (
        "pause_details", "upcoming_runs", "last_run_at", "total_run_count", "run_counters",
        "run_history",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": (
            "name", "task", "enabled", "paused_reason", "pause_details", "description",
        )}),
        (_("Schedule"), {"fields": ("kind", "upcoming_runs")}),
        kind_fieldset(_("Interval"), ["interval"], (("every", "period"),)),
        kind_fieldset(_("Crontab"), ["crontab"], (
            ("minute", "hour", "day_of_week", "day_of_month", "month_of_year"),
        )),
        kind_fieldset(_("Recurrence rule (RFC 5545)"), ["rrule"], ("rrule",)),
        kind_fieldset(_("Time zone"), ["crontab", "rrule"], ("timezone",)),
        kind_fieldset(_("Solar event"), ["solar"], ("solar_event", ("latitude", "longitude"))),
        kind_fieldset(_("One-off"), ["oneoff"], ("run_at",)),
        (_("Arguments"), {"fields": ("args", "kwargs")}),
        (_("Sending"), {"fields": (
            ("queue", "exchange", "routing_key"), "priority", "headers", "extra_options",
            ("expires", "expire_seconds"), "one_off",
        )}),
        (_("Run policy"), {"fields": RUN_POLICY_FIELDS}),
        (_("Run state (from Redis)"), {
            "fields": ("last_run_at", "total_run_count", "reset_run_state", "run_counters"),
        }),
        (_("Run history (from Redis)"), {"fields": ("run_history",)}),
    )  # fmt: skip

    class Media:
        js = ["django_redbeat/schedule_kind.js", "django_redbeat/pause_reason.js"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RunStateChangeList

    # ---- list columns ------------------------------------------------------------------------

    @admin.display(description=_("schedule"))
    def schedule_text(self, task: PeriodicTask) -> str:
        return admin_display.schedule_cell(task)

    @admin.display(description=_("next run"))
    def next_run(self, task: PeriodicTask) -> datetime | str | None:
        state = getattr(task, "run_state", None)
        moment = state.next_run_at if state and state.in_redis else NOT_IN_REDIS
        return self._time_cell(task, moment)

    @admin.display(description=_("last run"))
    def last_run(self, task: PeriodicTask) -> Any:
        """The last run's time, led by its outcome's icon (in this cell, not a column of its
        own: the list must fit a 1280 px screen)."""
        cell = self._time_cell(task, last_run_text(getattr(task, "run_state", None)))
        icon = admin_history.outcome_icon(getattr(task, "run_history", None))
        return cell if icon == "-" else format_html("{} {}", icon, cell)

    @staticmethod
    def _time_cell(task: PeriodicTask, moment: datetime | str | None) -> Any:
        if not isinstance(moment, datetime):
            return moment
        return admin_display.run_time_cell(task, moment, bridge.celery_app())

    @admin.display(description=_("runs"))
    def run_count(self, task: PeriodicTask) -> int | str:
        state = getattr(task, "run_state", None)
        return state.total_run_count if state and state.in_redis else NOT_IN_REDIS

    # ---- change form -------------------------------------------------------------------------

    def _history(self, task: PeriodicTask) -> admin_history.RunHistory | None:
        if not hasattr(task, "run_history"):
            try:
                task.run_history = admin_history.read([task.name])[task.name]
            except bridge.SYNC_ERRORS:
                task.run_history = None
        return task.run_history

    @admin.display(description=_("counters"))
    def run_counters(self, task: PeriodicTask) -> str:
        return admin_history.counters(self._history(task)) if task.pk else "-"

    @admin.display(description=_("last runs, newest first"))
    def run_history(self, task: PeriodicTask) -> str:
        return admin_history.table(self._history(task)) if task.pk else "-"

    def _run_state(self, task: PeriodicTask) -> bridge.RunState | None:
        if task.pk is None:
            return None
        if not hasattr(task, "run_state"):
            try:
                task.run_state = bridge.read_run_states([task.name])[task.name]
            except bridge.SYNC_ERRORS:
                task.run_state = None
        return task.run_state

    @admin.display(description=_("next five runs"))
    def upcoming_runs(self, task: PeriodicTask) -> str:
        if task.pk is None:
            return _("Shown as you fill in the schedule.")  # by schedule_preview.js
        if not task.enabled:
            return _("None: the task is disabled.")
        state = self._run_state(task)
        try:
            runs = schedule_preview.run_lines(
                task, bridge.celery_app(), state.last_run_at if state else None
            )
        except (ValueError, TypeError) as exc:
            return _("Invalid schedule: %s") % exc
        return format_html_join("", "<div>{}</div>", ((run,) for run in runs)) or _(
            "None: the schedule has ended."
        )

    @admin.display(description=_("last run"))
    def last_run_at(self, task: PeriodicTask) -> datetime | str | None:
        return last_run_text(self._run_state(task))

    @admin.display(description=_("run count"))
    def total_run_count(self, task: PeriodicTask) -> int | str:
        state = self._run_state(task)
        return state.total_run_count if state and state.in_redis else NOT_IN_REDIS

    def save_model(self, request: HttpRequest, obj: PeriodicTask, form: Any, change: bool) -> None:
        self.record_pause(request, obj, form)
        super().save_model(request, obj, form, change)
        if obj.task not in registered_tasks(form.app):
            self.message_user(
                request,
                _("Task %(task)s is not registered with the Celery app (yet): check its name.")
                % {"task": obj.task},
                messages.WARNING,
            )
        if form.cleaned_data.get("reset_run_state"):
            # registered after the receivers' sync, so it runs after it at commit
            transaction.on_commit(lambda: bridge.reset_run_state([obj]))

    # ---- actions -----------------------------------------------------------------------------

    @admin.action(description=_("Run selected tasks now"), permissions=["change"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        app, count = bridge.celery_app(), 0
        for task in queryset:
            try:
                app.send_task(task.task, args=task.args, kwargs=task.kwargs, **task.options)
            except Exception as exc:  # the broker's errors have no common base
                message = _("%(name)s was not sent: %(error)s") % {"name": task.name, "error": exc}
                self.message_user(request, message, messages.ERROR)
            else:
                count += 1
        self.message_user(request, ngettext("%d task sent.", "%d tasks sent.", count) % count)

    @admin.action(description=_("Sync selected tasks to Redis"), permissions=["change"])
    def sync_to_redis(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        failures = bridge.sync_tasks(queryset)
        count = len(queryset) - len(failures)
        self.message_user(request, ngettext("%d task synced.", "%d tasks synced.", count) % count)

    @admin.action(description=_("Reset run state of selected tasks"), permissions=["change"])
    def reset_run_state(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        failures = bridge.reset_run_state(queryset)
        count = len(queryset) - len(failures)
        message = ngettext("%d task reset.", "%d tasks reset.", count) % count
        self.message_user(request, message)

    # ---- views: report what did not reach Redis ---------------------------------------------

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(request, super().changeform_view, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(request, super().changelist_view, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(request, super().delete_view, *args, **kwargs)

    def _reporting(
        self, request: HttpRequest, view: Callable[..., HttpResponse], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        with bridge.collect_failures() as failures:
            response = view(request, *args, **kwargs)
        names = sorted({failure.name for failure in failures})
        if names:
            self.message_user(
                request,
                _("Saved in the database, but Redis could not be updated for %(names)s (%(why)s). "
                  "Beat keeps the previous state until `manage.py redbeat_sync --repair` runs.")
                % {"names": ", ".join(names), "why": failures[0].reason},
                messages.WARNING,
            )  # fmt: skip
        return response
