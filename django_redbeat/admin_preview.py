"""The add and change forms' live preview: the next five runs of the schedule being edited,
before it is saved. ``schedule_preview.js`` posts the whole form here as the user types; the
answer is JSON: ``{"runs": [...], "note": ...}`` or ``{"errors": {field: [message, ...]}}``.

The form is the admin's own, checked as a save would check it, but nothing is saved: errors of
the fields that are not the schedule's (a name not typed yet) do not stop the preview.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _

from django_redbeat import schedule_preview
from django_redbeat.model_schedules import KIND_FIELDS
from django_redbeat.models import POLICY_FIELDS, PeriodicTask
from django_redbeat.sync import bridge

#: The fields whose errors stop the preview (those a schedule is built from, and the run
#: policy, whose bounds the runs keep within).
SCHEDULE_FIELDS = frozenset(
    {"kind", "enabled", "one_off", *POLICY_FIELDS, *(f for fs in KIND_FIELDS.values() for f in fs)}
)


def preview(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    task = _task(model_admin, request, request.POST.get("redbeat_object_id") or None)
    last_run_at = _last_run(task)  # before the form renames it
    form = model_admin.get_form(request, task)(request.POST, request.FILES, instance=task)
    form.is_valid()  # fills the instance with what is valid, whatever else is not
    errors = {
        field: list(messages) for field, messages in form.errors.items()
        if field in SCHEDULE_FIELDS
    }  # fmt: skip
    if errors:
        return JsonResponse({"errors": errors})
    if not form.instance.enabled:
        return JsonResponse({"runs": [], "note": _("None: the task is disabled.")})
    try:
        runs = schedule_preview.run_lines(form.instance, bridge.celery_app(), last_run_at)
    except (ValueError, TypeError) as exc:
        return JsonResponse({"errors": {"kind": [str(exc)]}})
    return JsonResponse({"runs": runs, "note": "" if runs else _("None: the schedule has ended.")})


def _task(model_admin: ModelAdmin, request: HttpRequest, object_id: str | None) -> Any:
    """The row being changed (None on the add form); PermissionDenied if the user may not."""
    task = model_admin.get_object(request, object_id) if object_id else None
    if object_id and task is None:
        raise PermissionDenied
    allowed = model_admin.has_change_permission(request, task) or (
        task is None and model_admin.has_add_permission(request)
    )
    if not allowed:
        raise PermissionDenied
    return task or PeriodicTask()


def _last_run(task: PeriodicTask) -> Any:
    """The saved task's last run, from Redis: its runs go on from there. None when new."""
    if task.pk is None:
        return None
    try:
        state = bridge.read_run_states([task.name])[task.name]
    except bridge.SYNC_ERRORS:
        return None
    return state.last_run_at if state.in_redis else None
