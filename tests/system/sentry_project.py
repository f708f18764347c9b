"""A plain Celery project with Sentry Crons on (tests/system/sentry_capture.py), for beat and
the worker of tests/system/test_sentry_crons.py; ``redbeat_run`` runs it through
tests/system/sentry_settings.py. Sentry is set up when the app's module is imported, as a
``celery -A`` project (or a Django settings file) does.
"""

from __future__ import annotations

import os

from celery import Celery

from django_redbeat.beat import worker_hook
from tests.system import sentry_capture

sentry_capture.init()

QUICK = "sentry_project.quick"

app = Celery("sentry_project")
app.conf.update(
    broker_url=os.environ["BEAT_PROJECT_BROKER_URL"],
    redbeat_redis_url=os.environ["BEAT_PROJECT_REDIS_URL"],
    beat_max_loop_interval=1,
    worker_hijack_root_logger=False,
    beat_schedule={},  # the test writes the entries, each due at once
)
worker_hook.install(app)  # the run history shows that beat's own headers reach the worker


@app.task(name=QUICK)
def quick() -> str:
    return "done"


@app.task(name="sentry_project.boom")
def boom() -> None:
    raise ZeroDivisionError("boom")
