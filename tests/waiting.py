"""Waiting for something another thread or process does, with a deadline and a plain failure."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds.

    Acknowledgements and callbacks land on their own threads a moment after what the test
    observes, so a check right after an observation would race them.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
