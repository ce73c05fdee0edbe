# mypy: disable-error-code="type-arg"
# (MicroPython code: the state is a bare JSON dict, no typing module to describe it.)
"""Bench device firmware: the tax device simulator on a Raspberry Pi Pico, over USB-CDC serial.

On a Pico, copy ``appliance/protocol``, ``simulators/device/core``, this folder and a device
state (``state.json``, made by ``qingka sim device SCENARIO --state state.json``) to the board;
MicroPython runs ``main.py`` at boot and serves the CDC port (``sys.stdin`` / ``sys.stdout``).

Under the MicroPython unix port (tests, and a bench without a Pico)::

    micropython simulators/device/firmware/main.py REPO_ROOT STATE_FILE

serves its standard input and output, which the tests attach to a pty.
"""

import json
import os
import sys


class FileSink:
    """Keeps the device state in a file, replaced whole so a power cut leaves the old or new one."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def save(self, state: dict) -> None:
        """Write ``state``."""
        temp = self.path + ".tmp"
        with open(temp, "w") as handle:  # noqa: PTH123 - MicroPython has no pathlib
            json.dump(state, handle)
        os.rename(temp, self.path)


def serve(link: object, reader: object, writer: object) -> None:
    """Read bytes until end of input and answer every frame."""
    flush = getattr(writer, "flush", None)
    while True:
        data = reader.read(1)  # type: ignore[attr-defined]
        if not data:
            return
        for reply in link.feed(data):  # type: ignore[attr-defined]
            writer.write(reply)  # type: ignore[attr-defined]
            if flush is not None:
                flush()


def clock_shift() -> int:
    """Return ``QINGKA_CLOCK_SHIFT`` in whole seconds (the unix port only; a Pico has no env)."""
    getenv = getattr(os, "getenv", None)
    text = getenv("QINGKA_CLOCK_SHIFT") if getenv is not None else None
    try:
        return int(float(text)) if text else 0
    except ValueError:
        return 0


def main(argv: list) -> int:
    """Load the state and serve standard input/output."""
    if len(argv) > 1:
        sys.path.insert(0, argv[1])
    state_path = argv[2] if len(argv) > 2 else "state.json"
    from simulators.device.core.handler import Handler  # noqa: PLC0415 - after sys.path is set
    from simulators.device.core.host import HostClock  # noqa: PLC0415
    from simulators.device.core.state import check_state  # noqa: PLC0415
    from simulators.device.core.target import Target  # noqa: PLC0415
    from simulators.device.firmware.link import Link  # noqa: PLC0415

    with open(state_path) as handle:  # noqa: PTH123 - MicroPython has no pathlib
        state = json.load(handle)
    check_state(state)
    handler = Handler(state, HostClock(clock_shift()), FileSink(state_path))  # type: ignore[arg-type]
    link = Link(Target(handler), state["identity"]["device_no"])
    serve(link, sys.stdin.buffer, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
