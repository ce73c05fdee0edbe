"""A health summary and the last log lines for the report, from the daemon if it answers.

After a restart the daemon needs a moment to listen again, so the summary waits for it (a few
seconds, bounded). A daemon that does not answer is said plainly, and the log lines then come
from journald when it is there.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient, is_running
from appliance.api.errors import ApiError
from provisioning.services import Runner

LOG_LINES = 200
JOURNAL = (
    "journalctl",
    "-u",
    "qingka-daemon.service",
    "-n",
    str(LOG_LINES),
    "--no-pager",
    "-o",
    "cat",
)
_POLL_S = 0.2


def _device(row: dict[str, Any]) -> dict[str, Any]:
    data = row.get("device") or {}
    error = row.get("error") or {}
    return {
        "url": row.get("url"),
        "present": row.get("present"),
        "device_no": data.get("device_no"),
        "taxpayer": data.get("taxpayer_id_masked"),
        "stages": [
            {"type": t.get("type"), "stage": t.get("stage"), "lock_date": t.get("lock_date")}
            for t in data.get("types") or []
        ],
        "error": error.get("code"),
    }


def wait_for_daemon(socket: Path, wait_s: float) -> bool:
    """Tell whether the daemon answers within ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        if is_running(socket, timeout=1.0):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def collect(socket: Path, runner: Runner, wait_s: float) -> tuple[dict[str, Any], list[str]]:
    """Return (health summary, last log lines)."""
    if wait_for_daemon(socket, wait_s):
        try:
            with ApiClient(socket, timeout=10.0) as client:
                status = client.call("status")
                diagnostics = client.call("diagnostics")
                lines = client.call("logs", lines=LOG_LINES)
        except ApiError as exc:
            summary: dict[str, Any] = {"daemon": "error", "error": exc.code}
        else:
            summary = {
                "daemon": "answers",
                "policy": status.get("policy"),
                "uptime_s": status.get("uptime_s"),
                "devices": [_device(row) for row in status.get("devices") or []],
                "version": diagnostics.get("version"),
                "addresses": diagnostics.get("addresses"),
                "bureau": diagnostics.get("bureau"),
            }
            return summary, [str(line) for line in lines][-LOG_LINES:]
    else:
        summary = {"daemon": "does not answer"}
    result = runner(JOURNAL)
    lines = result.output.splitlines()[-LOG_LINES:] if result.code == 0 else []
    summary["logs_from"] = "journald" if result.code == 0 else "none"
    return summary, lines
