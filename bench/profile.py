"""Where django-redbeat's beat spends its time: pyinstrument over N all due and over idle ticks.

    make bench BENCH_ARGS=--profile        (N = 10,000; --n to change it)

Writes bench/results/profile.md (the functions with the largest share of time, self and
inclusive) and the full call trees as profile-<case>.txt beside it: all due, idle, import,
startup sync. A
"## Findings" section written by hand at the end of profile.md is kept when it is rewritten.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from support.redis_server import RedisServer

RESULTS = Path(__file__).parent / "results"
IDLE_TICKS = 5000
FINDINGS = "## Findings"


def shares(root: Any) -> tuple[dict[str, float], dict[str, float]]:
    """Self and inclusive seconds per function (a recursive call is counted once)."""
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)

    def visit(frame: Any, stack: frozenset[str]) -> None:
        if frame.is_synthetic:  # a "[self]" leaf: its parent's total_self_time holds it
            return
        name = label(frame)
        own[name] += frame.total_self_time
        if name not in stack:
            inclusive[name] += frame.time
        for child in frame.children:
            visit(child, stack | {name})

    visit(root, frozenset())
    return own, inclusive


def label(frame: Any) -> str:
    where = (frame.file_path_short or "").replace("site-packages/", "")
    if frame.class_name:
        return f"`{frame.class_name}.{frame.function}` ({where}:{frame.line_no})"
    return f"`{frame.function}` ({where}:{frame.line_no})"


def profiled(work: Callable[[], None], interval: float) -> tuple[Any, str]:
    profiler = Profiler(interval=interval)
    profiler.start()
    work()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    return profiler.last_session.root_frame(), text


def top(root: Any, count: int) -> list[str]:
    own, inclusive = shares(root)
    total = root.time or 1.0
    lines = ["| share, self | function | | share, inclusive | function |", "|--:|---|---|--:|---|"]
    by_self = sorted(own.items(), key=lambda item: -item[1])[:count]
    by_inclusive = sorted(
        ((name, seconds) for name, seconds in inclusive.items() if "django_redbeat" in name),
        key=lambda item: -item[1],
    )[:count]
    for (s_name, s_time), (i_name, i_time) in zip(by_self, by_inclusive, strict=False):
        own_share, inclusive_share = 100 * s_time / total, 100 * i_time / total
        lines.append(f"| {own_share:.1f}% | {s_name} | | {inclusive_share:.1f}% | {i_name} |")
    return lines


def run(n: int) -> Path:
    with tempfile.TemporaryDirectory(prefix="redbeat-profile-") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        server.start()
        os.environ["BENCH_REDIS_URL"] = server.url
        os.environ["BENCH_DB"] = str(Path(tmp) / "db.sqlite3")
        try:
            sections = profile_cases(n)
        finally:
            server.stop()
    path = RESULTS / "profile.md"
    path.write_text("\n".join(sections) + "\n" + kept_findings(path))
    return path


def kept_findings(path: Path) -> str:
    """The hand-written "## Findings" section of the previous profile.md, kept on a rerun."""
    text = path.read_text() if path.exists() else ""
    start = text.find(FINDINGS)
    return "\n" + text[start:] if start >= 0 else ""


def profile_cases(n: int) -> list[str]:
    import redis

    from bench.celery_app import app
    from bench.producer import Sends
    from bench.subjects import DjangoRedBeat

    client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    sections = [
        "# Profile of django-redbeat's beat",
        "",
        f"`make bench BENCH_ARGS=--profile`: pyinstrument, N = {n:,}, same producer and Redis "
        "as the benchmark. Self: time in the function's own code; inclusive: with its callees "
        "(django_redbeat functions only). Full trees: profile-<case>.txt beside this file.",
    ]
    client.flushall()
    subject = DjangoRedBeat(app)
    subject.populate(n, "due")

    def all_due() -> None:
        subject.start()
        while Sends.count < n:
            subject.tick()

    root, text = profiled(all_due, interval=0.001)
    (RESULTS / "profile-alldue.txt").write_text(text)
    sections += ["", f"## All {n:,} due, from start to the last send ({root.time:.2f} s)", ""]
    sections += top(root, 25)
    subject.close()

    client.flushall()
    subject = DjangoRedBeat(app)
    subject.populate(n, "far")
    subject.start()

    def idle() -> None:
        for _ in range(IDLE_TICKS):
            subject.tick()

    root, text = profiled(idle, interval=0.0001)
    (RESULTS / "profile-idle.txt").write_text(text)
    sections += ["", f"## {IDLE_TICKS:,} idle ticks over {n:,} entries ({root.time:.2f} s)", ""]
    sections += top(root, 25)
    subject.close()
    client.flushall()
    return sections + profile_commands(n)


def profile_commands(n: int) -> list[str]:
    """``redbeat_import`` of N entries, then the sync ``redbeat_run`` does when it starts."""
    from django.conf import settings
    from django.core.management import call_command

    from bench.celery_app import app
    from bench.producer import TASK
    from bench.subjects import django_setup, specs

    django_setup("django-redbeat")
    call_command("migrate", verbosity=0)
    from django_redbeat.sync import bridge

    settings.CELERY_BEAT_SCHEDULE = {
        name: {"task": TASK, "schedule": every, "args": (arg,)}
        for name, arg, every, _ in specs(n, "far")
    }
    sections = []
    for title, name, work in (
        (f"`redbeat_import` of {n:,} entries into an empty database and Redis", "import",
         lambda: call_command("redbeat_import", stdout=StringIO())),
        (f"`redbeat_run`'s startup sync (`bridge.rebuild`) of {n:,} unchanged entries", "rebuild",
         lambda: bridge.rebuild(app)),
    ):  # fmt: skip
        root, text = profiled(work, interval=0.001)
        (RESULTS / f"profile-{name}.txt").write_text(text)
        sections += ["", f"## {title} ({root.time:.2f} s)", "", *top(root, 25)]
    return sections
