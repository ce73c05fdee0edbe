"""The few differences between CPython and MicroPython that protocol code relies on.

Everything under ``appliance.protocol`` imports these names from here instead of reaching for
``time.monotonic`` or ``micropython.const`` directly, so the same files run unchanged on a
Raspberry Pi Pico (the bench device firmware) and on the box.
"""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

__all__ = ["IS_MICROPYTHON", "const", "ticks_diff", "ticks_ms"]

try:
    from micropython import const
except ImportError:

    def const(value: int) -> int:
        """Return ``value``; MicroPython folds these at compile time, CPython needs no help."""
        return value


try:
    from time import ticks_diff, ticks_ms  # type: ignore[attr-defined,unused-ignore]
except ImportError:
    import time as _time

    def ticks_ms() -> int:
        """Return a monotonic millisecond counter (MicroPython's name for it)."""
        return int(_time.monotonic() * 1000)

    def ticks_diff(end: int, start: int) -> int:
        """Return ``end - start`` in milliseconds (MicroPython wraps the counter, CPython not)."""
        return end - start
