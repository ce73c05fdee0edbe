"""The box, wired once: its data on disk and the services over it, built from the configuration.

The daemon, and the commands that work without one (``qingka clear``, ``status``,
``device-info``), all build the same :class:`Box`: one database, journal, backup store, PIN guard
and scheduler, so what a command does in its own process is what the daemon would do.

One process owns a box at a time. Whoever builds a :class:`Box` holds an exclusive lock on its
data directory for as long as it lives: the daemon for its whole life, a command for its run. A
second owner is refused with :class:`BoxBusy` (a plain sentence naming the process), so two
processes never talk to the same tax device, nor journal the same clearing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Any

from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.engine import Emit, Engine, Opener
from appliance.clearing.journal import Journal
from appliance.clearing.pins import PinGuard
from appliance.clearing.specs import POLICY_BUTTON
from appliance.clock import set_zone
from appliance.daemon.config import DaemonConfig
from appliance.devices.models import Identity
from appliance.devices.urls import open_device
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from appliance.storage.errors import StorageError, from_os_error

OWNER_FILE = ".owner"
# How long a command waits for the devices to be read when it works without the daemon.
READ_TIMEOUT_S = 120.0


class BoxBusy(Exception):
    """Another process owns this box's data and devices (normally the daemon)."""

    code = "C-010"

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        self.data_dir = data_dir
        self.pid = pid
        who = f"（进程 {pid}）" if pid else ""
        who_en = f" (process {pid})" if pid else ""
        self.zh = (
            f"另一个清卡程序{who}正在使用本机的数据和税控设备（{data_dir}），"
            "为免同时操作设备，本命令不执行；请稍后再试，或通过清卡服务操作"
        )
        self.en = (
            f"Another QingKa process{who_en} is using this box's data and tax devices "
            f"({data_dir}); to never have two programs on one device, this command does "
            "nothing. Try again in a moment, or go through the running service"
        )
        super().__init__(self.en)

    def text(self, lang: str) -> str:
        """Return the sentence in ``lang``."""
        return self.zh if lang == "zh" else self.en


def take_ownership(data_dir: Path) -> int:
    """Lock ``data_dir`` for this process; return the lock's descriptor (closing it releases).

    Raises :class:`BoxBusy` when another process holds it, :class:`StorageError` when the
    folder cannot be made or opened.
    """
    path = data_dir / OWNER_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise from_os_error(exc, path) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _read_pid(fd)
        os.close(fd)
        raise BoxBusy(data_dir, pid) from None
    except OSError as exc:
        os.close(fd)
        raise from_os_error(exc, path) from exc
    # Who holds it, for the message a second process shows; not needed for the lock itself.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


class Box:
    """Database, journal, backups, PIN guard and scheduler of one box, owned by this process."""

    def __init__(
        self,
        config: DaemonConfig,
        *,
        emit: Emit | None = None,
        opener: Opener = open_device,
        policy: str | None = None,
        resume: bool = True,
    ) -> None:
        self.config = config
        set_zone(config.time_zone)
        self._owner_fd: int | None = take_ownership(config.data_dir)
        try:
            self.db = Database(config.database_path)
        except Exception:
            self._release()
            raise
        self.journal = Journal(self.db)
        self.backups = BackupStore(config.backup_dir, retention_months=config.retention_months)
        self.pins = PinGuard(self.journal, config.data_dir)
        self.engine = Engine(
            list(config.devices),
            journal=self.journal,
            backups=self.backups,
            bureau_factory=self.bureau,
            opener=opener,
            emit=emit or (lambda event: None),
            pins=self.pins,
            calendar=config.calendar,
            policy=policy or config.policy,
            check_interval_s=config.check_interval_s,
            discovered_pin=config.default_pin,
            resume=resume,
        )

    def bureau(self, identity: Identity) -> BureauAdapter:
        """Return a bureau client for one job."""
        return BureauAdapter(self.config.bureau_config())

    def status(self) -> dict[str, Any]:
        """Return the box's status: every device, the policy, the filing month."""
        status = self.engine.status()
        status["data_dir"] = str(self.config.data_dir)
        return status

    def read_devices(self, timeout: float = READ_TIMEOUT_S) -> None:
        """Read every device once now (no clearing), and wait for it."""
        self.engine.tick()
        deadline = time.monotonic() + timeout
        while not self.engine.idle() and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        """Stop the scheduler, close the database, give up ownership."""
        try:
            self.engine.stop()
            self.db.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._owner_fd is not None:
            os.close(self._owner_fd)
            self._owner_fd = None

    def __enter__(self) -> Box:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_box(config: DaemonConfig, **kwargs: Any) -> Box:
    """Build a :class:`Box` for a command that works without the daemon.

    Button-only, and no other device's interrupted job resumes: ``status`` only reads, ``clear
    --device`` clears that device (resuming its own interrupted job). The daemon resumes the
    rest when it starts.
    """
    kwargs.setdefault("policy", POLICY_BUTTON)
    kwargs.setdefault("resume", False)
    return Box(config, **kwargs)


__all__ = ["Box", "BoxBusy", "StorageError", "open_box", "take_ownership"]
