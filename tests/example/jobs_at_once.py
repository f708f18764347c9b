"""Runs the example's jobs from many threads at once against one SQLite file, as two worker
processes do when two jobs fall in the same second. Prints a JSON report: the errors raised and
the counts written. Run with the example's settings (DATABASE_URL naming the file, migrated).
"""

from __future__ import annotations

import json
import sys
import threading

import django

django.setup()

from django.db import connection  # noqa: E402
from jobs import tasks  # noqa: E402
from jobs.models import TaskRun  # noqa: E402

THREADS, RUNS = 8, 15
JOBS = (tasks.heartbeat, tasks.report, tasks.tidy_up)


def main() -> None:
    start = threading.Barrier(THREADS)
    errors: list[str] = []

    def work(index: int) -> None:
        start.wait()  # every thread writes from the same moment on
        try:
            for run in range(RUNS):
                try:
                    JOBS[(index + run) % len(JOBS)]()
                except Exception as exc:  # what the worker would log as a traceback
                    errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = dict(TaskRun.objects.values_list("name", "count"))
    journal = connection.cursor().execute("PRAGMA journal_mode").fetchone()[0]
    json.dump({"errors": errors, "counts": counts, "journal_mode": journal}, sys.stdout)


if __name__ == "__main__":
    main()
