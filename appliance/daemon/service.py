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
from typing import TYPE_CHECKING, Any

from appliance.api.errors import ApiError, SocketPathBusy
from appliance.api.export_dir import check_export_dir
from appliance.api.schema import Arg, ArgSchema
from appliance.api.server import ApiServer
from appliance.box import Box, BoxBusy
from appliance.clearing.engine import JobRunning, UnknownDevice
from appliance.clearing.pins import MAX_PIN_CHARS, BadPin
from appliance.clock import clock
from appliance.daemon import diagnostics, logs
from appliance.daemon.config import DaemonConfig, check_startable
from appliance.daemon.logs import RECENT_LINES
from appliance.daemon.notify import Notifier
from appliance.daemon.startup import box_failure, check_socket_folder, socket_failure
from appliance.devices.errors import DeviceError
from appliance.devices.watch import UsbWatcher, udev_source
from appliance.storage.errors import StorageError

if TYPE_CHECKING:
    from appliance.health.publisher import FleetPublisher

_log = logging.getLogger("qingka.daemon")

TICK_S = 1.0
STOP_TIMEOUT_S = 60.0
# Backups past retention (and exported) are pruned at start and once a day after.
PRUNE_INTERVAL_S = 24 * 3600.0


class Daemon:
    """Everything the running box holds."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.fleet: FleetPublisher | None = None
        check_startable(config)  # ConfigError: the same checks as `qingka config check`
        check_socket_folder(config.api_socket)
        # Owning the box (its data directory) for as long as the daemon lives: no second
        # process clears, reads or verifies a PIN on its devices meanwhile.
        try:
            self.box = Box(config, emit=self._emit)
        except (BoxBusy, StorageError) as exc:
            raise box_failure(exc) from exc
        self.journal = self.box.journal
        self.backups = self.box.backups
        self.engine = self.box.engine
        self.server = ApiServer(config.api_socket, mode=config.api_mode, group=config.api_group)
        self.notifier = Notifier.from_env()
        self.started = time.monotonic()
        # Plug-ins come from udev events on a thread of their own, never from the loop.
        self.watcher = (
            UsbWatcher(self.engine.plugged, source=udev_source())
            if config.usb_auto_discover
            else None
        )
        self._register()
        # -- fleet (MQTT), only when [fleet] is configured: appliance/health/bridge.py --------
        if config.fleet is not None:
            from appliance.health.bridge import start_fleet  # noqa: PLC0415 - paho only then

            self.fleet = start_fleet(self)

    def _emit(self, event: dict[str, Any]) -> None:
        fields = dict(event)
        kind = str(fields.pop("event", "event"))
        _log.info(kind, extra={"fields": {"event": kind, **fields}})
        # Every event carries the moment it is published in its envelope's "at"; an outcome's
        # own "at" (when the attempt ended) is that same moment.
        fields.pop("at", None)
        self.server.publish(kind, fields)
        if self.fleet is not None:
            self.fleet.event(event)

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
        self.server.register(
            "set_pin",
            self._set_pin,
            ArgSchema(Arg("device", str, max_len=300), Arg("pin", str, max_len=MAX_PIN_CHARS)),
        )

    def _status(self, args: dict[str, Any]) -> dict[str, Any]:
        status = self.box.status()
        status["uptime_s"] = round(time.monotonic() - self.started, 1)
        return status

    def _devices(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.engine.status()["devices"])

    def _clear(self, args: dict[str, Any]) -> dict[str, Any]:
        requested_at = clock().stamp("milliseconds")
        try:
            urls = self.engine.request_clear(args.get("device"), "api")
        except UnknownDevice as exc:
            raise ApiError("A-404", f"no such device: {exc}", f"没有这个设备：{exc}") from None
        except JobRunning as exc:
            raise ApiError(
                "A-409", f"a clearing is already running on {exc}", "该设备正在清卡，请稍候"
            ) from None
        # When the request was journaled: a follower that loses the daemon reads the outcome
        # from the status afterwards, and knows it is this request's by its time.
        return {"queued": urls, "requested_at": requested_at}

    def _set_pin(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.engine.set_pin(args["device"], args["pin"])
        except UnknownDevice as exc:
            raise ApiError("A-404", f"no such device: {exc}", f"没有这个设备：{exc}") from None
        except JobRunning as exc:
            raise ApiError(
                "A-409",
                f"device {exc} is busy; enter the PIN again when it is idle",
                "设备正在使用中，请稍后再输入密码",
            ) from None
        except BadPin as exc:
            raise ApiError(
                "A-400", str(exc), "设备密码为 1 到 16 位字母、数字或符号，不含空格"
            ) from None
        except DeviceError as exc:
            what_zh, _ = exc.text("zh")
            what_en, _ = exc.text("en")
            raise ApiError(exc.code, what_en, what_zh) from None
        except StorageError as exc:
            what_zh, _ = exc.text("zh")
            what_en, _ = exc.text("en")
            raise ApiError(exc.code, what_en, what_zh) from None

    def _history(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self.journal.history(args.get("device"), int(args.get("limit") or 50))

    def _backups(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return [period.to_json() for period in self.backups.periods()]

    def _export_backups(self, args: dict[str, Any]) -> dict[str, Any]:
        # Only below the configured export location ([backup] export_dir, where sticks are
        # mounted): a client must not make the daemon write the tax data anywhere it can.
        directory = check_export_dir(Path(args["directory"]), self.config.export_dir)
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
        fleet = self.fleet.view() if self.fleet is not None else None
        return diagnostics.collect(self.config, self.started, fleet)

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
        try:
            await self.server.start()
        except (SocketPathBusy, OSError) as exc:
            await self._abandon()
            raise socket_failure(self.config.api_socket, exc) from exc
        if self.watcher is not None:
            self.watcher.start()
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
            if self.watcher is not None:
                await asyncio.to_thread(self.watcher.stop)
            await asyncio.to_thread(self.engine.stop, STOP_TIMEOUT_S)
            await self.server.close()
            if self.fleet is not None:
                await asyncio.to_thread(self.fleet.stop)
            self.box.close()
            _log.info("stopped")

    async def _abandon(self) -> None:
        """Release what was taken before the start failed (nothing has run yet)."""
        if self.fleet is not None:
            await asyncio.to_thread(self.fleet.stop)
        self.box.close()


def run_daemon(config: DaemonConfig) -> None:
    """Run the daemon in a fresh event loop.

    Raises ConfigError or :class:`~appliance.daemon.startup.StartFailed` when it cannot start.
    """
    asyncio.run(Daemon(config).run())
