"""What the run history costs beat: time per dispatched entry with history off and on.

    python -m bench.history_cost [--reps 3] [--n 1000]

``make bench`` runs it too, after the other cases. Each repetition runs the ``dispatch`` case
(100 entries falling due at once over N idle ones, five bursts, the median kept) once with
``redbeat_history_length = 0`` and once with the default 20, in turn and each in a fresh
process, and writes bench/results/history.md: the medians, and whether history on stays
within 10 % of history off (the target).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench import report

OFF, ON = "django-redbeat, history off", "django-redbeat, history on (20)"
SUBJECTS = (OFF, ON)
LENGTHS = {OFF: "0", ON: "20"}
N = 1000
TARGET = 0.10  # history on may cost at most this much more per dispatched entry
RESULTS = Path(__file__).parent / "results" / "history.md"
FIGURES = (
    ("per dispatched entry, ms", "dispatch_ms"),
    ("of which the scheduler's own part, ms", "dispatch_own_ms"),
    ("Redis round trips per 100 dispatched", "dispatch_roundtrips"),
)


def measure(runner: Any, reps: int, n: int = N) -> None:
    """Run the cases; their figures go in ``runner.results`` under SUBJECTS."""
    for rep in range(reps):
        # the order alternates, so neither side always runs on a warmer machine
        for subject in SUBJECTS if rep % 2 == 0 else SUBJECTS[::-1]:
            runner.reset(None)
            env = {"BENCH_HISTORY_LENGTH": LENGTHS[subject]}
            runner.case(report.OURS, n, "dispatch", env=env, label=subject)


def write(results: Any, about: str, command: str) -> Path:
    n = next(iter(results[OFF]))
    lines = [
        "# What the run history costs beat",
        "",
        f"`{command}`: {about}",
        "",
        f"N = {n:,} idle entries; 100 fall due at once, five bursts per run, median burst;"
        f" {len(results[OFF][n]['dispatch_ms'])} runs per side, medians of those.",
        "",
        "| figure | history off | history on | on / off |",
        "|---|---|---|---|",
    ]
    for label, key in FIGURES:
        off, on = (statistics.median(results[s][n][key]) for s in SUBJECTS)
        lines.append(f"| {label} | {off:.4f} | {on:.4f} | {on / off if off else 0:.3f} |")
    off, on = (statistics.median(results[s][n]["dispatch_ms"]) for s in SUBJECTS)
    verdict = "met" if on <= off * (1 + TARGET) else "**missed**"
    lines += [
        "",
        f"**Per dispatched entry: {on:.3f} ms with history on, {off:.3f} ms off"
        f" ({(on / off - 1) * 100:+.1f} %); target within {TARGET:.0%}: {verdict}.**",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    return RESULTS


def main() -> None:
    from bench.run import Runner, compile_ours
    from support.redis_server import RedisServer

    parser = argparse.ArgumentParser(prog="python -m bench.history_cost", description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--n", type=int, default=N)
    options = parser.parse_args()
    compile_ours()
    with tempfile.TemporaryDirectory(prefix="redbeat-history-") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        server.start()
        try:
            runner = Runner(Path(tmp), server.url)
            measure(runner, options.reps, options.n)
            version = runner.client.info("server")["redis_version"]
        finally:
            server.stop()
    about = f"redis-server {version} on loopback; {report.code_state()}"
    command = f"python -m bench.history_cost --reps {options.reps} --n {options.n}"
    print(write(runner.results, about, command).read_text())


if __name__ == "__main__":
    main()
