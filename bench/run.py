"""The runner: one redis-server, every case of every scheduler in its own process, interleaved.

For each repetition, each N and each scheduler, in turn: Redis flushed (and the SQLite file
copied from a migrated template), N entries created through the scheduler's own API (timed),
a beat started over them (startup, idle ticks, 100 falling due); then Redis flushed again, N
entries written all due, and a beat started over those (throughput, peak memory). Then the
admin changelist of the two Django apps at N = 10,000.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import redis

from bench import history_cost, report
from bench.subjects import DJANGO_SETTINGS
from support.redis_server import RedisServer

OURS = "django-redbeat"

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"

MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "ns": [1_000, 10_000], "reps": 2, "ticks": 200, "tick_seconds": 1.0, "budget": 5.0,
        "bursts": 3, "edits": 5, "admin_n": 10_000, "admin_repeat": 3,
    },
    "full": {
        "ns": [1_000, 10_000, 100_000], "reps": 3, "ticks": 1000, "tick_seconds": 3.0,
        "budget": 60.0, "bursts": 3, "edits": 10, "admin_n": 10_000, "admin_repeat": 10,
    },
}  # fmt: skip

Results = dict[str, dict[int, dict[str, list[Any]]]]


class Runner:
    def __init__(self, workdir: Path, redis_url: str) -> None:
        self.workdir = workdir
        self.client = redis.Redis.from_url(redis_url)
        self.env = {
            **os.environ,
            "BENCH_REDIS_URL": redis_url,
            "BENCH_DB": str(workdir / "db.sqlite3"),
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.results: Results = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))

    def template(self, subject: str) -> Path:
        return self.workdir / f"template-{subject}.sqlite3"

    def migrate(self) -> None:
        for subject in DJANGO_SETTINGS:
            self.reset(None)
            self.case(subject, 0, "migrate")
            shutil.copy(self.workdir / "db.sqlite3", self.template(subject))

    def reset(self, subject: str | None) -> None:
        self.client.flushall()
        database = self.workdir / "db.sqlite3"
        database.unlink(missing_ok=True)
        if subject in DJANGO_SETTINGS and self.template(subject).exists():
            shutil.copy(self.template(subject), database)

    def case(
        self, subject: str, n: int, case: str, env: dict[str, str] | None = None,
        label: str | None = None, **params: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """Run a case in its own process (``env`` added to its environment); its result is
        kept under ``label`` (default: its subject) and N."""
        args = json.dumps({"case": case, "subject": subject, "n": n, **params})
        started = time.monotonic()
        environment = {**self.env, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "bench.worker", args], cwd=ROOT, env=environment,
            capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        took = time.monotonic() - started
        if done.returncode != 0 or not done.stdout.strip():
            log(f"  {subject} {case} N={n}: FAILED ({took:.1f} s)\n{done.stderr[-3000:]}")
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            self.results[subject][n]["errors"].append(f"{case}: {last[:300]}")
            return {}
        result = json.loads(done.stdout.strip().splitlines()[-1])
        for key, value in result.items():
            self.results[label or subject][n][key].append(value)
        log(f"  {label or subject} {case} N={n}: {took:.1f} s {short(result)}")
        return result

    def scheduler_cases(self, subject: str, n: int, mode: dict[str, Any]) -> None:
        self.reset(subject)
        self.case(subject, n, "create")
        beat = {key: mode[key] for key in ("ticks", "tick_seconds", "bursts")}
        self.case(subject, n, "beat", **beat)
        self.reset(subject)
        self.case(subject, n, "populate", kind="due")
        self.case(subject, n, "alldue", budget=mode["budget"])

    def command_cases(self, n: int, mode: dict[str, Any]) -> None:
        """redbeat_import, redbeat_run's startup and edit to send (django-redbeat only)."""
        self.reset(OURS)
        self.case(OURS, n, "commands", edits=mode["edits"])

    def admin_cases(self, mode: dict[str, Any]) -> None:
        for subject in DJANGO_SETTINGS:
            self.reset(subject)
            self.case(subject, mode["admin_n"], "admin", repeat=mode["admin_repeat"])


def short(result: dict[str, Any]) -> str:
    return " ".join(
        f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in result.items()
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def compile_ours() -> None:
    """Byte-compile django-redbeat, as pip does when it installs a wheel: the bench installs it
    editable, and with PYTHONDONTWRITEBYTECODE set a timed start would compile its sources on
    import, where the peers' modules were compiled when they were installed."""
    compileall.compile_dir(ROOT / "django_redbeat", quiet=1)


def run(mode_name: str, mode: dict[str, Any], subjects: list[str], command: str) -> Path:
    compile_ours()
    with tempfile.TemporaryDirectory(prefix="redbeat-bench-") as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir / "redis")
        server.start()
        try:
            runner = Runner(workdir, server.url)
            runner.migrate()
            for rep in range(mode["reps"]):
                runner.case(report.FLOOR, 0, "floor")
                for n in mode["ns"]:
                    log(f"repetition {rep + 1}/{mode['reps']}, N = {n:,}")
                    for subject in subjects:
                        runner.scheduler_cases(subject, n, mode)
                    if OURS in subjects:
                        runner.command_cases(n, mode)
                if mode["admin_n"]:
                    log(f"repetition {rep + 1}/{mode['reps']}, admin at N = {mode['admin_n']:,}")
                    runner.admin_cases(mode)
            if OURS in subjects:
                log("run history's cost: dispatch with history off and on")
                history_cost.measure(runner, mode["reps"])
            about = report.about(redis.Redis.from_url(server.url), command)
        finally:
            server.stop()
    return write(mode_name, mode, runner.results, about)


def write(mode_name: str, mode: dict[str, Any], results: Results, about: str) -> Path:
    """Raw figures to <mode>.json (to render the report again: ``--report``), table to .md."""
    RESULTS.mkdir(exist_ok=True)
    raw = {s: {str(n): dict(v) for n, v in by_n.items()} for s, by_n in results.items()}
    meta = {"mode": mode, "about": about}
    (RESULTS / f"{mode_name}.json").write_text(json.dumps({"meta": meta, "results": raw}) + "\n")
    path = RESULTS / f"{mode_name}.md"
    path.write_text(report.markdown(mode_name, mode, results, about))
    if history_cost.SUBJECTS[0] in results:
        history_cost.write(results, about, f"python -m bench, {mode_name} mode")
    return path


def rerender(mode_name: str) -> Path:
    """The report of <mode>.json written again (after the report's code changed)."""
    stored = json.loads((RESULTS / f"{mode_name}.json").read_text())
    results = {
        subject: {int(n): values for n, values in by_n.items()}
        for subject, by_n in stored["results"].items()
    }
    return write(mode_name, stored["meta"]["mode"], results, stored["meta"]["about"])
