"""The whole simulated bureau wired together: store, rules, HTTPS server and admin API."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path

from appliance.bureau.endpoints import EndpointTable
from appliance.calendar.filing import FilingCalendar, default_calendar
from simulators.bureau import keys
from simulators.bureau.admin import AdminServer
from simulators.bureau.faults import FaultBoard
from simulators.bureau.filing import Filing
from simulators.bureau.ready import ENDPOINTS_FILE, READY_FILE, Ready
from simulators.bureau.server import BureauServer, Stats, tls_context
from simulators.bureau.service import BureauService
from simulators.bureau.store import Store
from simulators.bureau.tls import ensure_tls
from simulators.clock import SimClock

DB_FILE = "bureau.sqlite3"


class BureauSimulator:
    """A bureau simulator serving from background threads until :meth:`stop`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_port: int = 0,
        now: datetime | None = None,
        calendar: FilingCalendar | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.admin_port = admin_port
        self.clock = SimClock(now)
        self.calendar = calendar or default_calendar()
        self.faults = FaultBoard()
        self.stats = Stats()
        self.store: Store | None = None
        self.servers: list[BureauServer | AdminServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> Ready:
        """Bind, start serving and write the readiness files; return where to reach it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tls = ensure_tls(self.data_dir, [self.host])
        self.store = Store(self.data_dir / DB_FILE)
        service = BureauService(self.store, Filing(self.store, self.calendar), self.clock.now)
        bureau = BureauServer(
            (self.host, self.port),
            tls_context(str(tls.server_cert), str(tls.server_key)),
            service,
            self.faults,
            self.stats,
        )
        admin = AdminServer(self.admin_port, self.store, self.faults, self.clock, self.stats)
        self.servers = [bureau, admin]
        for server in self.servers:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        host = f"[{self.host}]" if ":" in self.host else self.host
        url = f"https://{host}:{bureau.server_address[1]}"
        endpoints = dict(EndpointTable.per_authority(url).urls)
        ready = Ready(
            url=url,
            admin_url=f"http://127.0.0.1:{admin.server_address[1]}",
            ca_cert=tls.ca_cert.resolve(),
            endpoints=endpoints,
            bureau_public_key=keys.bureau_public_point().hex(),
            pid=os.getpid(),
        )
        _write_atomic(self.data_dir / ENDPOINTS_FILE, json.dumps(endpoints, indent=2))
        _write_atomic(self.data_dir / READY_FILE, ready.to_json())
        return ready

    def stop(self) -> None:
        """Stop serving, end held connections and close the store."""
        for server in self.servers:
            if isinstance(server, BureauServer):
                server.stopping.set()
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        (self.data_dir / READY_FILE).unlink(missing_ok=True)
        if self.store is not None:
            self.store.close()
            self.store = None


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.replace(path)
