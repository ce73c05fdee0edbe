"""Plug-in and unplug of tax devices, from udev events, on a thread of its own.

The daemon learns what is on the USB bus from udev (``pyudev``'s netlink monitor): an ``add``
or ``remove`` of a USB device whose VID:PID is one of the known tax devices' makes the watcher
list the bus once and hand the result to the scheduler. Nothing polls the bus every second, and
nothing of this runs on the daemon's event loop. Where udev is absent (a container, a test
machine), the watcher lists the bus every :data:`FALLBACK_POLL_S` seconds instead, still on its
own thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from appliance.devices.ids import known_vid_pids, lookup

_log = logging.getLogger(__name__)

# Without udev events, how often the bus is listed (a plug-in is noticed within this).
FALLBACK_POLL_S = 5.0
# udev's runtime folder: present when a udev daemon runs and sends events.
UDEV_RUNTIME = Path("/run/udev/control")

Listener = Callable[[list[str]], None]


class EventSource(Protocol):
    """Where plug events come from: ``poll(timeout)`` returns one, or None after ``timeout``."""

    def poll(self, timeout: float) -> Any:
        """Return the next event (anything with ``action`` and ``properties``) or None."""


def list_tax_devices() -> list[str]:
    """Return the ``usb://`` URLs of the known tax devices on the bus (descriptors only)."""
    from appliance.devices.usb_pipe import describe, find_devices  # noqa: PLC0415 - pyusb

    urls = []
    for dev in find_devices():
        desc = describe(dev)
        if lookup(desc.vid, desc.pid, desc.manufacturer) is not None:
            suffix = f"?serial={desc.serial}" if desc.serial else ""
            urls.append(f"usb://{desc.vid_pid}{suffix}")
    return urls


def is_tax_device_event(properties: dict[str, str]) -> bool:
    """Tell whether a udev event's properties describe one of the known tax devices."""
    try:
        vid = int(properties.get("ID_VENDOR_ID", ""), 16)
        pid = int(properties.get("ID_MODEL_ID", ""), 16)
    except ValueError:
        product = properties.get("PRODUCT", "")  # "1432/7d0/100" on usb_device events
        parts = product.split("/")
        try:
            vid, pid = int(parts[0], 16), int(parts[1], 16)
        except (ValueError, IndexError):
            return False
    return (vid, pid) in known_vid_pids()


def udev_source() -> EventSource | None:
    """Return a udev monitor of USB devices, or None where udev does not run here."""
    if not UDEV_RUNTIME.exists():
        return None
    try:
        import pyudev  # noqa: PLC0415 - only where udev runs

        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context)
        monitor.filter_by(subsystem="usb", device_type="usb_device")
        monitor.start()
    except (ImportError, OSError, ValueError) as exc:
        _log.warning("udev events unavailable (%s); listing the USB bus every few seconds", exc)
        return None
    return monitor  # type: ignore[no-any-return]


class UsbWatcher:
    """Tells ``listener`` the tax devices on the bus at start and after every plug event."""

    def __init__(
        self,
        listener: Listener,
        *,
        source: EventSource | None = None,
        enumerate_bus: Callable[[], Iterable[str]] = list_tax_devices,
        poll_s: float = FALLBACK_POLL_S,
    ) -> None:
        self.listener = listener
        self.source = source
        self.enumerate_bus = enumerate_bus
        self.poll_s = poll_s
        self.scans = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def uses_events(self) -> bool:
        """Tell whether plug-ins come from udev events (else from listing the bus)."""
        return self.source is not None

    def start(self) -> None:
        """Start watching on a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="usb watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _scan(self) -> None:
        try:
            urls = list(self.enumerate_bus())
        except Exception:  # noqa: BLE001 - a hiccup of the USB stack must not end the watching
            _log.exception("listing the USB bus failed")
            return
        self.scans += 1
        self.listener(urls)

    def _run(self) -> None:
        self._scan()
        while not self._stop.is_set():
            if self.source is None:
                self._stop.wait(self.poll_s)
                if not self._stop.is_set():
                    self._scan()
                continue
            try:
                event = self.source.poll(timeout=1.0)
            except Exception:  # noqa: BLE001 - a broken netlink socket: fall back to listing
                _log.exception("udev events failed; listing the USB bus every few seconds")
                self.source = None
                continue
            if event is None:
                continue
            properties = dict(getattr(event, "properties", {}) or {})
            if getattr(event, "action", None) in ("add", "remove") and is_tax_device_event(
                properties
            ):
                self._scan()
