"""The demo's processes (``make demo``), as it starts them: Redis, a worker and redbeat_run.

The steps are example_project/demo.py's own; only the Redis, the broker and the database are the
test's, and the heartbeat job runs every second.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from example_project.demo import HERE, Demo
from support.processes import wait_for

pytestmark = pytest.mark.system


def runs(database: Path, name: str) -> int:
    """How many times the worker ran a job (the example's TaskRun counter)."""
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT count FROM jobs_taskrun WHERE name = ?", [name]).fetchone()
    return row[0] if row else 0


@pytest.fixture
def demo(tmp_path, redis_server, redis_client, broker_url):
    lines: list[str] = []
    demo = Demo(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "REDBEAT_REDIS_URL": redis_server.url,
            "CELERY_BROKER_URL": broker_url,
            "DEMO_HEARTBEAT_SECONDS": "1",
        },
        echo=lines.append,
    )
    demo.lines = lines
    yield demo
    demo.stop()


def test_the_worker_runs_what_redbeat_run_sends(demo, tmp_path, redis_client):
    database = tmp_path / "db.sqlite3"
    demo.start_redis()
    demo.prepare("admin", "secret")
    assert " setup | Imported 3 entries: 3 created" in "\n".join(demo.lines)
    demo.start_worker()
    demo.start_beat()

    wait_for(lambda: runs(database, "heartbeat") >= 2, 60, "two heartbeats run by the worker")
    status = demo.manage("redbeat_status")
    assert f"(pid {demo.processes['beat'].pid}), expires in" in status

    demo.stop()
    output = "\n".join(demo.lines)
    assert "worker | " in output and "heartbeat #1, sent by an interval" in output
    assert "  beat | redbeat_run: stopped." in output
    assert demo.processes["beat"].returncode == 0
    assert redis_client.exists("redbeat::lock") == 0  # released on SIGTERM


def test_the_script_starts_its_own_redis_and_stops_everything_on_ctrl_c(tmp_path):
    """``make demo`` without REDBEAT_REDIS_URL: the script as a user runs it, then Ctrl-C."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("REDBEAT")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DEMO_PORT="8765")
    process = subprocess.Popen(
        [sys.executable, str(HERE / "demo.py")], env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops everything." in line:
                break
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends the foreground process
        lines += process.stdout.readlines()
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    assert "Admin:     http://127.0.0.1:" in output
    assert "User:      admin" in output and "Password:  redbeat-demo" in output
    assert "(started by the demo, gone when it stops)" in output
    for step in ("Stopping the web...", "Stopping the beat...", "Stopping the worker...",
                 "Stopping Redis...", "Stopped."):  # fmt: skip
        assert step in output
