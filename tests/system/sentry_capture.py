"""Sentry's SDK pointed at files instead of a Sentry server: the system tests' own transport.

``init()`` sets up sentry-sdk as a user does for Crons (``CeleryIntegration(monitor_beat_tasks=
True)``), with a DSN that is never contacted: every envelope goes to this transport, which
appends each check-in it carries, as one JSON line, to ``<SENTRY_CAPTURE_DIR>/<pid>.jsonl``
(one file per process, so beat's and the worker's children never interleave). ``check_ins()``
reads them back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.transport import Transport

DIRECTORY_VARIABLE = "SENTRY_CAPTURE_DIR"
#: A well-formed DSN on a port nothing listens on: the transport below never sends to it.
DSN = "http://public@127.0.0.1:9/1"


class CheckInFile(Transport):
    """Appends the check-ins of each envelope to this process's file."""

    def capture_envelope(self, envelope: Envelope) -> None:
        lines = [item.get_bytes().decode() for item in envelope.items if item.type == "check_in"]
        if not lines:
            return
        path = Path(os.environ[DIRECTORY_VARIABLE]) / f"{os.getpid()}.jsonl"
        with open(path, "a") as file:
            file.write("".join(f"{line}\n" for line in lines))  # one write: whole lines


def init() -> None:
    """Sentry with Crons for beat tasks, when the test asked for a capture folder."""
    if DIRECTORY_VARIABLE not in os.environ:
        return
    sentry_sdk.init(
        dsn=DSN,
        transport=CheckInFile,
        integrations=[CeleryIntegration(monitor_beat_tasks=True)],
    )


def check_ins(directory: Path) -> list[dict[str, Any]]:
    """Every check-in captured so far, by any process; a line still being written is left out."""
    found = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines(keepends=True):
            if line.endswith("\n"):
                found.append({**json.loads(line), "pid": int(path.stem)})
    return found
