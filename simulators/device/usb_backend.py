"""The simulated device as a pyusb backend: the real pyusb code path runs unchanged against it.

``usb.core.find(idVendor=..., idProduct=..., backend=backend)`` finds the device; descriptors,
string descriptors, configuration, interface claims, bulk transfers, halts and resets behave
as libusb's do for a full-speed UKey, errors included (``USBError`` with the errno libusb would
give). Bulk transfers go to the bulk-only :class:`~simulators.device.core.target.Target`; the
latency model and the fault plan act on the way.

A USB reset (or the bulk-only mass storage reset) restarts the transport and keeps the tax
application's session, as the UKey's card chip keeps power through it; unplugging ends the
session, and a handle opened before an unplug stays dead after :meth:`SimBackend.replug`, as a
libusb handle to a vanished device does.
"""

from __future__ import annotations

import errno
import threading
from array import array
from dataclasses import dataclass, field
from typing import Any

import usb.backend
import usb.core

from appliance.protocol import bot, cdb, sense
from appliance.protocol.errors import ProtocolError
from simulators.device import descriptors as d
from simulators.device.core import target as t
from simulators.device.device import SimDevice
from simulators.device.faults import FaultPlan
from simulators.device.latency import Latency

# Fault kinds that strike a vendor command when its CBW arrives.
COMMAND_FAULTS = (
    "unplug",
    "unplug-after",
    "corrupt-check",
    "corrupt-response",
    "busy",
    "stall",
    "timeout",
    "drift",
)
CHECK_BYTE_OFFSET = 15 + 8  # CBW header (15 bytes) + CDB byte 8
BUS = 1


@dataclass(frozen=True)
class SimDeviceId:
    """What enumeration yields for the simulated device."""

    generation: int


@dataclass
class SimHandle:
    """An open handle; valid while its device stays plugged in."""

    generation: int


@dataclass
class _Armed:
    """Faults struck by the current command that act on its later transfers."""

    unplug_on_data: bool = False
    unplug_on_read: bool = False
    timeout: bool = False
    corrupt_response: bool = False
    op: str = ""
    names: list[str] = field(default_factory=list)


def _error(message: str, code: int) -> usb.core.USBError:
    return usb.core.USBError(message, None, code)


class SimBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb ships no type hints
    """A pyusb backend presenting one simulated tax UKey."""

    def __init__(
        self,
        device: SimDevice,
        latency: Latency | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        super().__init__()
        self.device = device
        self.latency = latency or Latency()
        self.faults = faults or FaultPlan()
        self.vid = d.VENDOR_ID
        self.pid = d.PRODUCT_ID
        self.manufacturer = d.MANUFACTURER
        self.product = d.PRODUCT
        self.serial = str(device.state["identity"]["device_no"])
        self.plugged = True
        self.address = 1
        self.configuration = d.CONFIGURATION_VALUE
        self.kernel_driver = True
        self.claimed: set[int] = set()
        self.struck: list[str] = []  # every fault that fired, in order: "kind:op" or "claim-busy"
        self._generation = 1
        self._armed = _Armed()
        self._lock = threading.RLock()

    # -- what tests and the benchmark read ------------------------------------------------

    @property
    def modeled_seconds(self) -> float:
        """Return the device time the latency model accounted (at scale 1)."""
        return self.latency.modeled_seconds

    def unplug(self) -> None:
        """Pull the device out: it leaves enumeration, handles die, the session ends."""
        with self._lock:
            self.plugged = False
            self._generation += 1
            self.claimed.clear()
            self._armed = _Armed()
            self.device.power_cycle()

    def replug(self) -> None:
        """Plug the device back in: it enumerates again at a new address, state unchanged."""
        with self._lock:
            if self.plugged:
                return
            self.plugged = True
            self.address += 1
            self.configuration = d.CONFIGURATION_VALUE
            self.kernel_driver = True

    # -- enumeration and descriptors --------------------------------------------------------

    def enumerate_devices(self) -> list[SimDeviceId]:
        """Yield the device while it is plugged in."""
        with self._lock:
            return [SimDeviceId(self._generation)] if self.plugged else []

    def get_parent(self, dev: SimDeviceId) -> None:
        """Return no parent: the device hangs off a root port."""
        return

    def get_device_descriptor(self, dev: SimDeviceId) -> d.DeviceDescriptor:
        """Return the device descriptor."""
        return d.DeviceDescriptor(self.vid, self.pid, bus=BUS, address=self.address)

    def get_configuration_descriptor(
        self, dev: SimDeviceId, config: int
    ) -> d.ConfigurationDescriptor:
        """Return configuration ``config`` (the only one is 0)."""
        if config != 0:
            raise IndexError(f"no configuration {config}")
        return d.CONFIGURATION

    def get_interface_descriptor(
        self, dev: SimDeviceId, intf: int, alt: int, config: int
    ) -> d.InterfaceDescriptor:
        """Return the mass-storage interface (one interface, one alternate setting)."""
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError(f"no interface {intf} alt {alt} in configuration {config}")
        return d.INTERFACE

    def get_endpoint_descriptor(
        self, dev: SimDeviceId, ep: int, intf: int, alt: int, config: int
    ) -> d.EndpointDescriptor:
        """Return bulk IN (index 0) or bulk OUT (index 1)."""
        if (intf, alt, config) != (0, 0, 0) or not 0 <= ep < len(d.ENDPOINTS):
            raise IndexError(f"no endpoint {ep}")
        return d.ENDPOINTS[ep]

    # -- handles, configuration, interfaces -------------------------------------------------

    def _alive(self, handle: SimHandle | SimDeviceId) -> None:
        if not self.plugged or handle.generation != self._generation:
            raise _error("No such device (it may have been disconnected)", errno.ENODEV)

    def open_device(self, dev: SimDeviceId) -> SimHandle:
        """Open the device."""
        with self._lock:
            self._alive(dev)
            return SimHandle(self._generation)

    def close_device(self, dev_handle: SimHandle) -> None:
        """Close a handle; its claims go with it."""
        with self._lock:
            if dev_handle.generation == self._generation:
                self.claimed.clear()

    def set_configuration(self, dev_handle: SimHandle, config_value: int) -> None:
        """Select configuration 1 (or 0, unconfigured)."""
        with self._lock:
            self._alive(dev_handle)
            if config_value not in (0, d.CONFIGURATION_VALUE):
                raise _error(f"no configuration {config_value}", errno.ENOENT)
            self.configuration = config_value

    def get_configuration(self, dev_handle: SimHandle) -> int:
        """Return the active configuration value."""
        with self._lock:
            self._alive(dev_handle)
            return self.configuration

    def set_interface_altsetting(self, dev_handle: SimHandle, intf: int, altsetting: int) -> None:
        """Accept alternate setting 0 of interface 0, the only one there is."""
        with self._lock:
            self._alive(dev_handle)
            if (intf, altsetting) != (d.INTERFACE_NUMBER, 0):
                raise _error(f"no alternate setting {altsetting} of {intf}", errno.ENOENT)

    def claim_interface(self, dev_handle: SimHandle, intf: int) -> None:
        """Claim the interface; EBUSY while usb-storage (or another program) holds it."""
        with self._lock:
            self._alive(dev_handle)
            if intf != d.INTERFACE_NUMBER:
                raise _error(f"no interface {intf}", errno.ENOENT)
            for _ in self.faults.strike(("claim-busy",), None):
                self.struck.append("claim-busy")
                raise _error("Resource busy (claimed by another program)", errno.EBUSY)
            if self.kernel_driver:
                raise _error("Resource busy (usb-storage is bound to it)", errno.EBUSY)
            self.claimed.add(intf)

    def release_interface(self, dev_handle: SimHandle, intf: int) -> None:
        """Release a claimed interface."""
        with self._lock:
            self._alive(dev_handle)
            self.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle: SimHandle, intf: int) -> bool:
        """Tell whether usb-storage is bound (it is, after every plug-in, until detached)."""
        with self._lock:
            self._alive(dev_handle)
            return self.kernel_driver

    def detach_kernel_driver(self, dev_handle: SimHandle, intf: int) -> None:
        """Unbind usb-storage."""
        with self._lock:
            self._alive(dev_handle)
            if not self.kernel_driver:
                raise _error("no kernel driver bound", errno.ENOENT)
            self.kernel_driver = False

    def attach_kernel_driver(self, dev_handle: SimHandle, intf: int) -> None:
        """Bind usb-storage again."""
        with self._lock:
            self._alive(dev_handle)
            if intf in self.claimed:
                raise _error("interface is claimed", errno.EBUSY)
            self.kernel_driver = True

    # -- bulk transfers --------------------------------------------------------------------

    def bulk_write(
        self, dev_handle: SimHandle, ep: int, intf: int, data: array[int], timeout: int
    ) -> int:
        """Send one OUT transfer to the target."""
        with self._lock:
            self._alive(dev_handle)
            if ep != d.EP_OUT:
                raise _error(f"endpoint 0x{ep:02x} is not bulk OUT", errno.EINVAL)
            raw = bytearray(bytes(data))
            stall_after = False
            if self.device.target.phase == t.DATA_OUT:
                if self._armed.unplug_on_data:
                    self._vanish("data OUT")
            else:
                stall_after = self._strike(raw)
            self.latency.spend(self.latency.transfer_seconds(len(raw)))
            try:
                self.device.target.bulk_out(bytes(raw))
            except t.Stall as exc:
                raise _error(f"Pipe error (OUT endpoint halted: {exc})", errno.EPIPE) from exc
            if stall_after:
                self.device.target.stall_in()
            return len(raw)

    def _strike(self, cbw: bytearray) -> bool:
        """Apply the faults a new CBW triggers; return whether IN must stall after it."""
        self._armed = _Armed()
        try:
            block = bot.decode_cbw(bytes(cbw)).cdb
        except ProtocolError:
            return False  # garbage: the target halts, no fault needed
        op = "request_sense" if cdb.is_request_sense(block) else t.op_name(block)
        self._armed.op = op
        stall = False
        for fault in self.faults.strike(COMMAND_FAULTS, op):
            self.struck.append(f"{fault.kind}:{op}")
            kind = fault.kind
            if kind == "corrupt-check":
                cbw[CHECK_BYTE_OFFSET] ^= 0xFF
            elif kind == "busy":
                self.device.handler.force_status(sense.SW_BUSY)
            elif kind == "drift":
                self.device.shift_clock(fault.seconds)
            elif kind == "unplug":
                if len(block) == cdb.CDB_SIZE and int.from_bytes(block[4:6], "big"):
                    self._armed.unplug_on_data = True
                else:
                    self._vanish("CBW")
            elif kind == "unplug-after":
                self._armed.unplug_on_read = True
            elif kind == "stall":
                stall = True
            elif kind == "timeout":
                self._armed.timeout = True
            elif kind == "corrupt-response":
                self._armed.corrupt_response = True
        return stall

    def _vanish(self, during: str) -> None:
        self.unplug()
        raise _error(f"No such device (unplugged during the {during})", errno.ENODEV)

    def bulk_read(
        self, dev_handle: SimHandle, ep: int, intf: int, buff: array[int], timeout: int
    ) -> int:
        """Answer one IN transfer from the target."""
        with self._lock:
            self._alive(dev_handle)
            if ep != d.EP_IN:
                raise _error(f"endpoint 0x{ep:02x} is not bulk IN", errno.EINVAL)
            armed = self._armed
            if armed.unplug_on_read:
                self._vanish("answer")
            if armed.timeout:
                armed.timeout = False
                self.latency.spend(timeout / 1000)
                raise usb.core.USBTimeoutError("Operation timed out", None, errno.ETIMEDOUT)
            target = self.device.target
            phase = target.phase
            if phase == t.STATUS and not target.in_halted:
                self.latency.spend(self.latency.command_seconds(armed.op))
            try:
                chunk = bytearray(target.bulk_in(len(buff)))
            except t.Stall as exc:
                raise _error(f"Pipe error (IN endpoint halted: {exc})", errno.EPIPE) from exc
            except t.NotReady as exc:
                self.latency.spend(timeout / 1000)
                raise usb.core.USBTimeoutError(
                    f"Operation timed out ({exc})", None, errno.ETIMEDOUT
                ) from exc
            except t.Overflow as exc:
                raise _error(f"Overflow ({exc})", errno.EOVERFLOW) from exc
            if phase == t.DATA_IN and chunk and armed.corrupt_response:
                armed.corrupt_response = False
                chunk[len(chunk) // 2] ^= 0xFF
            self.latency.spend(self.latency.transfer_seconds(len(chunk)))
            buff[: len(chunk)] = array("B", chunk)
            return len(chunk)

    def clear_halt(self, dev_handle: SimHandle, ep: int) -> None:
        """Clear the halt of a bulk endpoint."""
        with self._lock:
            self._alive(dev_handle)
            if ep not in (d.EP_IN, d.EP_OUT):
                raise _error(f"no endpoint 0x{ep:02x}", errno.EINVAL)
            self.device.target.clear_halt(ep == d.EP_IN)

    def reset_device(self, dev_handle: SimHandle) -> None:
        """USB port reset: the transport starts over (the application session stays)."""
        with self._lock:
            self._alive(dev_handle)
            self._armed = _Armed()
            self.device.target.reset()

    # -- control transfers -----------------------------------------------------------------

    def ctrl_transfer(
        self,
        dev_handle: SimHandle,
        bmRequestType: int,  # noqa: N803 - pyusb's parameter names
        bRequest: int,  # noqa: N803
        wValue: int,  # noqa: N803
        wIndex: int,  # noqa: N803
        data: array[int],
        timeout: int,
    ) -> int:
        """Answer the standard requests and the two bulk-only class requests."""
        with self._lock:
            self._alive(dev_handle)
            request = (bmRequestType, bRequest)
            if request == (0x80, 0x06):  # GET_DESCRIPTOR
                return _fill(data, self._descriptor(wValue >> 8, wValue & 0xFF))
            if request == (0x80, 0x00):  # GET_STATUS: bus powered, no remote wakeup
                return _fill(data, b"\x00\x00")
            if request == (0x80, 0x08):  # GET_CONFIGURATION
                return _fill(data, bytes((self.configuration,)))
            if request == (0x00, 0x09):  # SET_CONFIGURATION
                self.set_configuration(dev_handle, wValue)
                return 0
            if request == (0x01, 0x0B):  # SET_INTERFACE
                self.set_interface_altsetting(dev_handle, wIndex, wValue)
                return 0
            if request == (0x02, 0x01) and wValue == 0:  # CLEAR_FEATURE(ENDPOINT_HALT)
                self.clear_halt(dev_handle, wIndex & 0xFF)
                return 0
            if request == (0x21, 0xFF):  # Bulk-Only Mass Storage Reset
                self._armed = _Armed()
                self.device.target.reset()
                return 0
            if request == (0xA1, 0xFE):  # Get Max LUN: one logical unit
                return _fill(data, b"\x00")
            raise _error(f"control request {bmRequestType:02x}/{bRequest:02x} stalled", errno.EPIPE)

    def _descriptor(self, kind: int, index: int) -> bytes:
        if kind == d.DT_DEVICE:
            return self.get_device_descriptor(SimDeviceId(self._generation)).to_bytes()
        if kind == d.DT_CONFIG and index == 0:
            return d.configuration_bytes()
        if kind == d.DT_STRING:
            strings = {
                d.STRING_MANUFACTURER: self.manufacturer,
                d.STRING_PRODUCT: self.product,
                d.STRING_SERIAL: self.serial,
            }
            if index == 0:
                return d.langid_bytes()
            if index in strings:
                return d.string_bytes(strings[index])
        raise _error(f"no descriptor {kind}/{index}", errno.EPIPE)


def _fill(buffer: array[int], payload: bytes) -> int:
    count = min(len(buffer), len(payload))
    buffer[:count] = array("B", payload[:count])
    return count


def describe(backend: SimBackend) -> dict[str, Any]:
    """Return the USB facts of a backend, for logs and the CLI."""
    return {
        "vid_pid": f"{backend.vid:04x}:{backend.pid:04x}",
        "manufacturer": backend.manufacturer,
        "product": backend.product,
        "serial": backend.serial,
    }
