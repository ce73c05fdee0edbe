"""A client of the simulator's admin API, for the CLI, the demo and the tests."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

# Admin answers are small JSON objects; a state dump of a busy taxpayer stays far below this.
_MAX_ANSWER = 1024 * 1024


class AdminCallError(RuntimeError):
    """The admin API refused a request or could not be reached."""


class AdminClient:
    """Talks to ``http://127.0.0.1:<port>`` of a running simulator."""

    def __init__(self, admin_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(admin_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"{admin_url!r} is not an admin URL like http://127.0.0.1:PORT")
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return its JSON answer."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, payload, headers)
            response = connection.getresponse()
            raw = response.read(_MAX_ANSWER + 1)
        except OSError as exc:
            raise AdminCallError(f"admin API {self.host}:{self.port} unreachable: {exc}") from exc
        finally:
            connection.close()
        try:
            data: Any = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise AdminCallError(f"admin API answered non-JSON: {exc}") from exc
        if response.status != 200 or not isinstance(data, dict):
            raise AdminCallError(f"admin API refused {method} {path}: {data}")
        return data

    def health(self) -> dict[str, Any]:
        """Return health and the bureau's current time."""
        return self.call("GET", "/v1/health")

    def state(self, taxpayer: str) -> dict[str, Any]:
        """Return what the bureau holds about a taxpayer."""
        return self.call("GET", f"/v1/state/{taxpayer}")

    def stats(self) -> dict[str, int]:
        """Return the requests received per service id."""
        return dict(self.call("GET", "/v1/stats")["requests"])

    def set_declaration(self, taxpayer: str, status: str, period: int | None = None) -> None:
        """File (``filed``), withdraw (``missing``) or spoil (``mismatched``) a declaration."""
        body: dict[str, Any] = {"taxpayer": taxpayer, "status": status}
        if period is not None:
            body["period"] = period
        self.call("POST", "/v1/declaration", body)

    def set_certificate(self, taxpayer: str, status: str) -> None:
        """Set the device certificate status: valid, lost, revoked or unknown."""
        self.call("POST", "/v1/certificate", {"taxpayer": taxpayer, "status": status})

    def add_fault(self, kind: str, **params: Any) -> None:
        """Queue a fault (see ``simulators.bureau.faults``)."""
        self.call("POST", "/v1/faults", {"kind": kind, **params})

    def clear_faults(self) -> None:
        """Drop every waiting fault."""
        self.call("DELETE", "/v1/faults")

    def faults(self) -> list[dict[str, Any]]:
        """Return the faults still waiting."""
        return list(self.call("GET", "/v1/faults")["faults"])

    def set_clock(self, moment: str) -> None:
        """Move the bureau's clock to an ISO date-time."""
        self.call("POST", "/v1/clock", {"now": moment})

    def expire_sessions(self, taxpayer: str) -> int:
        """End the taxpayer's sessions; return how many."""
        return int(self.call("POST", "/v1/sessions/expire", {"taxpayer": taxpayer})["expired"])

    def reset(self, taxpayer: str) -> None:
        """Forget everything the bureau holds about a taxpayer."""
        self.call("POST", "/v1/reset", {"taxpayer": taxpayer})
