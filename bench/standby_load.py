"""What a standing-by beat costs Redis: the round trips per second of each standby.

    .venv/bin/python -m bench.standby_load [--seconds 30] [--standbys 2]

A private redis-server and one real beat (the holder, an entry every second, default
settings); Redis's MONITOR counts every command that a client sends, for ``--seconds``. Then
``--standbys`` more beats start and, once they stand by, the same count again. The difference
divided by the number of standbys is one standby's load. MONITOR shows the commands a script
runs as coming from "lua": those are not round trips and are left out. Results go to
bench/results/standby_load.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

from support.processes import BeatProcess, lock_holder_pid, wait_for
from support.redis_server import RedisServer

RESULTS = Path(__file__).parent / "results" / "standby_load.md"
#: seconds left out after a beat starts, so that its start-up reads are not counted
SETTLE = 5


def client_commands(server: RedisServer, seconds: float) -> Counter[str]:
    """The commands clients sent (not those scripts ran) during ``seconds``, by name."""
    counted: Counter[str] = Counter()
    monitor_client = redis.Redis.from_url(server.url, decode_responses=True)
    stop_at = time.monotonic() + seconds
    with monitor_client.monitor() as monitor:
        for command in monitor.listen():  # a beat sends every second, so this never stalls
            if time.monotonic() >= stop_at:
                break
            if command.get("client_type") != "lua":
                counted[command["command"].split()[0].upper()] += 1
    return counted


def measure(workdir: Path, seconds: float, standbys: int) -> tuple[Counter[str], Counter[str]]:
    server = RedisServer(workdir / "redis")
    server.start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    broker_url = server.url.rsplit("/", 1)[0] + "/1"
    beats = [BeatProcess(workdir / "beat-0", server.url, broker_url)]
    try:
        wait_for(lambda: lock_holder_pid(client) == beats[0].pid, 60, "the holder")
        time.sleep(SETTLE)
        holder_alone = client_commands(server, seconds)
        for number in range(1, standbys + 1):
            beats.append(BeatProcess(workdir / f"beat-{number}", server.url, broker_url))
        wait_for(
            lambda: all("beat: Starting" in beat.log() for beat in beats[1:]), 60, "the standbys"
        )
        time.sleep(SETTLE)
        with_standbys = client_commands(server, seconds)
    finally:
        for beat in beats:
            beat.stop()
        server.stop()
    return holder_alone, with_standbys


def report(alone: Counter[str], together: Counter[str], seconds: float, standbys: int) -> str:
    extra = together - alone
    per_second = sum(extra.values()) / standbys / seconds
    names = sorted(set(alone) | set(together))
    lines = [
        "# What a standby costs Redis",
        "",
        f"`python -m bench.standby_load --seconds {seconds:g} --standbys {standbys}`: one holder "
        f"and then {standbys} standbys at default settings (a light tick every second), an "
        "entry every second; commands sent by clients, counted by MONITOR over "
        f"{seconds:g} s each, from {SETTLE} s after the last beat started (commands run inside "
        "scripts left out).",
        "",
        f"**One standby: {per_second:.2f} round trips per second.**",
        "",
        f"| command | holder alone | holder + {standbys} standbys |",
        "|---|---|---|",
        *(f"| {name} | {alone[name]} | {together[name]} |" for name in names),
        f"| all | {sum(alone.values())} | {sum(together.values())} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--standbys", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        alone, together = measure(Path(workdir), options.seconds, options.standbys)
    RESULTS.write_text(report(alone, together, options.seconds, options.standbys))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
