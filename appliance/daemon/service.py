"""The daemon: the engine, the local API and systemd, wired together in one event loop.

The working loop ticks the engine about once a second and pings the systemd watchdog after each
tick, so the watchdog sees the loop itself alive, not a timer beside it. SIGTERM stops new work,
lets a running job reach its next step boundary (the journal is consistent there), then closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

from appliance.api.errors import ApiError
from appliance.api.schema import Arg, ArgSchema
from appliance.api.server import ApiServer
from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.engine import Engine, JobRunning, UnknownDevice
from appliance.clearing.journal import Journal
from appliance.clock import clock
from appliance.daemon import diagnostics, logs
from appliance.daemon.config import DaemonConfig
from appliance.daemon.logs import RECENT_LINES
from appliance.daemon.notify import Notifier
from appliance.devices.ids import lookup
from appliance.devices.models import Identity
from appliance.devices.urls import open_device
from appliance.devices.usb_pipe import describe, find_devices
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from appliance.storage.errors import StorageError

_log = logging.getLogger("qingka.daemon")

TICK_S = 1.0
STOP_TIMEOUT_S = 60.0
# Backups past retention (and exported) are pruned at start and once a day after.
PRUNE_INTERVAL_S = 24 * 3600.0


def discover_usb() -> list[str]:
    """Return the URLs of the known tax devices plugged in."""
    urls = []
    for dev in find_devices():
        desc = describe(dev)
        if lookup(desc.vid, desc.pid, desc.manufacturer) is not None:
            suffix = f"?serial={desc.serial}" if desc.serial else ""
            urls.append(f"usb://{desc.vid_pid}{suffix}")
    return urls


class Daemon:
    """Everything the running box holds."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database_path)
        self.journal = Journal(self.db)
        self.backups = BackupStore(config.backup_dir)
        self.server = ApiServer(config.api_socket, mode=config.api_mode, group=config.api_group)
        self.notifier = Notifier.from_env()
        self.started = time.monotonic()
        self.engine = Engine(
            list(config.devices),
            journal=self.journal,
            backups=self.backups,
            bureau_factory=self._bureau,
            opener=open_device,
            emit=self._emit,
            policy=config.policy,
            check_interval_s=config.check_interval_s,
            discover=discover_usb if config.usb_auto_discover else None,
            discovered_pin=config.default_pin,
        )
        self._register()

    def _bureau(self, identity: Identity) -> BureauAdapter:
        return BureauAdapter(self.config.bureau)

    def _emit(self, event: dict[str, Any]) -> None:
        fields = dict(event)
        kind = str(fields.pop("event", "event"))
        _log.info(kind, extra={"fields": {"event": kind, **fields}})
        self.server.publish(kind, fields)

    # -- API commands --------------------------------------------------------------------------

    def _register(self) -> None:
        device_arg = Arg("device", str, required=False, max_len=300)
        self.server.register("status", self._status, ArgSchema())
        self.server.register("devices", self._devices, ArgSchema())
        self.server.register("clear", self._clear, ArgSchema(device_arg))
        self.server.register(
            "history",
            self._history,
            ArgSchema(
                device_arg, Arg("limit", int, required=False, default=50, minimum=1, maximum=500)
            ),
        )
        self.server.register("backups", self._backups, ArgSchema())
        self.server.register(
            "export_backups",
            self._export_backups,
            ArgSchema(Arg("directory", str, max_len=4096), device_arg),
        )
        self.server.register(
            "logs",
            self._logs,
            ArgSchema(
                Arg("lines", int, required=False, default=200, minimum=1, maximum=RECENT_LINES)
            ),
        )
        self.server.register("diagnostics", self._diagnostics, ArgSchema())

    def _status(self, args: dict[str, Any]) -> dict[str, Any]:
        status = self.engine.status()
        status["uptime_s"] = round(time.monotonic() - self.started, 1)
        status["data_dir"] = str(self.config.data_dir)
        return status

    def _devices(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.engine.status()["devices"])

    def _clear(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            urls = self.engine.request_clear(args.get("device"))
        except UnknownDevice as exc:
            raise ApiError("A-404", f"no such device: {exc}", f"没有这个设备：{exc}") from None
        except JobRunning as exc:
            raise ApiError(
                "A-409", f"a clearing is already running on {exc}", "该设备正在清卡，请稍候"
            ) from None
        return {"queued": urls}

    def _history(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self.journal.history(args.get("device"), int(args.get("limit") or 50))

    def _backups(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return [period.to_json() for period in self.backups.periods()]

    def _export_backups(self, args: dict[str, Any]) -> dict[str, Any]:
        directory = Path(args["directory"])
        if not directory.is_absolute():
            raise ApiError(
                "A-400", "the export directory must be an absolute path", "导出目录必须是绝对路径"
            )
        try:
            path = self.backups.export(directory, args.get("device"))
        except StorageError as exc:
            what_zh, _ = exc.text("zh")
            what_en, _ = exc.text("en")
            raise ApiError(exc.code, what_en, what_zh) from None
        return {"path": str(path)}

    def _logs(self, args: dict[str, Any]) -> list[str]:
        return list(logs.recent.lines)[-int(args.get("lines") or RECENT_LINES) :]

    def _diagnostics(self, args: dict[str, Any]) -> dict[str, Any]:
        return diagnostics.collect(self.config, self.started)

    def _prune(self) -> None:
        """Apply the retention to the backups (never an unexported or recent one)."""
        try:
            removed = self.backups.prune(clock().today())
        except StorageError as exc:
            _log.warning("pruning backups failed", extra={"fields": {"code": exc.code}})
            return
        for period in removed:
            _log.info("pruned", extra={"fields": {"backup": period.to_json()}})

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await self.server.start()
        self.notifier.ready()
        self.notifier.status("serving")
        _log.info("ready", extra={"fields": {"socket": str(self.config.api_socket)}})
        pruned_at: float | None = None
        try:
            while not stop.is_set():
                self.engine.tick()
                self.notifier.watchdog()
                if pruned_at is None or time.monotonic() - pruned_at >= PRUNE_INTERVAL_S:
                    pruned_at = time.monotonic()
                    loop.run_in_executor(None, self._prune)
                try:
                    await asyncio.wait_for(stop.wait(), TICK_S)
                except TimeoutError:
                    pass
        finally:
            self.notifier.stopping()
            _log.info("stopping")
            await asyncio.to_thread(self.engine.stop, STOP_TIMEOUT_S)
            await self.server.close()
            self.db.close()
            _log.info("stopped")


def run_daemon(config: DaemonConfig) -> None:
    """Run the daemon in a fresh event loop."""
    asyncio.run(Daemon(config).run())
