"""One benchmark case in a fresh process: ``python -m bench.worker '<json>'``.

The JSON names the case, the subject and N; the result is printed as one JSON line. A fresh
process per case keeps the peers apart (each imports only its own scheduler) and makes its peak
resident memory (``ru_maxrss``) that case's alone. Redis and the SQLite file are prepared by the
runner (flushed, copied from a migrated template) before each case.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import statistics
import sys
import time
from typing import Any

from bench import roundtrips
from bench.producer import OutOfTime, Sends
from bench.subjects import Subject, django_setup, make_subject


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(do: Any) -> float:
    started = time.perf_counter()
    do()
    return time.perf_counter() - started


def case_migrate(subject_name: str, **_: Any) -> dict[str, Any]:
    django_setup(subject_name)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {}


def case_create(subject: Subject, n: int, **_: Any) -> dict[str, Any]:
    return {"create_s": timed(lambda: subject.create(n, "far"))}


def case_populate(subject: Subject, n: int, kind: str, **_: Any) -> dict[str, Any]:
    subject.populate(n, kind)
    return {}


def idle_ticks(subject: Subject, count: int, seconds: float) -> tuple[list[float], float]:
    """Tick ``count`` times (at least 5, at most ``seconds``); durations and round trips/tick."""
    durations, trips = [], roundtrips.count()
    deadline = time.perf_counter() + seconds
    while len(durations) < count and (len(durations) < 5 or time.perf_counter() < deadline):
        durations.append(timed(subject.tick))
    return durations, (roundtrips.count() - trips) / len(durations)


def dispatch(subject: Subject, count: int, margin: float, first: int) -> dict[str, Any]:
    """Seconds per sent entry when ``count`` entries fall due at once in a running beat."""
    at = math.ceil(time.time() + margin)
    subject.add_soon(count, at, first)
    subject.tick()  # a database scheduler reloads here, before they are due
    time.sleep(max(0.0, at + 0.1 - time.time()))  # `at` is whole: every score is <= now
    before, trips, ticks, in_send = Sends.count, roundtrips.count(), 0, Sends.seconds
    started = time.perf_counter()
    idle = 0  # ticks that had nothing due while some are unsent (dispatch_sent tells)
    while Sends.count - before < count and idle < 3:
        sleep = subject.tick()
        ticks += 1
        idle = idle + 1 if sleep > 0 and Sends.count - before < count else 0
    elapsed, sending = time.perf_counter() - started, Sends.seconds - in_send
    sent = max(Sends.count - before, 1)
    return {
        "dispatch_ms": 1000 * elapsed / sent,
        "dispatch_send_ms": 1000 * sending / sent,
        "dispatch_own_ms": 1000 * (elapsed - sending) / sent,
        "dispatch_sent": Sends.count - before,
        "dispatch_ticks": ticks,
        "dispatch_roundtrips": roundtrips.count() - trips,
    }


def case_beat(
    subject: Subject,
    n: int,
    ticks: int = 500,
    tick_seconds: float = 3.0,
    bursts: int = 3,
    **_: Any,
) -> dict[str, Any]:
    """Startup over N idle entries, idle ticks, then ``bursts`` times 100 entries falling due
    at once (the median burst is kept)."""
    base = maxrss_mib()
    trips = roundtrips.count()
    startup = timed(subject.start)
    result: dict[str, Any] = {
        "startup_s": startup,
        "startup_roundtrips": roundtrips.count() - trips,
    }
    durations, per_tick = idle_ticks(subject, ticks, tick_seconds)
    result.update(
        idle_tick_ms=1000 * statistics.median(durations),
        idle_ticks=len(durations),
        idle_roundtrips=per_tick,
        rss_base_mib=base,
        rss_idle_mib=maxrss_mib(),
    )
    margin = 3 * startup + 0.3  # time for a database scheduler to reload
    runs = [dispatch(subject, 100, margin, first=100 * burst) for burst in range(bursts)]
    result.update(sorted(runs, key=lambda run: run["dispatch_ms"])[len(runs) // 2])
    return result


def case_dispatch(subject: Subject, n: int, bursts: int = 5, **_: Any) -> dict[str, Any]:
    """Over N idle entries, ``bursts`` times 100 entries falling due at once (median kept):
    the per-dispatched-entry figure alone (history_cost.py)."""
    subject.populate(n, "far")
    startup = timed(subject.start)
    runs = [dispatch(subject, 100, 3 * startup + 0.3, first=100 * b) for b in range(bursts)]
    return sorted(runs, key=lambda run: run["dispatch_ms"])[len(runs) // 2]


def case_floor(sends: int = 2000, batches: int = 7, **_: Any) -> dict[str, Any]:
    """Celery's bare send, no scheduler: ``apply_async`` through a producer made as beat makes
    its own, ms per message (median of ``batches``). The issue's machine: about 0.115 ms."""
    from bench.celery_app import app
    from bench.producer import TASK

    task = app.tasks[TASK]
    producer = app.amqp.Producer(app.connection_for_write(), auto_declare=False)
    for number in range(200):  # the first sends connect and declare
        task.apply_async((number,), producer=producer)
    per_batch = [
        timed(lambda: [task.apply_async((number,), producer=producer) for number in range(sends)])
        for _ in range(batches)
    ]
    return {"send_floor_ms": 1000 * statistics.median(per_batch) / sends}


def case_alldue(subject: Subject, n: int, budget: float = 60.0, **_: Any) -> dict[str, Any]:
    """From start to the last of N due entries sent (or the budget spent): entries/s, memory."""
    base = maxrss_mib()
    started = time.perf_counter()
    Sends.deadline = started + budget
    finished = True
    try:
        subject.start()
        while Sends.count < n:
            if time.perf_counter() > Sends.deadline:
                raise OutOfTime  # nothing sent at all: the budget still ends the case
            if subject.tick() > 0 and Sends.count < n:
                time.sleep(0.01)  # should not happen: all are due
    except OutOfTime:
        finished = False
    Sends.deadline = None
    elapsed = (Sends.last_at or time.perf_counter()) - started
    return {
        "alldue_per_s": Sends.count / elapsed,
        "alldue_sent": Sends.count,
        "alldue_s": elapsed,
        "alldue_finished": finished,
        "rss_base_mib": base,
        "rss_alldue_mib": maxrss_mib(),
    }


def main() -> None:
    params = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.WARNING)  # no per-send log lines, in any scheduler
    case, name = params.pop("case"), params.pop("subject")
    if case == "migrate":
        result = case_migrate(name)
    elif case == "floor":
        result = case_floor(**params)
    elif case == "admin":
        from bench import admin_case

        result = admin_case.run(name, **params)
    elif case == "commands":
        from bench import django_case

        result = django_case.run(name, **params)
    else:
        from bench.celery_app import app

        roundtrips.install()
        subject = make_subject(name, app)
        result = globals()[f"case_{case}"](subject, **params)
    print(json.dumps(result), flush=True)
    os._exit(0)  # no atexit work (a database scheduler would write all it sent)


if __name__ == "__main__":
    main()
