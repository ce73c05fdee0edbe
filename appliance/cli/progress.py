"""Live progress of a clearing on a terminal: a bar with the step in words, then the outcome."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.steps import JobStep

BAR_WIDTH = 30
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

    def step(self, event: dict[str, Any]) -> None:
        """Show one step event."""
        try:
            step = JobStep(event.get("step", ""))
        except ValueError:
            return
        label = step.label_zh if self.lang == "zh" else step.label_en
        percent = int(event.get("progress", step.progress))
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        line = f"[{bar}] {percent:3d}%  {label}  ({elapsed:4.1f}s)"
        if self.tty:
            self.stream.write("\r" + line + " " * 8)
        elif step.value != self._last_step:
            self.stream.write(line + "\n")
        self._last_step = step.value
        self.stream.flush()

    def outcome(self, outcome: Outcome) -> None:
        """Show how the clearing ended: what happened, what to do, the code."""
        if self.tty:
            self.stream.write("\n")
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
