"""Django settings of the django-redbeat project in the benchmark (admin, commands)."""

from __future__ import annotations

import os

from bench.settings_common import *  # noqa: F403
from support.django_settings import ADMIN_APPS

INSTALLED_APPS = [*ADMIN_APPS, "django_redbeat"]
REDBEAT_CELERY_APP = "bench.celery_app.app"
REDBEAT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
