"""Failover of django-redbeat beats: how late the runs go out when the lock holder fails.

    .venv/bin/python -m bench.failover [--runs 5] [--watch 5]

Three real beat processes (an entry every second, default settings) share a private
redis-server. The lock holder is stopped by SIGTERM (a clean stop), SIGKILL, SIGSTOP (a frozen
host), or its connection to Redis cut (a TCP proxy of ours, support/tcp_proxy.py, stops
forwarding). Every message's arrival on the broker is recorded (support/send_watch.py) from the
failure until ``--watch`` seconds after another beat holds the lock (the lock's 30 s TTL after
all but a clean stop); a frozen or cut-off holder is then let back, and watched for three more
seconds, since what it sends on waking counts too. Results go to bench/results/failover.md.

Lateness is a message's arrival minus its scheduled time, the slot in its header: whole
seconds, rounded down from the due time, so it overstates the lateness by up to a second.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from support.processes import BeatProcess, lock_holder_pid, wait_for
from support.redis_server import RedisServer
from support.send_watch import SendWatch
from support.tcp_proxy import TcpProxy

RESULTS = Path(__file__).parent / "results" / "failover.md"
BEATS = 3
AFTER_WAKING = 3.0


@dataclass
class Run:
    first_send: float  # seconds from the failure to the first message after it
    takeover: float  # seconds from the failure to another beat holding the lock
    lateness: list[float]  # of each run due after the failure
    sent_twice: int


class Cluster:
    """A private redis-server, a proxy in front of it, and three beats; the first, the
    holder, reaches Redis through the proxy."""

    def __init__(self, workdir: Path) -> None:
        self.server = RedisServer(workdir / "redis")
        self.server.start()
        self.proxy = TcpProxy(self.server.port).start()
        self.client = redis.Redis.from_url(self.server.url, decode_responses=True)
        self.broker_url = self.server.url.rsplit("/", 1)[0] + "/1"
        self.broker = redis.Redis.from_url(self.broker_url)
        self.holder = BeatProcess(workdir / "beat-0", self.proxy.url(), self.broker_url)
        wait_for(lambda: lock_holder_pid(self.client) == self.holder.pid, 60, "the holder")
        self.standbys = [
            BeatProcess(workdir / f"beat-{n}", self.server.url, self.broker_url)
            for n in range(1, BEATS)
        ]

    def stop(self) -> None:
        for beat in [self.holder, *self.standbys]:
            beat.signal(signal.SIGCONT)
            beat.stop()
        self.proxy.stop()
        self.server.stop()


#: name -> (fail the holder, let it back or None)
FAILURES: dict[str, tuple[Callable[[Cluster], None], Callable[[Cluster], None] | None]] = {
    "SIGTERM (clean stop)": (lambda c: c.holder.signal(signal.SIGTERM), None),
    "SIGKILL": (lambda c: c.holder.signal(signal.SIGKILL), None),
    "SIGSTOP (frozen, then SIGCONT)": (
        lambda c: c.holder.signal(signal.SIGSTOP),
        lambda c: c.holder.signal(signal.SIGCONT),
    ),
    "connection to Redis cut, then restored": (
        lambda c: c.proxy.cut(),
        lambda c: c.proxy.restore(),
    ),
}


def one_run(workdir: Path, name: str, watch_for: float) -> Run:
    fail, restore = FAILURES[name]
    cluster = Cluster(workdir)
    try:
        with SendWatch(cluster.broker) as watch:
            wait_for(lambda: len(watch) >= 3, 60, "the first sends")
            time.sleep(1.5)  # a benchmark's pacing: the failure falls anywhere in a second
            failed_at = time.time()
            fail(cluster)
            standby_pids = {beat.pid for beat in cluster.standbys}
            wait_for(lambda: lock_holder_pid(cluster.client) in standby_pids, 90, "a takeover")
            takeover = time.time() - failed_at
            time.sleep(watch_for)  # the runs after the takeover
            if restore is not None:
                restore(cluster)
                time.sleep(AFTER_WAKING)  # what the woken holder sends
    finally:
        cluster.stop()
    after = [send for send in watch.sends if send.slot > failed_at - 1]
    return Run(
        first_send=min(send.arrived for send in after) - failed_at,
        takeover=takeover,
        lateness=[send.lateness for send in after],
        sent_twice=len(watch.sends) - len(set(watch.slots())),
    )


def measure(name: str, runs: int, watch_for: float) -> list[Run]:
    results = []
    for number in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(one_run(Path(workdir), name, watch_for))
        run = results[-1]
        print(
            f"{name} run {number + 1}: first send {run.first_send:.2f} s, takeover "
            f"{run.takeover:.2f} s, worst lateness {max(run.lateness):.2f} s, "
            f"sent twice {run.sent_twice}",
            flush=True,
        )
    return results


#: celery-redbeat 2.4.2 at its defaults (redbeat_lock_timeout 25 min; a standby waits in
#: beat_init and retries every beat_max_loop_interval, 300 s), not measured: one run would
#: take half an hour.
PEER = {
    "SIGTERM (clean stop)": "up to 300 s (the lock is released; standbys poll every 300 s)",
    "SIGKILL": "up to 1,800 s (lock TTL 1,500 s + a standby's 300 s poll)",
    "SIGSTOP (frozen, then SIGCONT)": "up to 1,800 s, as SIGKILL",
    "connection to Redis cut, then restored": "up to 1,800 s, as SIGKILL",
}


def report(rows: dict[str, list[Run]], runs: int, watch_for: float) -> str:
    lines = [
        "# Failover: how late runs go out when the lock holder fails",
        "",
        f"`python -m bench.failover --runs {runs} --watch {watch_for:g}`: {BEATS} beat "
        "processes at default settings (lock TTL 30 s, renewed every 10 s; standby grace "
        "1.5 s, a light tick every second), an entry every second, one private redis-server. "
        f"{runs} runs per row; each watches every message from the failure until "
        f"{watch_for:g} s after another beat holds the lock, and {AFTER_WAKING:g} s more after "
        "a frozen or cut-off holder is let back. Lateness: arrival on the broker minus the "
        "scheduled time in the message's header (whole seconds, rounded down: it overstates "
        "by up to 1 s).",
        "",
        "| holder | first send after the failure, median s | lateness of the runs due "
        "after it: median s | worst s (median of runs / worst of all) | another beat holds "
        "the lock, median s | sent twice | celery-redbeat 2.4 defaults (computed) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, results in rows.items():
        every = [late for run in results for late in run.lateness]
        worsts = [max(run.lateness) for run in results]
        lines.append(
            f"| {name} | {statistics.median(r.first_send for r in results):.2f} "
            f"| {statistics.median(every):.2f} "
            f"| {statistics.median(worsts):.2f} / {max(worsts):.2f} "
            f"| {statistics.median(r.takeover for r in results):.2f} "
            f"| {sum(r.sent_twice for r in results)} | {PEER[name]} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--watch", type=float, default=5, help="seconds watched after takeover")
    parser.add_argument("--only", nargs="+", choices=list(FAILURES), default=list(FAILURES))
    options = parser.parse_args()
    rows = {name: measure(name, options.runs, options.watch) for name in options.only}
    RESULTS.write_text(report(rows, options.runs, options.watch))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
