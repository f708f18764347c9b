"""The Markdown report: medians per scheduler and N, ratios to each peer, targets met or missed."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import peer_targets

OURS, REDBEAT, DCB = "django-redbeat", "celery-redbeat", "django-celery-beat"
#: The results' subject for Celery's bare send, measured without a scheduler.
FLOOR = "celery"


@dataclass(frozen=True)
class Figure:
    label: str
    key: str
    fmt: str
    lower_is_better: bool = True
    target: str = ""
    limit: float | None = None  # the target's bound (max when lower is better, else min)


FIGURES = [
    Figure("idle tick, ms", "idle_tick_ms", "{:.3f}", target="<= 0.25 ms", limit=0.25),
    Figure("Redis round trips per idle tick", "idle_roundtrips", "{:.2f}", target="1", limit=1.0),
    Figure("per dispatched entry, 100 due, ms", "dispatch_ms", "{:.3f}", target="<= 0.2 ms",
           limit=0.2),
    Figure("of which in Celery's send (apply_async), ms", "dispatch_send_ms", "{:.3f}"),
    Figure("of which the scheduler's own part, ms", "dispatch_own_ms", "{:.3f}"),
    Figure("all N due: entries/s", "alldue_per_s", "{:,.0f}", lower_is_better=False,
           target=">= 5,000/s", limit=5000),
    Figure("create N entries, s", "create_s", "{:.3f}"),
    Figure("startup (construct + first tick), s", "startup_s", "{:.4f}"),
    Figure("peak memory, idle beat, MiB", "rss_idle_mib", "{:.1f}"),
    Figure("peak memory, all N due, MiB", "rss_alldue_mib", "{:.1f}"),
    Figure("all due minus idle, MiB", "rss_delta_mib", "{:.1f}", target="<= 20 MiB", limit=20),
]  # fmt: skip


def median(results: Any, subject: str, n: int, key: str) -> float | None:
    by_key = results.get(subject, {}).get(n, {})
    if key == "rss_delta_mib":
        peak, idle = (median(results, subject, n, k) for k in ("rss_alldue_mib", "rss_idle_mib"))
        return None if peak is None or idle is None else peak - idle
    values = by_key.get(key) or []
    return statistics.median(values) if values else None


def cell(results: Any, subject: str, n: int, figure: Figure) -> str:
    value = median(results, subject, n, figure.key)
    if value is None:
        return "-"
    text = figure.fmt.format(value)
    if figure.key == "alldue_per_s":
        by_n = results[subject][n]
        if not all(by_n.get("alldue_finished", [True])):
            sent = statistics.median(by_n["alldue_sent"])
            text += f" ({sent:,.0f} of {n:,} sent in the budget)"
    return text


def ratio(results: Any, peer: str, n: int, figure: Figure) -> str:
    ours, theirs = (median(results, s, n, figure.key) for s in (OURS, peer))
    if not ours or not theirs or figure.key in ("rss_delta_mib", "idle_roundtrips"):
        return "-"
    better = theirs / ours if figure.lower_is_better else ours / theirs
    return f"{better:.2f}x"


def verdict(results: Any, n: int, figure: Figure) -> str:
    value = median(results, OURS, n, figure.key)
    if figure.limit is None or value is None:
        return ""
    met = value <= figure.limit + 1e-9 if figure.lower_is_better else value >= figure.limit
    if figure.key == "alldue_per_s":
        met = met and all(results[OURS][n].get("alldue_finished", [True]))
    return "met" if met else "**missed**"


def scheduler_table(results: Any, ns: list[int]) -> list[str]:
    lines = [
        f"| figure | N | {OURS} | {REDBEAT} | {DCB} | vs {REDBEAT} | vs {DCB} | target | |",
        "|---|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for figure in FIGURES:
        for n in ns:
            cells = [cell(results, s, n, figure) for s in (OURS, REDBEAT, DCB)]
            ratios = [ratio(results, peer, n, figure) for peer in (REDBEAT, DCB)]
            row = [figure.label, f"{n:,}", *cells, *ratios, figure.target]
            row.append(verdict(results, n, figure))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def admin_table(results: Any, n: int) -> list[str]:
    lines = [
        f"| rows per page | {OURS} ms | Redis round trips | SQL queries | {DCB} ms | SQL queries |"
        f" vs {DCB} |",
        "|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size in (20, 100, 500):
        ours, theirs = (median(results, s, n, f"admin_{size}_ms") for s in (OURS, DCB))
        row = [
            str(size),
            _fmt(ours, "{:.1f}"),
            _fmt(median(results, OURS, n, f"admin_{size}_roundtrips"), "{:.0f}"),
            _fmt(median(results, OURS, n, f"admin_{size}_queries"), "{:.0f}"),
            _fmt(theirs, "{:.1f}"),
            _fmt(median(results, DCB, n, f"admin_{size}_queries"), "{:.0f}"),
            f"{theirs / ours:.2f}x" if ours and theirs else "-",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, "", f"Target: {admin_verdict(results, n)}."]


def admin_verdict(results: Any, n: int) -> str:
    trips = [median(results, OURS, n, f"admin_{size}_roundtrips") for size in (20, 100, 500)]
    constant = len(set(trips)) == 1 and None not in trips
    counts = " / ".join(_fmt(count, "{:.0f}") for count in trips)
    return (
        "a constant number of Redis round trips whatever the page size: "
        f"{'met' if constant else '**missed**'} ({counts} for 20 / 100 / 500 rows)"
    )


#: (label, key, format, the target's bound per N or None, its text)
COMMAND_FIGURES = [
    ("redbeat_import of N entries, s", "import_s", "{:.2f}",
     {10_000: 1.5, 100_000: 10.0}, "10k <= 1.5 s, 100k <= 10 s"),
    ("redbeat_import again, nothing changed, s", "reimport_s", "{:.2f}", {}, ""),
    ("redbeat_run startup (lock, sync, first tick), s", "run_startup_s", "{:.2f}",
     {1_000: 5.0, 10_000: 5.0, 100_000: 5.0}, "<= 5 s"),
    ("Redis writes to entries in that startup (N unchanged)", "run_startup_writes", "{:,.0f}",
     {1_000: 0, 10_000: 0, 100_000: 0}, "only what changed: 0"),
    ("edit to send in a running redbeat_run, median ms", "edit_send_ms", "{:.1f}",
     {1_000: 100, 10_000: 100, 100_000: 100}, "<= 100 ms"),
    ("edit to send, slowest, ms", "edit_send_max_ms", "{:.1f}",
     {1_000: 100, 10_000: 100, 100_000: 100}, "<= 100 ms"),
    ("beat's sleep left at the edit (least), s", "edit_sleep_left_s", "{:.0f}", {}, ""),
]  # fmt: skip


def command_table(results: Any, ns: list[int]) -> list[str]:
    lines = ["| figure | N | django-redbeat | target | |", "|---|--:|--:|---|---|"]
    for label, key, fmt, limits, target in COMMAND_FIGURES:
        for n in ns:
            value = median(results, OURS, n, key)
            limit = limits.get(n)
            met = (
                "" if limit is None or value is None else "met" if value <= limit else "**missed**"
            )
            lines.append(f"| {label} | {n:,} | {_fmt(value, fmt)} | {target} | {met} |")
    return lines


def _met(value: float | None, limit: float) -> str:
    return "not measured" if value is None else "met" if value <= limit else "**missed**"


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def summary(results: Any, ns: list[int], admin_n: int) -> list[str]:
    """One line per target: met or missed at each N, with the figure."""
    lines = ["## Targets (django-redbeat)", ""]
    for figure in FIGURES:
        if figure.limit is None:
            continue
        found = [(n, verdict(results, n, figure), cell(results, OURS, n, figure)) for n in ns]
        lines.append(f"- {figure.label} {figure.target}: " + "; ".join(
            f"N = {n:,} {text or 'not measured'} ({value})" for n, text, value in found
        ))  # fmt: skip
    for label, key, fmt, limits, target in COMMAND_FIGURES:
        found = [(n, median(results, OURS, n, key)) for n in ns if n in limits]
        if not limits or all(value is None for _, value in found):
            continue
        lines.append(f"- {label} {target}: " + "; ".join(
            f"N = {n:,} {_met(value, limits[n])} ({_fmt(value, fmt)})" for n, value in found
        ))  # fmt: skip
    if admin_n:
        lines.append(f"- admin changelist at N = {admin_n:,}: {admin_verdict(results, admin_n)}")
    lines += [
        "",
        "Why the missed ones are missed, and what it would take: bench/results/profile.md,",
        "section Findings (`make bench BENCH_ARGS=--profile` profiles the hot paths).",
    ]
    return lines


def errors(results: Any) -> list[str]:
    found = [
        f"- {subject}, N = {n:,}: {error}"
        for subject, by_n in results.items()
        for n, values in by_n.items()
        for error in values.get("errors", [])
    ]
    return ["", "## Failed cases", "", *found] if found else []


def code_state() -> str:
    """The commit measured, and whether django_redbeat/ had uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "django_redbeat"], cwd=root, capture_output=True,
            text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return "code: unknown"
    changes = " with uncommitted changes" if dirty else ""
    return f"django-redbeat at {head or 'unknown'}{changes}"


def about(client: Any, command: str) -> str:
    """The command, the versions and the code measured: the report's first line."""
    return f"`{command}`; {versions(client.info('server')['redis_version'])}"


def versions(redis_version: str) -> str:
    names = (
        "celery", "kombu", "redis", "hiredis", "django", "celery-redbeat", "django-celery-beat",
    )  # fmt: skip
    found = ", ".join(f"{name} {version(name)}" for name in names)
    return (
        f"Python {platform.python_version()}, {found}, redis-server {redis_version} on loopback; "
        f"{os.cpu_count()} cores; {code_state()}."
    )


def floor_line(results: Any) -> list[str]:
    """The machine's floor for a send, next to the issue's: the targets were set there."""
    floor = median(results, FLOOR, 0, "send_floor_ms")
    if floor is None:
        return []
    return [
        f"Celery's bare send on this machine (`apply_async` through beat's kind of producer, no"
        f" scheduler): {floor:.3f} ms per message; about 0.115 ms on the machine the targets"
        f" were set on.",
    ]


def markdown(mode_name: str, mode: dict[str, Any], results: Any, about: str) -> str:
    lines = [
        f"# Benchmark, {mode_name} mode",
        "",
        f"Medians of {mode['reps']} repetition(s). {about}",
        "",
        "Every scheduler runs in its own process per case, on the same redis-server (flushed",
        "between cases) and the same producer: a Celery app whose broker is `drop://`, kombu's",
        "memory transport with its final put replaced by a counter, so each task message is built",
        "in full (headers, JSON body, encoding, routing) and then dropped. Each scheduler runs as",
        "`celery beat` would run it, lock included (django-redbeat 30 s renewed by a thread;",
        "celery-redbeat 1,500 s extended every tick; django-celery-beat none; SQLite file).",
        "Ratios: how many times better django-redbeat is (> 1: ours is faster, smaller or sends",
        "more per second). The machine is noisy: read ratios, not absolute times.",
        f"All-due throughput is measured from the start of the scheduler to the last send, with a"
        f" budget of {mode['budget']:g} s per run.",
        *floor_line(results),
        "",
        "## Scheduler",
        "",
        *scheduler_table(results, mode["ns"]),
    ]
    if any(median(results, OURS, n, "import_s") is not None for n in mode["ns"]):
        lines += ["", "## django-redbeat's commands", "", *command_table(results, mode["ns"])]
    if mode["admin_n"]:
        lines += [
            "",
            f"## Admin changelist at N = {mode['admin_n']:,}",
            "",
            *admin_table(results, mode["admin_n"]),
        ]
    lines += ["", *summary(results, mode["ns"], mode["admin_n"])]
    lines += ["", *peer_targets.section(results, OURS, REDBEAT, DCB, median)]
    lines += [*errors(results), "", *NOTES]
    return "\n".join(lines) + "\n"


NOTES = [
    "## What each figure is",
    "",
    "- idle tick: median of back-to-back `tick()` calls of a started beat over N entries due in a",
    "  day; round trips are counted on redis-py's connections (a pipeline or script call is one).",
    "- per dispatched entry: 100 entries written through the scheduler's own API so that they",
    "  fall due together in the running beat (after any reload it does), then ticks until the",
    "  100 are sent, divided by 100. Split in two: the time inside Celery's `Task.apply_async`",
    "  (timed on the task, the same call in all three schedulers) and the rest, the scheduler's",
    "  own part (reading, deciding, claiming or saving, its wrapper around the send).",
    "- all N due: N entries whose last run was two hours ago (interval one hour); from the",
    "  scheduler's construction to its last send.",
    "- create: django-redbeat `RedBeatSchedulerEntry.save_many`, celery-redbeat `save()` each,",
    "  django-celery-beat `PeriodicTask.objects.bulk_create` (SQLite).",
    "- peak memory: `ru_maxrss` of the beat process (a process per case, so per scheduler and N).",
    "- commands (django-redbeat only; Django settings with SQLite in a file): `redbeat_import` of",
    "  N interval entries from CELERY_BEAT_SCHEDULE into an empty database and Redis; the real",
    "  `redbeat_run` command in a thread, from its start to its first sleep, with the writes to",
    "  entries it made over N unchanged entries (counted by Redis's keyspace notifications: each",
    "  change of an entry's hash or of the schedule sorted set; not the lock's SET);",
    "  then one-off tasks due now created through the ORM while it sleeps (max interval 300 s),",
    "  from `create()` to the send.",
    "  The peers' edit-to-effect is not measured here: celery-redbeat reads a change at its next",
    "  tick (its beat may sleep up to 300 s); django-celery-beat checks for changes every 5 s and",
    "  then reloads every row (7 s at 100k on the issue's machine).",
]
