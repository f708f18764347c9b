"""The run history in the admin: the last outcome as an icon in the list, the history table, the
counters and an entry's pause on its change page, all read live from Redis (one round trip for
a page of the list, one for a change page).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from django_redbeat.beat import run_history
from django_redbeat.beat.run_history import RunHistory
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync import bridge

#: The admin's own icon for each outcome (a run still going, or sent, has none of its own).
ICONS = {
    "succeeded": "icon-yes.svg", "failed": "icon-no.svg", "revoked": "icon-no.svg",
    "missed": "icon-alert.svg", "skipped": "icon-alert.svg", "buffered": "icon-clock.svg",
    "retried": "icon-alert.svg",
}  # fmt: skip
COLUMNS = ("scheduled_at", "outcome", "sent_at", "lateness", "runtime", "task_id", "beat")
COUNTERS = (
    (run_history.FAILED_FIELD, _("failed")),
    (run_history.CONSECUTIVE_FAILURES_FIELD, _("failed in a row")),
    (run_history.SKIPPED_FIELD, _("skipped")),
    (run_history.MISSED_FIELD, _("missed")),
)


def read(names: list[str], records: bool = True) -> dict[str, RunHistory]:
    """Each named entry's history (only its newest record without ``records``) and counters,
    in one round trip (RedisError if Redis is down)."""
    app = bridge.celery_app()
    found = run_history.read(get_redis(app), ensure_conf(app).key_prefix, names, records)
    return dict(zip(names, found, strict=True))


def outcome_icon(history: RunHistory | None) -> str:
    outcome = history.last_outcome if history else None
    if outcome is None:
        return "-"
    icon = ICONS.get(outcome)
    if icon is None:
        return outcome
    src = static(f"admin/img/{icon}")
    return format_html('<img src="{}" alt="{}" title="{}">', src, outcome, outcome)


def table(history: RunHistory | None) -> str:
    if history is None:
        return _("Unavailable: Redis cannot be read.")
    if not history.records:
        return _("No runs recorded yet.")
    head = format_html_join("", "<th>{}</th>", ((column.replace("_", " "),) for column in COLUMNS))
    rows = format_html_join("", "<tr>{}</tr>", ((_cells(record),) for record in history.records))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)


def counters(history: RunHistory | None) -> str:
    if history is None:
        return _("Unavailable: Redis cannot be read.")
    values = ((label, history.counters.get(field, 0)) for field, label in COUNTERS)
    text = format_html_join(", ", "{}: {}", values)
    if history.paused:
        pause = history.paused
        return format_html(
            "{}<br><strong>{}</strong>", text,
            _("Paused by %(by)s at %(at)s: %(reason)s") % {
                "by": pause.get("by"), "at": pause.get("at"), "reason": pause.get("reason"),
            },
        )  # fmt: skip
    return text


def _cells(record: dict[str, Any]) -> str:
    values = [_shown(column, record.get(column)) for column in COLUMNS]
    if record.get("reason"):
        values[1] = f"{values[1]} ({record['reason']})"
    if record.get("error"):
        values[1] = f"{values[1]}: {record['error']}"
    return format_html_join("", "<td>{}</td>", ((value,) for value in values))


def _shown(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in ("scheduled_at", "sent_at") and isinstance(value, (int, float)):
        return f"{datetime.fromtimestamp(value, timezone.utc):%Y-%m-%d %H:%M:%S.%f}"[:-3]
    if column in ("lateness", "runtime") and isinstance(value, (int, float)):
        return f"{value:.3f} s"
    return str(value)
