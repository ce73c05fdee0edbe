"""Hundreds of abusive clients do not starve a well-behaved one."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from appliance.api.client import ApiClient
from tests.appliance.api.harness import ServerThread

ROOT = Path(__file__).resolve().parents[3]
ABUSERS = 300
ABUSE_LIMIT_S = 30.0  # the abusers stop earlier, when the test is done with them
PINGS = 5
# Generous: two shared cores, one of them busy with the abusers' process.
PING_BOUND_S = 3.0


def test_three_hundred_abusive_clients_do_not_starve_a_good_one(served: ServerThread) -> None:
    abusers = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.appliance.api.abusers",
            str(served.server.path),
            str(ABUSE_LIMIT_S),
            str(ABUSERS),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert abusers.stdout is not None
        assert abusers.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # every slot taken, the churn going
        took = []
        for _ in range(PINGS):
            started = time.monotonic()
            with ApiClient(served.server.path, timeout=PING_BOUND_S) as client:
                assert client.call("ping")["pong"] is True
            took.append(time.monotonic() - started)
            time.sleep(0.05)
        counts = json.loads(abusers.communicate("", timeout=30)[0].splitlines()[-1])
    finally:
        abusers.kill()
        abusers.wait()
    assert max(took) < PING_BOUND_S, took
    # The abuse really happened, and the server made room again and again.
    assert sum(counts.values()) > ABUSERS
    assert served.server.stats.evicted > 0
    assert served.server.stats.clients <= 64
    with ApiClient(served.server.path) as client:
        assert client.call("ping")["pong"] is True
