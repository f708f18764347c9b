"""Pausing in the admin: who disabled a task, when and why, in the row and in its entry.

Disabling a task from the admin (its form, the disable action, or "Pause with a reason", which
asks for the reason on a page of its own as Django's delete confirmation does) records the user,
the time and the reason in the row; the sync writes them into the entry's ``paused`` field in
the shape the worker hook's pause after failures has (sync/pauses.py), so both look alike in the
list and on the change page. Enabling clears the pause, in the row and in Redis.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_redbeat.models import PeriodicTask
from django_redbeat.sync.pauses import Pause

CONFIRMATION = "admin/django_redbeat/periodictask/pause_confirmation.html"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Shown in the list and on the task's page; cleared when it is enabled."),
    )  # fmt: skip


def pause_of(task: PeriodicTask) -> Pause | None:
    """The task's pause: its row's, else the one its entry holds (a pause after failures that
    no sync has brought to the row yet; ``task.run_history`` as the list read it)."""
    if not task.enabled and task.paused_at is not None:
        return {"reason": task.paused_reason, "at": task.paused_at, "by": task.paused_by}
    history = getattr(task, "run_history", None)
    return history.paused if history is not None else None


def pause_text(pause: Pause) -> str:
    at = pause.get("at")
    with contextlib.suppress(TypeError, ValueError):  # an entry's pause holds it as ISO 8601
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
    if isinstance(at, datetime) and at.tzinfo is not None:
        at = timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z")
    by = pause.get("by") or _("someone")
    return _("Paused by %(by)s at %(at)s") % {"by": by, "at": at}


def status_cell(task: PeriodicTask) -> SafeString:
    """The enabled icon; for a paused task, the reason beside it and who paused it when on
    hover."""
    pause = pause_of(task)
    enabled = task.enabled and pause is None
    icon = format_html(
        '<img src="{}" alt="{}">',
        static(f"admin/img/icon-{'yes' if enabled else 'no'}.svg"), str(enabled),
    )  # fmt: skip
    if pause is None:
        return icon
    reason = pause.get("reason") or _("paused")
    return format_html(
        '{} <span class="redbeat-pause" title="{}">{}</span>', icon, pause_text(pause), reason
    )


class PauseActions:
    """A ModelAdmin mixin: the enable, disable and "Pause with a reason" actions, and the
    status column and pause line of the change page."""

    @admin.display(description=_("enabled"), ordering="enabled")
    def status(self, task: PeriodicTask) -> SafeString:
        return status_cell(task)

    @admin.display(description=_("pause"))
    def pause_details(self, task: PeriodicTask) -> str:
        if not task.pk:
            return _("Not paused.")
        self._history(task)  # type: ignore[attr-defined]  # the entry's pause, if any
        pause = pause_of(task)
        if pause is None:
            return _("Not paused.")
        return f"{pause_text(pause)}: {pause.get('reason') or '-'}"

    @admin.action(description=_("Enable selected tasks"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        # the queryset syncs what it updates; changed now, so a pause before now is lifted
        count = queryset.update(
            enabled=True, date_changed=timezone.now(), paused_at=None, paused_by="",
            paused_reason="",
        )  # fmt: skip
        message = ngettext("%d task enabled.", "%d tasks enabled.", count) % count
        self.message_user(request, message)  # type: ignore[attr-defined]

    @admin.action(description=_("Disable selected tasks"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        count = pause(request, queryset, "")
        message = ngettext("%d task disabled.", "%d tasks disabled.", count) % count
        self.message_user(request, message)  # type: ignore[attr-defined]

    @admin.action(description=_("Pause with a reason"), permissions=["change"])
    def pause_with_reason(
        self, request: HttpRequest, queryset: QuerySet[PeriodicTask]
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            count = pause(request, queryset, form.cleaned_data["reason"])
            message = ngettext("%d task paused.", "%d tasks paused.", count) % count
            self.message_user(request, message)  # type: ignore[attr-defined]
            return None  # back to the list
        opts = self.model._meta  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": _("Pause with a reason"), "opts": opts, "queryset": queryset,
            "form": form, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,  # type: ignore[attr-defined]
        }  # fmt: skip
        return TemplateResponse(request, CONFIRMATION, context)

    def record_pause(self, request: HttpRequest, task: PeriodicTask, form: Any) -> None:
        """On the change form: a task disabled now, given another reason, or with no pause yet
        is paused by this user now; its reason is the form's."""
        changed = {"enabled", "paused_reason"} & set(form.changed_data)
        if not task.enabled and (changed or task.paused_at is None):
            task.paused_at, task.paused_by = timezone.now(), request.user.get_username()


def pause(request: HttpRequest, queryset: QuerySet[PeriodicTask], reason: str) -> int:
    """Disable the tasks, paused by the request's user now for ``reason`` (the queryset syncs
    them into Redis, the pause included)."""
    return queryset.update(
        enabled=False, paused_at=timezone.now(), paused_by=request.user.get_username(),
        paused_reason=reason,
    )  # fmt: skip
