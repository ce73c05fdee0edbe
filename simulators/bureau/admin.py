"""Scenario control of the simulated bureau: a small JSON API on a loopback-only port.

======  ========================  ==============================================================
GET     /v1/health                ``{"ok": true, "now": ...}``
GET     /v1/state/<taxpayer>      certificate, declarations, uploads, clearings of a taxpayer
GET     /v1/stats                 requests received per service id
GET     /v1/faults                faults waiting to strike
POST    /v1/faults                queue a fault ``{"kind": ..., "count": ..., ...}``
DELETE  /v1/faults                drop every waiting fault
POST    /v1/declaration           ``{"taxpayer": ..., "status": filed|missing|mismatched,
                                  "period": YYYYMM}`` (period: default last month)
POST    /v1/certificate           ``{"taxpayer": ..., "status": valid|lost|revoked|unknown}``
POST    /v1/clock                 ``{"now": "2026-11-05T10:00:00"}``
POST    /v1/sessions/expire       ``{"taxpayer": ...}``: end its sessions
POST    /v1/reset                 ``{"taxpayer": ...}``: forget everything about it
======  ========================  ==============================================================

A taxpayer is its 18-character ID or its index in ``simulators.catalog`` ("0" is the demo's).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from appliance.clock import previous_month
from simulators import catalog
from simulators.bureau.faults import Fault, FaultBoard, FaultError
from simulators.bureau.server import Stats
from simulators.bureau.store import Store
from simulators.clock import SimClock, parse_moment

_log = logging.getLogger(__name__)
# Admin requests are a few small JSON objects.
_MAX_BODY = 16 * 1024
_STATE = re.compile(r"/v1/state/([0-9A-Z]{1,20})")


class AdminError(ValueError):
    """A request the admin API refuses (HTTP 400, or 404 for an unknown taxpayer)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def resolve_taxpayer(text: object) -> str:
    """Return the taxpayer ID for an ID or a catalog index."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise AdminError("taxpayer must be an ID or a catalog index")
    if text.isdigit() and len(text) <= 5:
        return catalog.taxpayer(int(text)).taxpayer_id
    if catalog.lookup(text) is None:
        raise AdminError(f"taxpayer {text} is not known to this bureau", 404)
    return text


class AdminServer(ThreadingHTTPServer):
    """The admin API; refuses any peer that is not on the loopback network."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, port: int, store: Store, faults: FaultBoard, clock: SimClock, stats: Stats
    ) -> None:
        self.store = store
        self.faults = faults
        self.clock = clock
        self.stats = stats
        super().__init__(("127.0.0.1", port), AdminHandler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Accept loopback peers only."""
        try:
            return ipaddress.ip_address(client_address[0]).is_loopback
        except (ValueError, IndexError, TypeError):
            return False


class AdminHandler(BaseHTTPRequestHandler):
    """JSON in, JSON out."""

    protocol_version = "HTTP/1.1"
    server: AdminServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log through ``logging`` instead of stderr."""
        _log.debug("admin %s", format % args)

    def do_GET(self) -> None:
        """Read state."""
        self._run(self._get)

    def do_POST(self) -> None:
        """Change the scenario."""
        self._run(self._post)

    def do_DELETE(self) -> None:
        """Drop the waiting faults."""
        self._run(self._delete)

    def _run(self, action: Callable[[], dict[str, Any]]) -> None:
        try:
            result, status = action(), 200
        except AdminError as exc:
            result, status = {"error": str(exc)}, exc.status
        except (FaultError, ValueError) as exc:
            result, status = {"error": str(exc)}, 400
        body = json.dumps(result, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self) -> dict[str, Any]:
        declared = self.headers.get("Content-Length", "0")
        if not declared.isdigit() or int(declared) > _MAX_BODY:
            self.close_connection = True
            raise AdminError(f"request body must have a Content-Length of at most {_MAX_BODY}")
        raw = self.rfile.read(int(declared))
        try:
            data = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise AdminError(f"request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise AdminError("request body must be a JSON object")
        return data

    def _get(self) -> dict[str, Any]:
        server = self.server
        if self.path == "/v1/health":
            return {"ok": True, "now": server.clock.now().isoformat(timespec="seconds")}
        if self.path == "/v1/stats":
            return {"requests": server.stats.snapshot()}
        if self.path == "/v1/faults":
            return {"faults": [fault.to_mapping() for fault in server.faults.pending()]}
        match = _STATE.fullmatch(self.path)
        if match:
            return server.store.state(resolve_taxpayer(match.group(1)))
        raise AdminError(f"no such resource {self.path}", 404)

    def _post(self) -> dict[str, Any]:
        server = self.server
        data = self._json()
        if self.path == "/v1/faults":
            fault = Fault.from_mapping(data)
            server.faults.add(fault)
            return {"ok": True, "fault": fault.to_mapping()}
        if self.path == "/v1/clock":
            moment = parse_moment(str(data.get("now", "")))
            server.clock.set(moment)
            return {"ok": True, "now": moment.isoformat(timespec="seconds")}
        taxpayer_id = resolve_taxpayer(data.get("taxpayer"))
        if self.path == "/v1/declaration":
            period = data.get("period") or self._last_period()
            if not isinstance(period, int) or not 1 <= period % 100 <= 12:
                raise AdminError("period must be YYYYMM")
            server.store.set_declaration(taxpayer_id, period, str(data.get("status")))
            return {"ok": True, "taxpayer_id": taxpayer_id, "period": period}
        if self.path == "/v1/certificate":
            server.store.set_cert_status(taxpayer_id, str(data.get("status")))
            return {"ok": True, "taxpayer_id": taxpayer_id}
        if self.path == "/v1/sessions/expire":
            return {"ok": True, "expired": server.store.expire_sessions(taxpayer_id)}
        if self.path == "/v1/reset":
            server.store.reset_taxpayer(taxpayer_id)
            return {"ok": True, "taxpayer_id": taxpayer_id}
        raise AdminError(f"no such resource {self.path}", 404)

    def _delete(self) -> dict[str, Any]:
        if self.path != "/v1/faults":
            raise AdminError(f"no such resource {self.path}", 404)
        self.server.faults.clear()
        return {"ok": True}

    def _last_period(self) -> int:
        now = self.server.clock.now()
        year, month = previous_month(now.year, now.month)
        return year * 100 + month
