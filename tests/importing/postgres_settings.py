"""The test settings on a PostgreSQL cluster that a test started (test_on_postgres.py)."""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["REDBEAT_TEST_POSTGRES"])}
REDBEAT_CELERY_APP = "tests.importing.on_postgres.app"
