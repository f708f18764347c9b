"""The admin's status page: what ``manage.py redbeat_status`` reports (``beat.status``), with the
next entries linked to their tasks. Redis's URL is shown masked, as the command prints it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from django_redbeat import admin_display
from django_redbeat.beat import status, status_text
from django_redbeat.exceptions import RedBeatError
from django_redbeat.models import PeriodicTask
from django_redbeat.store.connection import brief_retries
from django_redbeat.sync import bridge

#: How many of the next entries the page lists.
NEXT_COUNT = 20


def status_page(model_admin: ModelAdmin, request: HttpRequest) -> TemplateResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Schedule status"), "opts": model_admin.opts,
        **_report(),
    }  # fmt: skip
    return TemplateResponse(request, "admin/django_redbeat/status.html", context)


def _report() -> dict[str, Any]:
    app = bridge.celery_app()
    try:
        with brief_retries(app, seconds=2):  # a web request does not wait on Redis for long
            found = status.report(app, NEXT_COUNT)
    except (RedisError, RedBeatError) as exc:
        return {"error": _("Redis cannot be read: %s") % exc}
    lines = [
        (_("Redis"), _redis_text(found)),
        (_("Storage"), status_text.storage_text(found["redis"])),
        (_("Lock"), status_text.lock_text(found["lock"])),
        (_("Entries"), status_text.entries_text(found["entries"])),
    ]
    return {"lines": lines, "next": _next_rows(found["next"]), "risks": found["risks"]}


def _redis_text(found: dict[str, Any]) -> str:
    version = found["redis"].get("version")
    text = found["redis"]["url"] + (f" (Redis {version})" if version else "")
    return f"{text}, key prefix {found['key_prefix']!r}"


def _next_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The next entries, each with its time, how far, whether overdue and its task's page."""
    rows = dict(PeriodicTask.objects.filter(name__in=[e["name"] for e in entries]).values_list(
        "name", "pk"
    ))  # fmt: skip
    found = []
    for entry in entries:
        moment = parse_datetime(entry["due_at"])
        pk = rows.get(entry["name"])
        found.append({
            **entry,
            "due_at": moment,
            "when": admin_display.relative(timedelta(seconds=entry["due_in"])),
            "overdue": -entry["due_in"] > status.OVERDUE_AFTER,
            "url": reverse("admin:django_redbeat_periodictask_change", args=[pk]) if pk else "",
        })  # fmt: skip
    return found
