"""The health check behind marking a slot good: the daemon answers and can write its data.

It runs after the daemon said READY: "answers" proves the API loop works, and writing a file in
the data directory it reports proves the data partition is mounted and writable for its user.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.api.client import ApiClient
from appliance.api.errors import ApiError, ApiUnavailable
from appliance.update.errors import HealthCheckFailed

RETRY_S = 1.0
PROBE_NAME = ".health-check"


@dataclass(frozen=True)
class HealthReport:
    """What the check saw."""

    socket: Path
    data_dir: Path
    uptime_s: float
    devices: int


def _probe_write(directory: Path) -> None:
    """Create, sync and remove a file in ``directory``; HealthCheckFailed if that fails."""
    probe = directory / f"{PROBE_NAME}-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"ok\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise HealthCheckFailed(f"cannot write in {directory}: {exc.strerror}") from exc


def check_health(
    socket: Path | None = None, *, wait_s: float = 0.0, timeout: float = 5.0
) -> HealthReport:
    """Ask the daemon's ``status`` (retrying for up to ``wait_s``) and probe its data directory."""
    deadline = time.monotonic() + wait_s
    client = ApiClient(socket, timeout=timeout)
    try:
        while True:
            try:
                status = client.call("status")
                break
            except ApiUnavailable as exc:
                if time.monotonic() >= deadline:
                    raise HealthCheckFailed(
                        f"the daemon does not answer on {client.path}: {exc}"
                    ) from exc
                time.sleep(RETRY_S)
            except ApiError as exc:
                raise HealthCheckFailed(f"the daemon answered status with {exc}") from exc
    finally:
        client.close()
    if not isinstance(status, dict) or not isinstance(status.get("data_dir"), str):
        raise HealthCheckFailed("the daemon's status names no data directory")
    data_dir = Path(status["data_dir"])
    _probe_write(data_dir)
    devices = status.get("devices")
    uptime = status.get("uptime_s")
    return HealthReport(
        socket=client.path,
        data_dir=data_dir,
        uptime_s=float(uptime) if isinstance(uptime, (int, float)) else 0.0,
        devices=len(devices) if isinstance(devices, list) else 0,
    )
