"""A hostile bench device on a real pty: the serial tunnel, misbehaving on purpose.

The firmware's own :class:`~simulators.device.firmware.link.Link` serves the simulator's target
from a thread on the master side of a pty; the host opens the slave with pyserial, so
``SerialPipe`` runs unchanged. On the way out the device can answer STALL to everything, answer
late, patch impossible dates into answers (CRC redone), or chatter without end: valid frames of
another sequence number, or noise.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field

from appliance.devices.deadlines import Deadlines
from appliance.devices.nisec import NisecDevice
from appliance.devices.serial_pipe import SerialPipe
from appliance.protocol import bot
from appliance.protocol import serial_frame as sf
from simulators.device.core import target as t
from simulators.device.firmware.link import Link
from simulators.device.usb_backend import SimBackend
from tests.appliance.devices.hostile import ROOMY, patch_date


@dataclass
class SerialMisbehaviour:
    """What the bench device does wrong (all off: an honest one)."""

    stall: bool = False  # bulk IN, bulk OUT, clear halt and reset all answered STALL
    reply_delay_s: float = 0.0  # every reply to a bulk transfer sent this late
    dates: dict[str, tuple[str, str]] = field(default_factory=dict)
    chatter: str = ""  # "frames" or "noise": sent without pause after the descriptor
    chatter_for_s: float = 2.0  # how long the chatter lasts (a bound, so a hang fails a test)


class HostileBenchDevice:
    """A bench device on a pty, served from a thread."""

    def __init__(self, sim: SimBackend, misbehaviour: SerialMisbehaviour) -> None:
        self.misbehaviour = misbehaviour
        self.target: t.Target = sim.device.target
        self.link = Link(self.target, "661900000000")
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.op = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    def _serve(self) -> None:
        decoder = sf.FrameDecoder()
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], 0.02)
            if not readable:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            with contextlib.suppress(Exception):
                decoder.feed(data)
            while True:
                try:
                    frame = decoder.next_frame()
                except Exception:  # noise from the host: the real link drops it too
                    continue
                if frame is None:
                    break
                self._answer(frame)

    def _answer(self, frame: sf.Frame) -> None:
        plan = self.misbehaviour
        if frame.kind == sf.KIND_HELLO:
            self._send(self.link.handle(frame) or b"")
            if plan.chatter:
                self._chatter(frame.seq)
            return
        if frame.kind == sf.KIND_BULK_OUT and len(frame.payload) == bot.CBW_SIZE:
            with contextlib.suppress(Exception):
                self.op = t.op_name(bot.decode_cbw(frame.payload).cdb)
        if plan.stall:
            endpoint = sf.ENDPOINT_IN if frame.kind == sf.KIND_BULK_IN else sf.ENDPOINT_OUT
            self._send(sf.encode_frame(sf.Frame(sf.KIND_STALL, frame.seq, bytes((endpoint,)))))
            return
        phase = self.target.phase
        reply = self.link.handle(frame)
        if reply is None:
            return
        if plan.dates and frame.kind == sf.KIND_BULK_IN and phase == t.DATA_IN:
            answer, _ = sf.decode_frame(reply)
            if self.op in plan.dates and answer.kind == sf.KIND_IN_DATA:
                name, digits = plan.dates[self.op]
                payload = patch_date(self.op, answer.payload, name, digits)
                reply = sf.encode_frame(sf.Frame(sf.KIND_IN_DATA, frame.seq, payload))
        if plan.reply_delay_s:
            self._stop.wait(plan.reply_delay_s)
        self._send(reply)

    def _chatter(self, seq: int) -> None:
        """Send without pause (from another thread) while the host tries to talk."""
        plan = self.misbehaviour

        def flood() -> None:
            end = time.monotonic() + plan.chatter_for_s
            stray = sf.encode_frame(sf.Frame(sf.KIND_ACK, (seq + 100) & 0xFF))
            noise = bytes(range(256)) * 4
            while time.monotonic() < end and not self._stop.is_set():
                self._send(stray * 16 if plan.chatter == "frames" else noise)

        threading.Thread(target=flood, daemon=True).start()


@contextlib.contextmanager
def hostile_bench(
    sim: SimBackend, misbehaviour: SerialMisbehaviour, deadlines: Deadlines = ROOMY
) -> Iterator[tuple[NisecDevice, HostileBenchDevice]]:
    """Yield the real driver over pyserial on a hostile bench device."""
    bench = HostileBenchDevice(sim, misbehaviour)
    try:
        url = f"serial://{bench.port}"
        device = NisecDevice(SerialPipe.open(bench.port, name=url), url, deadlines=deadlines)
        try:
            yield device, bench
        finally:
            device.close()
    finally:
        bench.close()
