"""Bulk pipes of a real (or simulated) USB tax device, through pyusb.

The simulator plugs in here as a pyusb *backend object*, so the code below is exactly what runs
against a real UKey on the box: find, set configuration, detach the kernel's usb-storage driver,
claim the mass-storage interface, bulk transfers. pyusb's errors become device errors here, by
errno, so nothing above has to know pyusb.
"""

from __future__ import annotations

import errno
from typing import Any

import usb.core
import usb.util

from appliance.devices.errors import (
    DeviceBusy,
    DeviceError,
    DeviceGone,
    DeviceTimeout,
    ProtocolError,
    Stalled,
)
from appliance.devices.pipe import DEFAULT_TIMEOUT_MS, UsbDescriptor

MASS_STORAGE = (0x08, 0x06, 0x50)  # class, subclass SCSI, protocol bulk-only
# The class request of bulk-only transport that resets the device's transport (BOT §3.1).
_MASS_STORAGE_RESET = (0x21, 0xFF)
_GONE = {errno.ENODEV, errno.ENOENT, errno.ESHUTDOWN, errno.EIO, errno.ENXIO}
_BUSY = {errno.EBUSY, errno.EACCES, errno.EPERM}


def translate(
    exc: usb.core.USBError, name: str, doing: str, endpoint: str | None = None
) -> DeviceError:
    """Return the device error a pyusb error stands for.

    ``endpoint`` names the bulk endpoint the failed request was for (``"in"`` or ``"out"``), so
    a STALL (EPIPE) there is a :class:`Stalled` the session can recover from; a STALL of a
    control request (a reset, say) is a protocol error.
    """
    if isinstance(exc, usb.core.USBTimeoutError) or exc.errno == errno.ETIMEDOUT:
        return DeviceTimeout(f"no answer while {doing}", name)
    if exc.errno == errno.EPIPE:
        if endpoint is not None:
            return Stalled(endpoint, name, f"{endpoint} endpoint stalled while {doing}")
        return ProtocolError(f"the device stalled a control request while {doing}", name)
    if exc.errno in _BUSY:
        hint = " (no permission: is the udev rule installed?)" if exc.errno == errno.EACCES else ""
        return DeviceBusy(f"device in use by another program while {doing}{hint}", name)
    if exc.errno in _GONE:
        return DeviceGone(f"device disconnected while {doing}", name)
    return DeviceGone(f"USB error while {doing}: {exc}", name)


def _string(dev: Any, attribute: str) -> str:
    try:
        value = getattr(dev, attribute)
    except (usb.core.USBError, ValueError, NotImplementedError):
        return ""
    return str(value or "")


def describe(dev: Any) -> UsbDescriptor:
    """Return the descriptor facts of a pyusb device."""
    return UsbDescriptor(
        vid=int(dev.idVendor),
        pid=int(dev.idProduct),
        manufacturer=_string(dev, "manufacturer"),
        product=_string(dev, "product"),
        serial=_string(dev, "serial_number"),
    )


def find_devices(backend: Any = None, vid: int | None = None, pid: int | None = None) -> list[Any]:
    """Return the pyusb devices present (none, rather than an error, without libusb)."""
    match: dict[str, int] = {}
    if vid is not None:
        match["idVendor"] = vid
    if pid is not None:
        match["idProduct"] = pid
    try:
        return list(usb.core.find(find_all=True, backend=backend, **match))
    except usb.core.NoBackendError:
        return []


class UsbPipe:
    """The bulk endpoints of one mass-storage tax device."""

    def __init__(self, dev: Any, name: str) -> None:
        self.name = name
        self._dev = dev
        self.descriptor = describe(dev)
        self._interface = -1
        try:
            self._claim()
        except usb.core.USBError as exc:
            raise translate(exc, name, "opening the device") from exc

    @classmethod
    def open(
        cls, vid: int, pid: int, serial: str | None = None, backend: Any = None, name: str = ""
    ) -> UsbPipe:
        """Open the first device with this VID:PID (and serial number, when given)."""
        name = name or f"usb://{vid:04x}:{pid:04x}"
        for dev in find_devices(backend, vid, pid):
            if serial is None or _string(dev, "serial_number") == serial:
                return cls(dev, name)
        which = f" with serial {serial}" if serial else ""
        raise DeviceGone(f"no device {vid:04x}:{pid:04x}{which} is plugged in", name)

    def _claim(self) -> None:
        dev = self._dev
        try:
            config = dev.get_active_configuration()
        except (usb.core.USBError, NotImplementedError):
            config = None
        if config is None:
            dev.set_configuration()
            config = dev.get_active_configuration()
        interface = None
        for candidate in config:
            triple = (
                candidate.bInterfaceClass,
                candidate.bInterfaceSubClass,
                candidate.bInterfaceProtocol,
            )
            if triple == MASS_STORAGE:
                interface = candidate
                break
        if interface is None:
            raise DeviceGone("device has no bulk-only mass-storage interface", self.name)
        number = interface.bInterfaceNumber
        try:
            if dev.is_kernel_driver_active(number):
                dev.detach_kernel_driver(number)
        except (NotImplementedError, usb.core.USBError):
            pass  # no kernel driver to detach (or a backend that has none): nothing to do
        usb.util.claim_interface(dev, number)
        self._interface = number

        def direction(wanted: int) -> Any:
            return lambda ep: usb.util.endpoint_direction(ep.bEndpointAddress) == wanted

        self._ep_out = usb.util.find_descriptor(
            interface, custom_match=direction(usb.util.ENDPOINT_OUT)
        )
        self._ep_in = usb.util.find_descriptor(
            interface, custom_match=direction(usb.util.ENDPOINT_IN)
        )
        if self._ep_out is None or self._ep_in is None:
            raise DeviceGone("mass-storage interface lacks its bulk endpoints", self.name)

    def write_out(self, data: bytes, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Send one OUT transfer."""
        try:
            written = self._ep_out.write(data, max(1, timeout_ms))
        except usb.core.USBError as exc:
            raise translate(exc, self.name, "writing to the device", "out") from exc
        if written != len(data):
            raise DeviceGone(f"short write: {written} of {len(data)} bytes", self.name)

    def read_in(self, max_length: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bytes:
        """Receive one IN transfer."""
        try:
            return bytes(self._ep_in.read(max_length, max(1, timeout_ms)))
        except usb.core.USBError as exc:
            raise translate(exc, self.name, "reading from the device", "in") from exc

    def clear_stall(self, endpoint: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Clear the halt of one endpoint (the kernel bounds the control request itself)."""
        ep = self._ep_in if endpoint == "in" else self._ep_out
        try:
            ep.clear_halt()
        except usb.core.USBError as exc:
            raise translate(exc, self.name, f"clearing the {endpoint} halt", endpoint) from exc

    def reset(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Reset recovery (BOT §5.3.4): mass storage reset, then clear the halt of both pipes.

        Not a USB port reset, which makes the device enumerate again and can leave this handle
        pointing at nothing.
        """
        request_type, request = _MASS_STORAGE_RESET
        try:
            self._dev.ctrl_transfer(
                request_type, request, 0, max(self._interface, 0), None, max(1, timeout_ms)
            )
        except usb.core.USBError as exc:
            raise translate(exc, self.name, "resetting the device") from exc
        self.clear_stall("in", timeout_ms)
        self.clear_stall("out", timeout_ms)

    def close(self) -> None:
        """Release the interface and pyusb's resources; never raises."""
        try:
            if self._interface >= 0:
                usb.util.release_interface(self._dev, self._interface)
            usb.util.dispose_resources(self._dev)
        except (usb.core.USBError, ValueError, NotImplementedError):
            pass  # the device may already be gone: releasing is best effort
        self._interface = -1
