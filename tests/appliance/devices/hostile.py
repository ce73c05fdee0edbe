"""A hostile tax device at the libusb boundary: the simulator, misbehaving on purpose.

:class:`HostileBackend` is a pyusb backend object like the simulator's, so ``usb.core.find``,
``UsbPipe`` and the whole driver run unchanged against it; it answers the way a broken or
malicious UKey can at the USB level: STALL (EPIPE) on any endpoint or control request, late
answers that make the host's read time out, a CSW whose residue or tag lies, impossible dates
wrapped in a valid BCD encoding and a valid CRC, garbage, unplugging, babble. A ``script`` of
actions (drawn by hypothesis) perturbs transfers one by one; without one, the standing
misbehaviours in :class:`Misbehaviour` apply to every transfer.
"""

from __future__ import annotations

import errno
import struct
import threading
import time
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import usb.core

from appliance.devices.deadlines import Deadlines
from appliance.devices.nisec import NisecDevice
from appliance.devices.usb_pipe import UsbPipe
from appliance.protocol import bot, commands
from appliance.protocol.crc import crc16_x25
from simulators.device import descriptors as d
from simulators.device.core import target as t
from simulators.device.usb_backend import SimBackend, SimHandle

# Errors a USB stack reports for a device, as errno values of libusb's pyusb backend.
ERRNOS = {
    "stall": errno.EPIPE,
    "gone": errno.ENODEV,
    "busy": errno.EBUSY,
    "io": errno.EIO,
    "overflow": errno.EOVERFLOW,
    "proto": errno.EPROTO,
    "access": errno.EACCES,
    "other": errno.EILSEQ,
}

# Every device limit scaled down a hundredfold: a 10 s transfer timeout becomes 100 ms, an
# operation's 15 s become 150 ms. The rules are the same; the tests take milliseconds.
FAST = Deadlines().scaled(0.01)
# Limits for the honest parts of a test: short, yet far above what a loaded machine needs.
ROOMY = Deadlines().scaled(0.2)


@dataclass
class Misbehaviour:
    """What the device does wrong on every transfer (all off: an honest device)."""

    stall_in: bool = False  # every IN transfer stalls
    stall_out: bool = False  # every OUT transfer (CBW or data) stalls
    stall_control: bool = False  # clearing a halt and the mass storage reset stall too
    in_delay_s: float = 0.0  # every IN is answered this late, or the host's read times out first
    residue_extra: int | None = None  # every CSW's residue is the transfer length plus this
    # Answers of ``op`` get their date field ``name`` replaced by these BCD digits (CRC redone).
    dates: dict[str, tuple[str, str]] = field(default_factory=dict)
    only_ops: frozenset[str] | None = None  # standing misbehaviours strike these commands only


def bcd(digits: str) -> bytes:
    """Return the packed BCD of a string of decimal digits (two per byte)."""
    return bytes.fromhex(digits)


def patch_date(op: str, answer: bytes, name: str, digits: str) -> bytes:
    """Return ``answer`` (a response body with its CRC) with date field ``name`` replaced."""
    cmd = commands.command(op)
    body = answer[: -commands.TRAILER_SIZE]
    values = cmd.response.decode(body)
    index = cmd.response.names.index(name)
    offset = len(cmd.response.encode(values, index))
    size = cmd.response.fields[index][2]
    raw = bcd(digits)
    assert len(raw) == size, (name, digits)
    patched = body[:offset] + raw + body[offset + size :]
    return patched + struct.pack(">H", crc16_x25(patched))


class HostileBackend(SimBackend):
    """The simulated UKey behind a libusb that reports what a hostile device does."""

    def __init__(
        self,
        sim: SimBackend,
        misbehaviour: Misbehaviour | None = None,
        script: Iterable[Any] = (),
    ) -> None:
        super().__init__(sim.device, sim.latency, sim.faults)
        self.misbehaviour = misbehaviour or Misbehaviour()
        self.script: deque[Any] = deque(script)
        self.transfers = 0  # bulk and control transfers the host made
        self.op = ""
        self._hostile_lock = threading.Lock()

    # -- what the host asked -----------------------------------------------------------------

    def _standing(self) -> bool:
        only = self.misbehaviour.only_ops
        return only is None or self.op in only

    def _action(self) -> Any:
        with self._hostile_lock:
            self.transfers += 1
            return self.script.popleft() if self.script else "ok"

    @staticmethod
    def _raise(kind: str) -> None:
        if kind == "timeout":
            raise usb.core.USBTimeoutError("Operation timed out", None, errno.ETIMEDOUT)
        raise usb.core.USBError(f"hostile device: {kind}", None, ERRNOS[kind])

    # -- bulk --------------------------------------------------------------------------------

    def bulk_write(
        self, dev_handle: SimHandle, ep: int, intf: int, data: array[int], timeout: int
    ) -> int:
        """Send one OUT transfer, unless the device refuses it."""
        action = self._action()
        cbw = self.device.target.phase != t.DATA_OUT and len(data) == bot.CBW_SIZE
        if cbw:
            try:
                self.op = t.op_name(bot.decode_cbw(bytes(data)).cdb)
            except Exception:  # garbage: the target halts on it
                self.op = "garbage"
        if action != "ok" and isinstance(action, str):
            self._raise(action)
        if self.misbehaviour.stall_out and self._standing():
            self._raise("stall")
        return super().bulk_write(dev_handle, ep, intf, data, timeout)

    def bulk_read(
        self, dev_handle: SimHandle, ep: int, intf: int, buff: array[int], timeout: int
    ) -> int:
        """Answer one IN transfer, late, wrong or not at all, as the device chooses."""
        action = self._action()
        plan = self.misbehaviour
        standing = self._standing()
        if plan.in_delay_s and standing:
            if plan.in_delay_s * 1000 >= timeout:
                time.sleep(timeout / 1000)  # the answer comes after the host gave up
                self._raise("timeout")
            time.sleep(plan.in_delay_s)
        if isinstance(action, str) and action != "ok":
            self._raise(action)
        if plan.stall_in and standing:
            self._raise("stall")
        phase = self.device.target.phase
        scratch = array("B", bytes(len(buff)))
        count = super().bulk_read(dev_handle, ep, intf, scratch, timeout)
        chunk = bytes(scratch[:count])
        if phase == t.DATA_IN and standing and self.op in plan.dates:
            name, digits = plan.dates[self.op]
            chunk = patch_date(self.op, chunk, name, digits)
        if phase == t.STATUS and plan.residue_extra is not None and standing:
            tag = struct.unpack("<I", chunk[4:8])[0]
            length = self._transfer_length()
            chunk = bot.encode_csw(tag, length + plan.residue_extra, chunk[12])
        chunk = self._scripted(action, phase, chunk)
        chunk = chunk[: len(buff)]
        buff[: len(chunk)] = array("B", chunk)
        return len(chunk)

    def _transfer_length(self) -> int:
        cbw = self.device.target._cbw
        return cbw.transfer_length if cbw is not None else 0

    def _scripted(self, action: Any, phase: int, chunk: bytes) -> bytes:
        if not isinstance(action, tuple):
            return chunk
        kind = action[0]
        if kind == "bytes":
            return bytes(action[1])
        if kind == "flip" and chunk:
            index = action[1] % len(chunk)
            return chunk[:index] + bytes((chunk[index] ^ action[2],)) + chunk[index + 1 :]
        if kind == "date" and phase == t.DATA_IN:
            cmd = commands.BY_NAME.get(self.op)
            dated = [
                name
                for name, base, _ in (cmd.response.fields if cmd else ())
                if base in ("date", "datetime")
            ]
            if dated:
                name = dated[action[1] % len(dated)]
                kinds = dict((n, b) for n, b, _ in cmd.response.fields)  # type: ignore[union-attr]
                digits = action[2][:14] if kinds[name] == "datetime" else action[2][:8]
                try:
                    return patch_date(self.op, chunk, name, digits)
                except Exception:  # an answer that is not this command's: leave it
                    return chunk
        if kind == "csw" and len(chunk) == bot.CSW_SIZE and phase == t.STATUS:
            tag = struct.unpack("<I", chunk[4:8])[0]
            return struct.pack("<4sIIB", bot.CSW_SIGNATURE, tag + action[1], action[2], action[3])
        return chunk

    # -- control: clearing halts and resetting -----------------------------------------------

    def clear_halt(self, dev_handle: SimHandle, ep: int) -> None:
        """Clear a halt, unless the device stalls that too."""
        action = self._action()
        if isinstance(action, str) and action != "ok":
            self._raise(action)
        if self.misbehaviour.stall_control:
            self._raise("stall")
        super().clear_halt(dev_handle, ep)

    def ctrl_transfer(
        self,
        dev_handle: SimHandle,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: array[int],
        timeout: int,
    ) -> int:
        """Answer control requests; the mass storage reset may stall or fail."""
        if (bmRequestType, bRequest) == (0x21, 0xFF):
            action = self._action()
            if isinstance(action, str) and action != "ok":
                self._raise(action)
            if self.misbehaviour.stall_control:
                self._raise("stall")
        return super().ctrl_transfer(
            dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout
        )


def open_hostile(
    sim: SimBackend,
    misbehaviour: Misbehaviour | None = None,
    script: Iterable[Any] = (),
    deadlines: Deadlines = ROOMY,
) -> tuple[NisecDevice, HostileBackend]:
    """Return the real driver, through pyusb, on a hostile copy of ``sim``."""
    backend = HostileBackend(sim, misbehaviour, script)
    url = f"usb://{d.VENDOR_ID:04x}:{d.PRODUCT_ID:04x}"
    pipe = UsbPipe.open(d.VENDOR_ID, d.PRODUCT_ID, backend=backend, name=url)
    return NisecDevice(pipe, url, deadlines=deadlines), backend
