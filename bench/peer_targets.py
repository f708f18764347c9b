"""The speed targets read as ratios to the peers, as the issue set them.

The issue set its absolute targets beside the peers' figures on its own machine: 0.2 ms per
dispatched entry where celery-redbeat took 0.6-0.7 ms, for instance. The machine running the
benchmark may be slower or faster (its bare Celery send is in the report), and its speed drifts
between runs, so each target is also read as the ratio it implies to the same peer measured in
the same run. The absolute verdicts stay in the tables above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NS = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class PeerTarget:
    label: str
    key: str  # our figure
    peer: str
    peer_key: str  # the peer's figure it is set against
    lower_is_better: bool
    needed: dict[int, float]  # by N: how many times better than the peer the target is
    basis: str  # the figures the ratio comes from


def targets(redbeat: str, dcb: str) -> list[PeerTarget]:
    return [
        PeerTarget(
            "idle tick", "idle_tick_ms", redbeat, "idle_tick_ms", True,
            {1_000: 0.31 / 0.25, 10_000: 0.34 / 0.25, 100_000: 0.47 / 0.25},
            "celery-redbeat 0.31 / 0.34 / 0.47 ms; target 0.25 ms",
        ),
        PeerTarget(
            "per dispatched entry, 100 due", "dispatch_ms", redbeat, "dispatch_ms", True,
            dict.fromkeys(NS, 0.7 / 0.2),
            "celery-redbeat 0.6-0.7 ms (0.7, the stricter, taken); target 0.2 ms",
        ),
        PeerTarget(
            "all N due, entries/s", "alldue_per_s", redbeat, "alldue_per_s", False,
            dict.fromkeys(NS, 5_000 / 1_250),
            "celery-redbeat about 1,250/s; target 5,000/s",
        ),
        PeerTarget(
            "redbeat_import of N entries (database and Redis)", "import_s", dcb, "create_s",
            True, {10_000: 0.87 / 1.5, 100_000: 8.6 / 10},
            "django-celery-beat's bulk_create of N rows 0.87 / 8.6 s; target 1.5 / 10 s",
        ),
    ]  # fmt: skip


def section(results: Any, ours: str, redbeat: str, dcb: str, median: Any) -> list[str]:
    """The Markdown section: per target and N, the ratio needed, the ratio measured, verdict."""
    lines = [
        "## The speed targets as ratios to the peers",
        "",
        "Each target is also read as the ratio to a peer that the issue's figures imply,",
        "against that peer in this run (the machine's speed drifts between runs; the ratio",
        "less so). > 1: django-redbeat is that many times faster.",
        "",
        "| target | issue's figures | N | ratio needed | ratio measured | |",
        "|---|---|--:|--:|--:|---|",
    ]
    for target in targets(redbeat, dcb):
        for n, needed in target.needed.items():
            ours_value = median(results, ours, n, target.key)
            theirs = median(results, target.peer, n, target.peer_key)
            if not ours_value or not theirs:
                continue
            measured = theirs / ours_value if target.lower_is_better else ours_value / theirs
            verdict = "met" if measured >= needed else "**missed**"
            lines.append(
                f"| {target.label} | {target.basis} | {n:,} | {needed:.2f}x | {measured:.2f}x"
                f" | {verdict} |"
            )
    return lines
