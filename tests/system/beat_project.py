"""A plain Celery project (no Django settings) that beat runs in the system tests.

celery -A tests.system.beat_project beat -S django_redbeat.schedulers:RedBeatScheduler
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery("beat_project")
app.conf.update(
    broker_url=os.environ["BEAT_PROJECT_BROKER_URL"],
    redbeat_redis_url=os.environ["BEAT_PROJECT_REDIS_URL"],
    redbeat_lock_timeout=float(os.environ.get("BEAT_PROJECT_LOCK_TIMEOUT", "30")),
    beat_max_loop_interval=1,
    # unset: no metrics endpoint; 0: any free port (beat logs it)
    redbeat_metrics_port=os.environ.get("BEAT_PROJECT_METRICS_PORT"),
    redbeat_metrics_address="127.0.0.1",
    beat_schedule={
        "say-hello": {"task": "beat_project.say", "schedule": 1.0, "args": ["hello"]},
    },
)


@app.task(name="beat_project.say")
def say(word: str) -> str:
    return word
