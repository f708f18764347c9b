"""A plain Celery project whose worker has django-redbeat's hook, and beat over the entries the
tests write (it has no beat_schedule of its own).

celery -A tests.system.worker_project worker / beat -S django_redbeat.schedulers:RedBeatScheduler
"""

from __future__ import annotations

import os
import time

from celery import Celery

from django_redbeat.beat import worker_hook

app = Celery("worker_project")
app.conf.update(
    broker_url=os.environ["BEAT_PROJECT_BROKER_URL"],
    redbeat_redis_url=os.environ["BEAT_PROJECT_REDIS_URL"],
    beat_max_loop_interval=1,
    beat_schedule={},
    worker_hijack_root_logger=False,
)
worker_hook.install(app)


@app.task(name="worker_project.quick")
def quick() -> str:
    return "done"


@app.task(name="worker_project.slow")
def slow(seconds: float) -> str:
    time.sleep(seconds)  # the work itself: a run that outlasts its entry's period
    return "done"


@app.task(name="worker_project.boom")
def boom() -> None:
    raise ZeroDivisionError("boom")


@app.task(name="worker_project.flaky", bind=True, max_retries=1)
def flaky(self) -> str:
    if not self.request.retries:
        raise self.retry(countdown=2)  # long enough for the test to see "retried"
    return "done"
