"""What a technician checks first: versions, addresses, and whether the bureau can be reached."""

from __future__ import annotations

import platform
import socket
import time
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

from appliance.daemon.config import DaemonConfig

# A reachability probe is a TCP connect; a bureau that takes longer is as good as down here.
PROBE_TIMEOUT_S = 3.0


def _version() -> str:
    try:
        return metadata.version("qingka-box")
    except metadata.PackageNotFoundError:
        return "unknown"


def addresses() -> list[str]:
    """Return this machine's IP addresses (best effort, no external command)."""
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    except OSError:
        pass  # no resolvable host name: the probe below may still find the outgoing address
    try:
        # Connecting a UDP socket sends nothing; it only picks the interface a packet would use.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            found.add(str(probe.getsockname()[0]))
    except OSError:
        pass  # no route at all: the box is offline, which the list then shows
    return sorted(found)


def reachable(url: str) -> dict[str, Any]:
    """Try a TCP connection to the host of ``url``; return the result and the time it took."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        return {"url": url, "reachable": False, "error": exc.strerror or str(exc)}
    return {"url": url, "reachable": True, "ms": round((time.monotonic() - start) * 1000, 1)}


def collect(
    config: DaemonConfig, started: float, fleet: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the diagnostics the technician screen shows (``fleet``: the MQTT link's view)."""
    urls = sorted(set(config.bureau.endpoints.urls.values())) if config.bureau else []
    # One probe per distinct host: every province of the simulator shares one server.
    hosts: dict[str, str] = {}
    for url in urls:
        parts = urlsplit(url)
        hosts.setdefault(f"{parts.hostname}:{parts.port or 443}", url)
    return {
        "version": _version(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "hostname": socket.gethostname(),
        "addresses": addresses(),
        "uptime_s": round(time.monotonic() - started, 1),
        "daemon": {"ok": True, "policy": config.policy, "data_dir": str(config.data_dir)},
        "bureau": [reachable(url) for url in hosts.values()],
        # The fleet link (MQTT): broker reachability and the last publish; None when [fleet] is
        # not configured. "broker" is the same view under the name older screens read.
        "fleet": fleet,
        "broker": fleet,
    }
