"""Settings of the example project, read from the environment (django-environ).

The settings every project of the repository shares come from ``support/django_settings.py``.
A ``.env`` file next to ``manage.py`` is read first if there is one; variables already set in the
environment win. ``.env.example`` lists every variable with its default.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

from django_redbeat.schedules import crontab, rrule
from support.django_settings import *  # noqa: F403
from support.django_settings import ADMIN_APPS, MIDDLEWARE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("SECRET_KEY", default="example-only-not-secret")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [*ADMIN_APPS, "django.contrib.staticfiles", "django_redbeat", "jobs"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    *MIDDLEWARE,
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "example.urls"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
TIME_ZONE = env("TIME_ZONE", default="UTC")
STATIC_URL = "static/"

# ---- django-redbeat ----------------------------------------------------------------------------

REDBEAT_REDIS_URL = env("REDBEAT_REDIS_URL", default="redis://127.0.0.1:6379/0")
REDBEAT_KEY_PREFIX = env("REDBEAT_KEY_PREFIX", default="redbeat:")
REDBEAT_LOCK_TIMEOUT = env.int("REDBEAT_LOCK_TIMEOUT", default=30)
REDBEAT_CELERY_APP = "example.celery.app"

# ---- Celery (read by example/celery.py with the CELERY_ namespace) -----------------------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDBEAT_REDIS_URL)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

#: Imported into the admin by `manage.py redbeat_import`; from then on, edit them there.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "jobs.heartbeat",
        "schedule": timedelta(seconds=env.int("DEMO_HEARTBEAT_SECONDS", default=10)),
        "kwargs": {"source": "an interval"},
        "options": {"expires": 30},
    },
    "minute-report": {
        "task": "jobs.report",
        "schedule": crontab(minute="*"),
    },
    "tidy-up": {
        "task": "jobs.tidy_up",
        # every other minute, on the minute, from the first import (a later import keeps that
        # start: an rrule given no dtstart starts whenever the settings are loaded)
        "schedule": rrule("MINUTELY", interval=2, bysecond=0),
        "args": [3],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[%(asctime)s: %(levelname)s/%(name)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "jobs": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django_redbeat": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
