"""Django settings for ``manage.py redbeat_run`` over tests/system/sentry_project.py: the test
suite's settings with a database file of the test's own (the subprocesses share it)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SENTRY_TEST_DATABASE"]}
}
REDBEAT_CELERY_APP = "tests.system.sentry_project.app"
