"""Failover time of django-redbeat beats: how long after the holder dies a standby sends.

    .venv/bin/python -m bench.failover [--runs 5] [--lock-timeout 30]

Two real beat processes (a one-second task) share a private redis-server; the lock holder is
stopped with SIGKILL or SIGTERM and the time until the standby holds the lock and until its first
send is measured. Medians go to bench/results/failover.md.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import time
from pathlib import Path

import redis

from support.processes import BeatProcess, lock_holder_pid, wait_for
from support.redis_server import RedisServer

RESULTS = Path(__file__).parent / "results" / "failover.md"


def one_failover(workdir: Path, signum: int, lock_timeout: float) -> tuple[float, float]:
    """Seconds from the signal to (the standby holding the lock, its first send)."""
    server = RedisServer(workdir / "redis")
    server.start()
    broker_url = server.url.rsplit("/", 1)[0] + "/1"
    client = redis.Redis.from_url(server.url, decode_responses=True)
    broker = redis.Redis.from_url(broker_url)
    env = {"BEAT_PROJECT_LOCK_TIMEOUT": str(lock_timeout)}
    beats = [BeatProcess(workdir / f"beat-{n}", server.url, broker_url, **env) for n in (1, 2)]
    try:
        holder_pid = wait_for(lambda: lock_holder_pid(client), 60, "a holder")
        holder, standby = sorted(beats, key=lambda beat: beat.pid != holder_pid)
        wait_for(lambda: broker.llen("celery") >= 2, 60, "sends")
        sent = broker.llen("celery")
        killed_at = time.monotonic()
        holder.signal(signum)
        wait_for(lambda: lock_holder_pid(client) == standby.pid, 4 * lock_timeout, "takeover")
        locked = time.monotonic() - killed_at
        wait_for(lambda: broker.llen("celery") > sent, 4 * lock_timeout, "a send")
        return locked, time.monotonic() - killed_at
    finally:
        for beat in beats:
            beat.stop()
        server.stop()


def measure(signum: int, runs: int, lock_timeout: float) -> list[tuple[float, float]]:
    results = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(one_failover(Path(workdir), signum, lock_timeout))
        print(f"{signal.Signals(signum).name} run {run + 1}: {results[-1]}", flush=True)
    return results


def report(rows: dict[str, list[tuple[float, float]]], lock_timeout: float, runs: int) -> str:
    lines = [
        "# Failover after the lock holder dies",
        "",
        f"`python -m bench.failover --runs {runs} --lock-timeout {lock_timeout:g}`: two beat "
        "processes, a task every second, one private redis-server; medians of "
        f"{runs} runs, seconds from the signal.",
        "",
        "| holder stopped by | standby holds the lock | standby's first send | "
        "celery-redbeat 2.4 defaults (worst case) |",
        "|---|---|---|---|",
    ]
    peer = {
        "SIGKILL": "lock TTL 1,500 s + standby poll 300 s: up to 1,800 s",
        "SIGTERM": "lock released on close, standby poll 300 s: up to 300 s",
    }
    for name, results in rows.items():
        locked = statistics.median(r[0] for r in results)
        first_send = statistics.median(r[1] for r in results)
        lines.append(f"| {name} | {locked:.2f} | {first_send:.2f} | {peer[name]} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lock-timeout", type=float, default=30)
    options = parser.parse_args()
    rows = {
        name: measure(signum, options.runs, options.lock_timeout)
        for name, signum in (("SIGTERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL))
    }
    RESULTS.write_text(report(rows, options.lock_timeout, options.runs))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
