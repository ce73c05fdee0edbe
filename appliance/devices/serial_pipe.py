"""Bulk pipes of the bench device, tunnelled in serial frames over USB-CDC (pyserial).

Each bulk transfer becomes one request frame and one reply frame
(:mod:`appliance.protocol.serial_frame`). A frame lost or garbled on the line is answered by
nothing, so the request is sent again with the same sequence number after a short wait; the
device replays its last reply for a repeated number instead of acting twice.
"""

from __future__ import annotations

import contextlib
import struct
import time
from typing import Any

import serial

from appliance.devices.errors import DeviceGone, DeviceTimeout, ProtocolError, Stalled
from appliance.devices.pipe import DEFAULT_TIMEOUT_MS, UsbDescriptor
from appliance.protocol import serial_frame as sf
from appliance.protocol.errors import ProtocolError as CodecError

BAUDRATE = 115_200  # USB-CDC ignores it; a real UART bridge needs it
# How long to wait for a reply before sending the request again. A command is processed
# between the last OUT transfer and the CSW read, so replies come within a command's latency.
RESEND_AFTER_S = 0.5
_READ_CHUNK = 512
_ENDPOINTS = {sf.KIND_BULK_OUT: "out", sf.KIND_BULK_IN: "in"}


class SerialPipe:
    """The tunnelled bulk endpoints of a bench device."""

    def __init__(self, port: Any, name: str) -> None:
        self.name = name
        self._port = port
        self._decoder = sf.FrameDecoder()
        self._seq = 0
        self.bad_frames = 0
        reply = self._request(sf.KIND_HELLO, b"", DEFAULT_TIMEOUT_MS, (sf.KIND_DESCRIPTOR,))
        try:
            fields = sf.DESCRIPTOR.decode(reply.payload)
        except CodecError as exc:
            raise ProtocolError(f"bench device sent a bad descriptor: {exc}", name) from exc
        self.descriptor = UsbDescriptor(
            vid=int(str(fields["vid"])),
            pid=int(str(fields["pid"])),
            manufacturer=str(fields["manufacturer"]),
            product=str(fields["product"]),
            serial=str(fields["serial"]),
        )

    @classmethod
    def open(cls, path: str, baudrate: int = BAUDRATE, name: str = "") -> SerialPipe:
        """Open the serial port at ``path`` (a device path or a pyserial URL)."""
        name = name or f"serial://{path}"
        try:
            port = serial.serial_for_url(path, baudrate=baudrate, timeout=0.05, write_timeout=2)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceGone(f"cannot open serial port {path}: {exc}", name) from exc
        try:
            return cls(port, name)
        except BaseException:
            port.close()
            raise

    def _send(self, frame: sf.Frame) -> None:
        try:
            self._port.write(sf.encode_frame(frame))
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DeviceGone(f"serial line lost: {exc}", self.name) from exc

    def _receive(self, deadline: float) -> sf.Frame | None:
        """Return the next good frame before ``deadline``, or ``None``; drops bad ones."""
        while True:
            # Checked first, not only when the line goes quiet: a device that never stops
            # sending (frames or noise) must not hold the host past the deadline either.
            if time.monotonic() >= deadline:
                return None
            try:
                frame = self._decoder.next_frame()
            except CodecError:
                self.bad_frames += 1
                continue
            if frame is not None:
                return frame
            try:
                # One byte blocks until the reply starts (or the short timeout); then take what
                # has arrived. Asking for a whole chunk would wait out the timeout every time.
                chunk = self._port.read(1)
                waiting = self._port.in_waiting if chunk else 0
                if waiting:
                    chunk += self._port.read(min(waiting, _READ_CHUNK))
            except (serial.SerialException, OSError) as exc:
                raise DeviceGone(f"serial line lost: {exc}", self.name) from exc
            if chunk:
                try:
                    self._decoder.feed(chunk)
                except CodecError:
                    self.bad_frames += 1

    def _request(
        self, kind: int, payload: bytes, timeout_ms: int, accept: tuple[int, ...]
    ) -> sf.Frame:
        self._seq = (self._seq + 1) & 0xFF
        request = sf.Frame(kind, self._seq, payload)
        end = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < end:
            self._send(request)
            reply = self._await(min(end, time.monotonic() + RESEND_AFTER_S))
            if reply is None:
                continue
            if reply.kind == sf.KIND_STALL:
                # The endpoint is the one the request was for, whatever the reply claims.
                raise Stalled(_ENDPOINTS.get(kind, "out"), self.name)
            if reply.kind not in accept:
                raise ProtocolError(f"bench device answered frame kind {reply.kind:#x}", self.name)
            return reply
        raise DeviceTimeout(f"no answer from the bench device within {timeout_ms} ms", self.name)

    def _await(self, deadline: float) -> sf.Frame | None:
        while True:
            frame = self._receive(deadline)
            if frame is None or frame.seq == self._seq:
                return frame
            # a late reply to a request we already gave up on: not ours any more

    def write_out(self, data: bytes, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Send one OUT transfer."""
        self._request(sf.KIND_BULK_OUT, data, timeout_ms, (sf.KIND_ACK,))

    def read_in(self, max_length: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bytes:
        """Receive one IN transfer."""
        reply = self._request(
            sf.KIND_BULK_IN, struct.pack(">H", max_length), timeout_ms, (sf.KIND_IN_DATA,)
        )
        if len(reply.payload) > max_length:
            raise ProtocolError(f"{len(reply.payload)} bytes for {max_length}", self.name)
        return reply.payload

    def clear_stall(self, endpoint: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Clear the halt of one endpoint."""
        which = sf.ENDPOINT_IN if endpoint == "in" else sf.ENDPOINT_OUT
        try:
            self._request(sf.KIND_CLEAR_HALT, bytes((which,)), timeout_ms, (sf.KIND_ACK,))
        except Stalled as exc:
            raise Stalled(endpoint, self.name, f"clearing the {endpoint} halt stalled") from exc

    def reset(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Bulk-only mass storage reset (the bench device clears both halts with it)."""
        try:
            self._request(sf.KIND_RESET, b"", timeout_ms, (sf.KIND_ACK,))
        except Stalled as exc:
            raise ProtocolError("the bench device stalled the reset", self.name) from exc

    def close(self) -> None:
        """Close the port; never raises."""
        # closing a port whose device vanished: nothing left to release
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()
