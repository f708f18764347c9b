"""The Celery app of a benchmark process (one per process): ``drop://`` broker, the schedule in
the Redis that ``BENCH_REDIS_URL`` names. Django settings point REDBEAT_CELERY_APP here."""

from __future__ import annotations

import os

from bench.producer import make_app

#: BENCH_HISTORY_LENGTH, when set, is django-redbeat's redbeat_history_length (history_cost.py)
length = os.environ.get("BENCH_HISTORY_LENGTH")
conf = {} if length is None else {"redbeat_history_length": int(length)}
app = make_app(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"), **conf)
