"""``manage.py redbeat_run``: Celery beat with django-redbeat's scheduler, in this Django process.

The options are those of ``celery beat`` that apply. On start, holding the lock, beat writes
every periodic task of the database into Redis (run state kept); saved changes wake it at once.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from celery import Celery
from celery.utils.time import humanize_seconds
from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from django_redbeat.beat.run_loop import BeatRunner
from django_redbeat.conf import conf
from django_redbeat.exceptions import RedBeatError
from django_redbeat.importing import importer
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync.database_scheduler import DatabaseScheduler, database_names

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s"
#: The loggers beat writes to (the scheduler logs to celery.beat).
BEAT_LOGGERS = ("celery", "django_redbeat")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number (0-65535), not {text!r}")
    return int(text)


def configure_logging(loglevel: str, logfile: str | None) -> None:
    """Beat's log lines at ``loglevel``: to ``logfile`` if given, else to stderr for the loggers
    the project's LOGGING leaves without handlers (those it configures keep theirs)."""
    handler: logging.Handler | None = None
    for name in BEAT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(loglevel)
        if logfile or not writes_somewhere(logger):
            if handler is None:
                handler = logging.FileHandler(logfile) if logfile else logging.StreamHandler()
                handler.setFormatter(logging.Formatter(LOG_FORMAT))
            logger.addHandler(handler)


def writes_somewhere(logger: logging.Logger) -> bool:
    """Whether ``logger``'s records reach a handler that writes them: kombu gives ``celery`` a
    NullHandler, which ``hasHandlers()`` counts, and which writes nothing."""
    current: logging.Logger | None = logger
    while current is not None:
        if any(not isinstance(h, logging.NullHandler) for h in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return False


def find_celery_app(path: str | None) -> Celery:
    """The app named by ``--app`` (as ``celery -A`` takes it), else REDBEAT_CELERY_APP's."""
    if path:
        from celery.app.utils import find_app

        try:
            return find_app(path)
        except Exception as exc:  # celery reports a bad path with several exception types
            raise CommandError(f"--app {path!r}: no Celery app found there ({exc}).") from None
    try:
        app = conf.celery_app()
    except RedBeatError as exc:
        raise CommandError(str(exc)) from exc
    from celery import _state  # the app Celery falls back to when none is set up

    if app is getattr(_state, "default_app", None) and app.main == "default":
        raise CommandError(
            "No Celery app: set REDBEAT_CELERY_APP to your app's dotted path (e.g. "
            "'proj.celery.app') or pass --app."
        )
    return app


class Command(BaseCommand):
    help = (
        "Run Celery beat with django-redbeat's scheduler. Holding the lock, it writes the "
        "database's periodic tasks into Redis, then sends what is due; a saved change wakes it "
        "at once. SIGTERM or SIGINT stops it and releases the lock."
    )

    #: The runner while the command runs (tests and embedding code may call its stop()).
    runner: BeatRunner | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-A", "--app",
            help="The Celery app, as `celery -A` takes it (default: REDBEAT_CELERY_APP, "
            "else Celery's current app).",
        )  # fmt: skip
        parser.add_argument(
            "-l", "--loglevel", default="INFO", type=str.upper, choices=LOG_LEVELS,
            help="Logging level (default: INFO).",
        )  # fmt: skip
        parser.add_argument("-f", "--logfile", help="Log to this file instead of stderr.")
        parser.add_argument(
            "--max-interval", type=positive_float,
            help="Longest sleep between two ticks, in seconds (default: beat_max_loop_interval, "
            "else 300). A saved change wakes beat earlier.",
        )  # fmt: skip
        parser.add_argument(
            "--lock-key", help="The lock's key under the prefix (default: REDBEAT_LOCK_KEY)."
        )
        parser.add_argument(
            "--lock-timeout", type=positive_float,
            help="Seconds the lock lives without renewal (default: REDBEAT_LOCK_TIMEOUT, 30).",
        )  # fmt: skip
        parser.add_argument(
            "--metrics-port", type=port_number,
            help="Serve Prometheus metrics on this port (/metrics; /healthz for probes), 0 for "
            "any free one (default: REDBEAT_METRICS_PORT, else none). Needs the prometheus extra.",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        app = find_celery_app(options["app"])
        configure_logging(options["loglevel"], options["logfile"])
        try:
            if options["metrics_port"] is not None:
                ensure_conf(app).metrics_port = options["metrics_port"]
            scheduler = DatabaseScheduler(
                app, lock_key=options["lock_key"], lock_timeout=options["lock_timeout"],
                max_interval=options["max_interval"],
            )  # fmt: skip
        except (RedBeatError, RedisError) as exc:
            raise CommandError(str(exc)) from exc
        self.runner = BeatRunner(app, scheduler)
        self._banner(app, scheduler, options["loglevel"])
        self._warn_not_imported(app)
        try:
            self.runner.start()
        finally:
            self.runner = None
        self.stdout.write("redbeat_run: stopped.")

    def _banner(self, app: Celery, scheduler: DatabaseScheduler, loglevel: str) -> None:
        interval = scheduler.max_interval
        lines = [
            f"redbeat_run: beat for Celery app {app.main!r}",
            scheduler.info,
            f"       . max interval -> {humanize_seconds(interval)} ({interval}s); "
            "a saved change wakes beat at once",
            f"       . loglevel -> {loglevel}",
        ]
        self.stdout.write("\n".join(lines))

    def _warn_not_imported(self, app: Celery) -> None:
        names = set(importer.configured_schedule(app))
        missing = sorted(names - database_names(names))
        if missing:
            self.stderr.write(self.style.WARNING(
                f"{len(missing)} entries of CELERY_BEAT_SCHEDULE are not in the database and do "
                f"not run: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}. "
                "Import them with `manage.py redbeat_import`."
            ))  # fmt: skip
