"""PeriodicTask: one row per task, its schedule included.

A task owns its schedule fields (no shared schedule rows): editing or deleting one task never
changes another, and task and schedule are edited in one form. ``kind`` says which schedule
fields apply; :mod:`django_redbeat.model_schedules` maps them to and from Celery schedules.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import solar
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from django_redbeat import model_policies, model_schedules
from django_redbeat.beat.run_policy import DEFAULT as DEFAULT_POLICY
from django_redbeat.beat.run_policy import RunPolicy
from django_redbeat.exceptions import InvalidEntryName
from django_redbeat.store import keys
from django_redbeat.task_queryset import PeriodicTaskQuerySet, rows_changed

__all__ = ["PeriodicTask", "PeriodicTaskQuerySet", "rows_changed"]


def validate_name(name: str) -> None:
    try:
        keys.validate_entry_name(name)
    except InvalidEntryName as exc:
        raise ValidationError(str(exc)) from None


#: The options that have a field of their own (``extra_options`` may not repeat them).
NAMED_OPTIONS = frozenset({"queue", "exchange", "routing_key", "priority", "headers", "expires"})
#: The fields of a task, by what they become. Each field is in one group (a test checks it):
#: the entry's own, its options, its schedule, its run policy, its pause, or none (the
#: admin's alone).
TASK_FIELDS = ("name", "task", "args", "kwargs", "enabled", "one_off")
OPTION_FIELDS = (*sorted(NAMED_OPTIONS), "expire_seconds", "extra_options")
#: One field per RunPolicy name (start_time included: an rrule's DTSTART, the others' bound).
POLICY_FIELDS = model_policies.POLICY_FIELDS
#: Who paused a disabled task, when and why: its entry's ``paused`` hash field (not imported).
PAUSE_FIELDS = ("paused_at", "paused_by", "paused_reason")
ADMIN_ONLY_FIELDS = ("id", "description", "date_changed", "source", "source_digest")


class ScheduleKind(models.TextChoices):
    INTERVAL = "interval", _("Interval")
    CRONTAB = "crontab", _("Crontab")
    RRULE = "rrule", _("Recurrence rule (RFC 5545)")
    SOLAR = "solar", _("Solar event")
    ONEOFF = "oneoff", _("One-off, at a fixed time")


class Period(models.TextChoices):
    DAYS = "days", _("Days")
    HOURS = "hours", _("Hours")
    MINUTES = "minutes", _("Minutes")
    SECONDS = "seconds", _("Seconds")


class CatchUp(models.TextChoices):
    """RunPolicy.catch_up: what becomes of the slots an entry passed unsent."""

    LATEST = "latest", _("Send the newest inside the window, once")
    ALL = "all", _("Send each inside the window (at most the limit)")
    NONE = "none", _("Send none: wait for the next slot")


class Overlap(models.TextChoices):
    """RunPolicy.overlap: what a slot does while the previous run has not finished."""

    ALLOW = "allow", _("Send it anyway")
    SKIP = "skip", _("Skip it")
    BUFFER_ONE = "buffer_one", _("Send it when the previous run ends (one at most)")


class Source(models.TextChoices):
    """Where a task came from; blank: created in the admin or by code."""

    SETTINGS = "settings", _("CELERY_BEAT_SCHEDULE (redbeat_import)")
    CELERY_BEAT_DB = (
        "celery_beat_db",
        _("django-celery-beat's tables (redbeat_import --from-django-celery-beat)"),
    )


#: Celery's solar events (a set), in a stable order so migrations do not churn.
SOLAR_EVENTS = [(name, name.replace("_", " ").capitalize()) for name in sorted(solar._all_events)]


class PeriodicTask(models.Model):
    name = models.CharField(
        _("name"), max_length=200, unique=True, validators=[validate_name],
        help_text=_("Unique; it names the entry in Redis."),
    )  # fmt: skip
    task = models.CharField(_("task"), max_length=200, help_text=_("The Celery task's name."))
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    description = models.TextField(_("description"), blank=True)

    queue = models.CharField(_("queue"), max_length=200, blank=True)
    exchange = models.CharField(_("exchange"), max_length=200, blank=True)
    routing_key = models.CharField(_("routing key"), max_length=200, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), null=True, blank=True, validators=[MaxValueValidator(255)]
    )
    headers = models.JSONField(_("message headers"), default=dict, blank=True)
    extra_options = models.JSONField(
        _("other options"), default=dict, blank=True,
        help_text=_('Any other apply_async option, as JSON, e.g. {"countdown": 5}.'),
    )  # fmt: skip
    expires = models.DateTimeField(
        _("expires at"), null=True, blank=True,
        help_text=_("A sent task that has not started by then is discarded."),
    )  # fmt: skip
    expire_seconds = models.PositiveIntegerField(
        _("expires after (seconds)"), null=True, blank=True,
        help_text=_("Discard a sent task not started within this many seconds."),
    )  # fmt: skip
    one_off = models.BooleanField(
        _("run once"), default=False,
        help_text=_("Run at the first due time only (rrule and one-off schedules)."),
    )  # fmt: skip
    start_time = models.DateTimeField(
        _("start time"), null=True, blank=True,
        help_text=_("No run before it. For an rrule, its DTSTART (when blank, the time it "
                    "was created)."),
    )  # fmt: skip
    # the run policy (RunPolicy, beat/run_policy.py): the defaults are the policy's
    catch_up = models.CharField(
        _("slots passed unsent"), max_length=10, choices=CatchUp.choices,
        default=DEFAULT_POLICY.catch_up,
        help_text=_("While beat was down, Redis away or the task disabled."),
    )  # fmt: skip
    catch_up_window = models.FloatField(
        _("catch-up window (seconds)"), null=True, blank=True,
        help_text=_("A slot later than this is missed, never sent; blank: one period of the "
                    "schedule, at least a minute."),
    )  # fmt: skip
    catch_up_limit = models.PositiveIntegerField(
        _("catch-up limit"), default=DEFAULT_POLICY.catch_up_limit,
        help_text=_("Sending each slot: at most this many, the newest."),
    )  # fmt: skip
    overlap = models.CharField(
        _("while the previous run is running"), max_length=10, choices=Overlap.choices,
        default=DEFAULT_POLICY.overlap,
        help_text=_("Skip and send-when-it-ends need the worker hook (README: On the workers)."),
    )  # fmt: skip
    overlap_timeout = models.FloatField(
        _("overlap timeout (seconds)"), default=float(DEFAULT_POLICY.overlap_timeout),
        help_text=_("A run not reported finished after this long no longer counts as running."),
    )  # fmt: skip
    jitter = models.FloatField(
        _("jitter (seconds)"), default=float(DEFAULT_POLICY.jitter),
        help_text=_("Up to this many seconds added to each run, the same on every beat."),
    )  # fmt: skip
    end_time = models.DateTimeField(
        _("end time"), null=True, blank=True, help_text=_("No run after it.")
    )
    max_runs = models.PositiveIntegerField(
        _("max runs"), null=True, blank=True,
        help_text=_("Stop after this many runs (the run count in Redis); blank: no limit."),
    )  # fmt: skip
    pause_after_failures = models.PositiveIntegerField(
        _("pause after failures"), null=True, blank=True,
        help_text=_("Pause the task after this many failed runs in a row; blank: never."),
    )  # fmt: skip

    kind = models.CharField(_("schedule kind"), max_length=10, choices=ScheduleKind.choices)
    every = models.PositiveIntegerField(_("every"), null=True, blank=True)
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, blank=True)
    minute = models.CharField(_("minute"), max_length=240, default="*")
    hour = models.CharField(_("hour"), max_length=96, default="*")
    day_of_week = models.CharField(_("day of week"), max_length=64, default="*")
    day_of_month = models.CharField(_("day of month"), max_length=124, default="*")
    month_of_year = models.CharField(_("month of year"), max_length=64, default="*")
    rrule = models.TextField(
        _("recurrence rule"), blank=True, help_text=_("e.g. FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9")
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, blank=True,
        help_text=_("IANA name, for crontab and rrule; blank: Celery's zone."),
    )  # fmt: skip
    solar_event = models.CharField(
        _("solar event"), max_length=24, choices=SOLAR_EVENTS, blank=True
    )
    latitude = models.FloatField(
        _("latitude"), null=True, blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )  # fmt: skip
    longitude = models.FloatField(
        _("longitude"), null=True, blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )  # fmt: skip
    run_at = models.DateTimeField(_("run at"), null=True, blank=True)

    # a disabled task's pause, as beat/pause.py writes it in Redis; cleared when enabled
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True, editable=False)
    paused_by = models.CharField(
        _("paused by"), max_length=150, blank=True, editable=False,
        help_text=_('The user who disabled it, or "worker" for a pause after failed runs.'),
    )  # fmt: skip
    paused_reason = models.CharField(
        _("reason for the pause"), max_length=500, blank=True,
        help_text=_("Why it is disabled: shown in the list. Cleared when it is enabled again."),
    )  # fmt: skip

    date_changed = models.DateTimeField(_("last changed"), auto_now=True)

    source = models.CharField(
        _("source"), max_length=16, blank=True, editable=False, choices=Source.choices,
        help_text=_("Where the task came from; blank: the admin or code."),
    )  # fmt: skip
    source_digest = models.CharField(
        _("digest as imported"), max_length=64, blank=True, editable=False,
        help_text=_("SHA-256 of the fields as imported: a row that no longer matches it was "
                    "edited since, and a new import leaves it alone unless told to overwrite."),
    )  # fmt: skip

    objects = PeriodicTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("periodic task")
        verbose_name_plural = _("periodic tasks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        model_schedules.fill_defaults(self)
        if self.enabled:  # a pause is a disabled task's
            self.paused_at, self.paused_by, self.paused_reason = None, "", ""
        super().save(*args, **kwargs)

    @property
    def schedule(self) -> Any:
        """The Celery schedule this row describes (ValueError if its fields are invalid)."""
        return model_schedules.to_schedule(self)

    @classmethod
    def from_schedule(cls, schedule: Any) -> dict[str, Any]:
        """The field values (``kind`` and its fields) that describe a Celery schedule."""
        return model_schedules.to_fields(schedule)

    @property
    def options(self) -> dict[str, Any]:
        """The options a sent task gets (``apply_async`` keyword arguments); unset ones omitted."""
        options = {
            "queue": self.queue, "exchange": self.exchange, "routing_key": self.routing_key,
            "priority": self.priority, "headers": self.headers,
            "expires": self.expires or self.expire_seconds,
        }  # fmt: skip
        options = {name: value for name, value in options.items() if value not in (None, "", {})}
        return {**self.extra_options, **options}

    @property
    def run_policy(self) -> RunPolicy:
        """The entry's run policy (PolicyError, a ValueError, if a field is invalid)."""
        return model_policies.run_policy(self)

    def clean(self) -> None:
        model_schedules.clear_other_kinds(self)
        errors = {
            **model_policies.errors(self), **self._option_errors(), **model_schedules.errors(self)
        }  # fmt: skip
        if errors:
            raise ValidationError(errors)

    def _extra_option_errors(self) -> dict[str, str]:
        if not isinstance(self.extra_options, dict):
            return {"extra_options": _('Other options must be a JSON object, e.g. {"x": 1}.')}
        named = sorted(set(self.extra_options) & {*NAMED_OPTIONS, *POLICY_FIELDS})
        if named:
            message = _("Set %(names)s with its own field, not here.")
            return {"extra_options": message % {"names": ", ".join(named)}}
        return {}

    def _option_errors(self) -> dict[str, str]:
        errors = {}
        if not isinstance(self.args, list):
            errors["args"] = _("Positional arguments must be a JSON list, e.g. [1, 2].")
        if not isinstance(self.kwargs, dict):
            errors["kwargs"] = _('Keyword arguments must be a JSON object, e.g. {"x": 1}.')
        if not isinstance(self.headers, dict):
            errors["headers"] = _('Headers must be a JSON object, e.g. {"tenant": "a"}.')
        errors.update(self._extra_option_errors())
        if self.expires and self.expire_seconds:
            errors["expire_seconds"] = _("Set either an expiry time or seconds, not both.")
        return errors
