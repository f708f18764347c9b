"""The Celery app of a benchmark process (one per process): ``drop://`` broker, the schedule in
the Redis that ``BENCH_REDIS_URL`` names. Django settings point REDBEAT_CELERY_APP here."""

from __future__ import annotations

import os

from bench.producer import make_app

app = make_app(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
