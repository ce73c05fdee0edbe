"""The progress bar keeps counting while a step waits, on a terminal only."""

from __future__ import annotations

import io
import re
import time

from appliance.cli.progress import ProgressView, ticking


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


STEP = {"event": "step", "step": "upload", "progress": 35}


def elapsed_shown(text: str) -> list[float]:
    return [float(value) for value in re.findall(r"\(\s*([0-9.]+)s\)", text)]


def test_the_elapsed_time_keeps_counting_while_a_step_waits() -> None:
    screen = Terminal()
    view = ProgressView("en", screen)
    view.step(STEP)
    with ticking(view, interval=0.05):
        time.sleep(0.5)  # the bureau does not answer: no event arrives
    shown = elapsed_shown(screen.getvalue())
    assert len(shown) >= 4
    assert shown == sorted(shown) and shown[-1] >= shown[0] + 0.3
    assert screen.getvalue().count("35%") == len(shown)


def test_no_redraw_when_not_a_terminal_or_asked_for_json() -> None:
    piped = io.StringIO()
    view = ProgressView("en", piped)
    view.step(STEP)
    with ticking(view, interval=0.02):
        time.sleep(0.2)
    assert piped.getvalue().count("\n") == 1
    screen = Terminal()
    quiet = ProgressView("en", screen)
    with ticking(quiet, enabled=False, interval=0.02):
        time.sleep(0.1)
    assert screen.getvalue() == ""


def test_nothing_is_redrawn_before_the_first_step() -> None:
    screen = Terminal()
    view = ProgressView("en", screen)
    with ticking(view, interval=0.02):
        time.sleep(0.1)
    assert screen.getvalue() == ""
