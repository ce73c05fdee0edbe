"""The one way the box sends a PIN: once, and never again after the device rejected it.

Every wrong PIN costs one of a handful of tries and the last one locks the certificate, which
only the tax office can undo. So a rejected PIN is remembered (as a digest) in the journal, which
survives restarts, and is not sent again until a different PIN is configured or entered. Every
reader of a device (the daemon, ``qingka device-info``, ``status`` and ``clear`` without a
daemon) verifies through :class:`PinGuard`; nothing else calls ``verify_pin``.

A PIN entered on the kiosk (or by a technician) is kept in a file of its own, mode 0600, under
the data directory, and wins over the configured one: entering a new PIN is what allows one new
try.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.clearing.journal import Journal, pin_digest
from appliance.devices import errors as dev
from appliance.devices.nisec import NisecDevice
from appliance.storage import fsio
from appliance.storage.errors import StorageError

# Device PINs are short printable ASCII; the bound keeps an entry field from storing a novel.
MAX_PIN_CHARS = 16
_PIN = re.compile(r"[!-~]{1,16}")
# Device numbers name the stored PIN files, so they must be plain names.
_DEVICE_NO = re.compile(r"[0-9A-Za-z]{1,32}")
PINS_DIR = "pins"


class BadPin(ValueError):
    """A PIN that cannot be a device PIN, or a device number that cannot name one."""


@dataclass(frozen=True)
class PinState:
    """What the box knows of a device's PIN, for screens: ok, rejected, locked or unknown."""

    state: str
    tries_left: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"state": self.state, "tries_left": self.tries_left}


def check_pin(pin: str) -> str:
    """Return ``pin`` if it can be a device PIN, else raise :class:`BadPin`."""
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise BadPin(f"a device PIN is 1 to {MAX_PIN_CHARS} printable characters, no spaces")
    return pin


class PinGuard:
    """Verifies PINs on devices, remembering rejections; keeps PINs entered on the box."""

    def __init__(self, journal: Journal, data_dir: Path | None) -> None:
        self.journal = journal
        self.store = data_dir / PINS_DIR if data_dir is not None else None

    def pin_for(self, device_no: str, configured: str) -> str:
        """Return the PIN to use: one entered on the box wins over the configured one."""
        path = self._path(device_no)
        if path is None or not path.is_file():
            return configured
        try:
            text = fsio.read_capped(path, 4 * MAX_PIN_CHARS).decode("ascii").strip()
            return check_pin(text)
        except (OSError, UnicodeDecodeError, ValueError, StorageError):
            # An unreadable or damaged PIN file is as good as none: the configured PIN stands.
            return configured

    def set_pin(self, device_no: str, pin: str) -> None:
        """Keep ``pin`` for the device (mode 0600, atomically): its next use is one new try."""
        check_pin(pin)
        path = self._path(device_no)
        if path is None:
            raise BadPin("this box keeps no entered PINs (no data directory)")
        fsio.ensure_dirs(path.parent, mode=0o700)
        fsio.write_atomic(path, pin.encode("ascii") + b"\n", mode=0o600)

    def state(self, device_no: str, configured: str) -> PinState:
        """Return what is known of the PIN the box would use now."""
        rejection = self.journal.pin_rejection(device_no)
        if rejection is None:
            return PinState("ok")
        digest, tries_left = rejection
        if digest != pin_digest(device_no, self.pin_for(device_no, configured)):
            return PinState("unknown", tries_left)  # a new PIN, not tried yet
        return PinState("locked" if tries_left == 0 else "rejected", tries_left)

    def verify(self, device: NisecDevice, device_no: str, configured: str) -> None:
        """Verify the PIN to use on ``device`` unless this very PIN was rejected before."""
        pin = self.pin_for(device_no, configured)
        rejection = self.journal.pin_rejection(device_no)
        if rejection is not None and rejection[0] == pin_digest(device_no, pin):
            if rejection[1] == 0:
                raise dev.CertificateLocked("", device.url)
            raise dev.PinRejected(rejection[1], device.url)
        try:
            device.verify_pin(pin)
        except dev.PinRejected as exc:
            self.journal.record_pin_rejection(device_no, pin, exc.tries_left)
            raise
        except dev.CertificateLocked:
            self.journal.record_pin_rejection(device_no, pin, 0)
            raise
        if rejection is not None:
            self.journal.clear_pin_rejection(device_no)

    def _path(self, device_no: str) -> Path | None:
        if self.store is None:
            return None
        if not _DEVICE_NO.fullmatch(device_no):
            raise BadPin(f"{device_no!r} is not a device number")
        return self.store / device_no
