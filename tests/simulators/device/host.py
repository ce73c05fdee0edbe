"""A tiny bulk-only host for the tests: real CBW/CSW bytes through pyusb, nothing more.

It is deliberately not the appliance's driver: the tests here check the device, byte by byte,
and must not depend on how the driver chooses to recover from anything.
"""

from __future__ import annotations

from typing import Any

import usb.core
import usb.util

from appliance.protocol import bot, cdb, commands, sense
from simulators.device.usb_backend import SimBackend

TIMEOUT_MS = 1000


class Refused(Exception):
    """The device failed a command; ``status`` is its vendor status word."""

    def __init__(self, found: sense.Sense) -> None:
        super().__init__(f"status 0x{found.status:04X} detail {found.detail}")
        self.sense = found
        self.status = found.status
        self.detail = found.detail


class Host:
    """Claims the simulated UKey through pyusb and runs commands on it."""

    def __init__(self, backend: SimBackend, claim: bool = True) -> None:
        self.backend = backend
        self.dev: Any = usb.core.find(idVendor=backend.vid, idProduct=backend.pid, backend=backend)
        assert self.dev is not None, "simulated device not found"
        self.tag = 0
        self.seq = 0
        if claim:
            self.claim()

    def claim(self) -> None:
        """Detach usb-storage and claim the mass-storage interface, as a driver does."""
        if self.dev.is_kernel_driver_active(0):
            self.dev.detach_kernel_driver(0)
        usb.util.claim_interface(self.dev, 0)

    # -- transport ---------------------------------------------------------------------------

    def send_cbw(self, block: bytes, in_length: int) -> int:
        """Write a CBW carrying ``block``; return its tag."""
        self.tag += 1
        self.dev.write(0x02, bot.encode_cbw(self.tag, in_length, True, block), TIMEOUT_MS)
        return self.tag

    def read(self, size: int) -> bytes:
        """Read one IN transfer."""
        return bytes(self.dev.read(0x81, size, TIMEOUT_MS))

    def read_csw(self) -> bot.Csw:
        """Read and decode a CSW."""
        return bot.decode_csw(self.read(bot.CSW_SIZE))

    def exchange(self, block: bytes, data_out: bytes, in_length: int) -> tuple[bytes, bot.Csw]:
        """Run CBW, data OUT, data IN, CSW; return the data and the CSW."""
        tag = self.send_cbw(block, in_length)
        if data_out:
            self.dev.write(0x02, data_out, TIMEOUT_MS)
        data = self.read(in_length) if in_length else b""
        csw = self.read_csw()
        assert csw.tag == tag
        return data, csw

    def request_sense(self) -> sense.Sense:
        """Fetch the sense of the last failure."""
        data, csw = self.exchange(cdb.encode_request_sense(), b"", sense.SENSE_SIZE)
        assert csw.status == bot.CSW_PASSED
        return sense.decode_sense(data)

    def vendor_cdb(self, name: str, data_out: bytes, allocation: int | None = None) -> bytes:
        """Return the CDB of command ``name``."""
        cmd = commands.command(name)
        self.seq += 1
        size = cmd.allocation if allocation is None else allocation
        return cdb.encode_vendor_cdb(cmd.op, data_out, size, seq=self.seq)

    def raw(self, name: str, values: dict[str, Any] | None = None) -> tuple[bytes, bot.Csw]:
        """Send one command; return the raw data and CSW (no sense, no decoding)."""
        cmd = commands.command(name)
        out = cmd.request.encode(values or {})
        return self.exchange(self.vendor_cdb(name, out), out, cmd.allocation)

    def call(self, name: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run command ``name``; return the decoded response or raise :class:`Refused`."""
        data, csw = self.raw(name, values)
        if csw.status != bot.CSW_PASSED:
            assert csw.status == bot.CSW_FAILED
            assert data == b""
            raise Refused(self.request_sense())
        return commands.decode_response(commands.command(name), data)

    def status(self, name: str, values: dict[str, Any] | None = None) -> int:
        """Run command ``name``; return the status word (``SW_OK`` when it passed)."""
        try:
            self.call(name, values)
        except Refused as refused:
            return refused.status
        return sense.SW_OK

    # -- sessions ----------------------------------------------------------------------------

    def open(self, pin: str | None = commands.DEFAULT_PIN) -> None:
        """Open a session, select the tax application and verify ``pin`` (unless ``None``)."""
        self.call("open_session")
        self.call("select_app", {"aid": commands.APPLICATION_ID})
        if pin is not None:
            self.call("verify_pin", {"pin": pin})

    def select(self, code: str) -> None:
        """Select an invoice type."""
        self.call("select_type", {"type": code})
