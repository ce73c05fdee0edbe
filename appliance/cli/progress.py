"""Live progress of a clearing on a terminal: a bar with the step in words, then the outcome.

A step can wait a long time (a bureau that does not answer holds "uploading" for a minute):
while :func:`ticking` runs, the bar is redrawn about once a second so its elapsed time keeps
counting and the person sees the box is still at work. Only on a terminal: piped output and
``--json`` get each step once, as a line.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.steps import JobStep

BAR_WIDTH = 30
# How often the bar is redrawn while a step waits.
TICK_S = 1.0
KIND_WORDS = {
    OutcomeKind.DONE: ("清卡成功", "Cleared"),
    OutcomeKind.ALREADY_CLEARED: ("本期已清卡", "Already cleared"),
    OutcomeKind.NOT_DUE: ("还未到清卡时间", "Not due yet"),
    OutcomeKind.NEEDS_HUMAN: ("需要人工处理", "Needs a person"),
    OutcomeKind.RETRY_LATER: ("稍后自动重试", "Will retry by itself"),
}


class ProgressView:
    """Renders step and outcome events; a redrawn bar on a terminal, plain lines otherwise."""

    def __init__(self, lang: str = "zh", stream: TextIO | None = None) -> None:
        self.lang = lang
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._last_step = ""
        # The ticker thread and the event handler both draw: one at a time.
        self._lock = threading.Lock()
        self._shown: tuple[int, str] | None = None  # (percent, label) of the bar on screen

    def step(self, event: dict[str, Any]) -> None:
        """Show one step event."""
        try:
            step = JobStep(event.get("step", ""))
        except ValueError:
            return
        label = step.label_zh if self.lang == "zh" else step.label_en
        percent = int(event.get("progress", step.progress))
        with self._lock:
            if self.tty:
                self._shown = (percent, label)
                self.stream.write("\r" + self._line(percent, label) + " " * 8)
            elif step.value != self._last_step:
                self.stream.write(self._line(percent, label) + "\n")
            self._last_step = step.value
            self.stream.flush()

    def tick(self) -> None:
        """Redraw the bar on a terminal with the time elapsed now (nothing elsewhere)."""
        with self._lock:
            if self.tty and self._shown is not None:
                self.stream.write("\r" + self._line(*self._shown) + " " * 8)
                self.stream.flush()

    def _line(self, percent: int, label: str) -> str:
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        return f"[{bar}] {percent:3d}%  {label}  ({elapsed:4.1f}s)"

    def outcome(self, outcome: Outcome) -> None:
        """Show how the clearing ended: what happened, what to do, the code."""
        with self._lock:
            self._outcome(outcome)

    def _outcome(self, outcome: Outcome) -> None:
        if self.tty and self._shown is not None:
            self.stream.write("\n")
        self._shown = None  # the bar is done: no more redraws over the outcome
        zh = self.lang == "zh"
        title = KIND_WORDS[outcome.kind][0 if zh else 1]
        what = outcome.message(self.lang)
        # "清卡成功：清卡成功，…" says it twice: the class only where the words do not.
        line = what if what.startswith(title) else f"{title}{'：' if zh else ': '}{what}"
        self.stream.write(line + "\n")
        action = outcome.action(self.lang)
        if action:
            self.stream.write(action + "\n")
        if outcome.new_lock_date is not None and outcome.kind.success:
            label = "新的锁定日期" if zh else "New lock date"
            self.stream.write(f"{label}: {outcome.new_lock_date.isoformat()}\n")
        if outcome.retry_at is not None:
            label = "下次自动重试" if zh else "Next automatic try"
            self.stream.write(
                f"{label}: {outcome.retry_at.isoformat(sep=' ', timespec='minutes')}\n"
            )
        self.stream.write(f"[{outcome.code}]\n")
        self.stream.flush()


@contextlib.contextmanager
def ticking(view: ProgressView, enabled: bool = True, interval: float = TICK_S) -> Iterator[None]:
    """Redraw ``view`` every ``interval`` seconds while the block runs (only on a terminal)."""
    if not enabled or not view.tty:
        yield
        return
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            try:
                view.tick()
            except (OSError, ValueError):
                return  # the terminal went away (closed pipe, closed stream): stop drawing

    thread = threading.Thread(target=run, name="progress ticker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
