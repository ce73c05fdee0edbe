"""PIN entry: a keypad for the operator PIN (before clearing) and the technician PIN.

A PIN kept as a scrypt hash takes a noticeable time to check by design: 35-90 ms on a busy
two-core desktop with the parameters provisioning uses, about 0.5 s with the largest the settings
accept, and a Raspberry Pi is slower. Such a check runs on a thread of its own (hashlib's scrypt
lets go of the GIL): the screen keeps drawing, says it is checking and takes no keys meanwhile.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk_ui.catalog import tr
from kiosk_ui.pin_gate import PinGate, Verdict
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.settings import MAX_PIN_LENGTH

FILLED = "●"
EMPTY = "○"

_log = logging.getLogger("qingka.kiosk")


class PinScreen(KioskScreen):
    """Collects digits and asks the purpose's gate; the app says what an accepted PIN opens."""

    # "technician", "operator" (only with an operator PIN), or "device": the guard in front of
    # the device PIN screen (the technician's PIN, or the operator's where the settings say so).
    purpose = StringProperty("technician")
    entry = StringProperty("")
    title = StringProperty("")
    prompt = StringProperty("")
    dots = StringProperty("")
    message = StringProperty("")
    locked = BooleanProperty(False)
    checking = BooleanProperty(False)  # a slow (hashed) check runs: the keys wait for it
    tries_left = NumericProperty(-1)  # after a wrong entry; -1 before any

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Each opening of the pad has its own number: a verdict for an earlier one is dropped.
        self._opening = 0
        self._failed = False  # the last check could not run at all

    def open(self, purpose: str) -> None:
        """Start a fresh entry for ``purpose``."""
        self._opening += 1
        self.purpose = purpose
        self.entry = ""
        self.tries_left = -1
        self.checking = False
        self._failed = False
        self.refresh()

    def gate(self) -> PinGate:
        """Return the gate of the current purpose."""
        return self.kiosk.gate_for(self.purpose)

    def press(self, digit: str) -> None:
        """Add one digit."""
        if not self.locked and not self.checking and len(self.entry) < MAX_PIN_LENGTH:
            self.entry += digit
            self.refresh()

    def delete(self) -> None:
        """Remove the last digit."""
        self.entry = self.entry[:-1]
        self.refresh()

    def confirm(self) -> None:
        """Check the entry; on success the app carries on with what the PIN guards."""
        if not self.entry or self.checking:
            return
        gate = self.gate()
        entry, self.entry = self.entry, ""
        self._failed = False
        if not gate.slow:
            self._verdict(self._opening, gate.check(entry))
            return
        self.checking = True
        self.refresh()
        threading.Thread(
            target=self._check_aside,
            args=(gate, entry, self._opening),
            name="kiosk PIN check",
            daemon=True,
        ).start()

    def _check_aside(self, gate: PinGate, entry: str, opening: int) -> None:
        """Check on this thread, then hand the verdict to the UI thread."""
        try:
            verdict: Verdict | None = gate.check(entry)
        except (MemoryError, ValueError) as exc:  # scrypt could not get its memory
            _log.warning("the PIN could not be checked: %s", exc)
            verdict = None
        Clock.schedule_once(lambda _dt: self._verdict(opening, verdict), 0)

    def _verdict(self, opening: int, verdict: Verdict | None) -> None:
        if opening != self._opening:
            return  # the pad was left or opened again meanwhile: that entry is over
        self.checking = False
        if verdict is None:
            self._failed = True
            self.refresh()
            return
        if verdict.accepted:
            self.tries_left = -1
            self.refresh()
            self.kiosk.pin_accepted(self.purpose)
            return
        self.tries_left = verdict.tries_left
        self.refresh()

    def refresh(self) -> None:
        """Show the dots and, while locked, the time left."""
        lang = self.kiosk.lang
        if self.purpose == "device":
            by_operator = self.gate() is self.kiosk.pin_gates.get("operator")
            guard = "operator" if by_operator else "technician"
            self.title = tr("pin.device_title", lang)
            self.prompt = tr(f"pin.{guard}_first", lang)
        else:
            self.title = self.prompt = tr(f"pin.{self.purpose}", lang)
        remaining = self.gate().locked_for()
        self.locked = remaining > 0
        if self.checking:
            self.message = tr("pin.checking", lang)
        elif self.locked:
            whole = int(remaining + 0.999)
            self.message = tr("pin.locked", lang, minutes=whole // 60, seconds=whole % 60)
        elif self._failed:
            self.message = tr("pin.check_failed", lang)
        elif self.tries_left > 0:
            self.message = tr("pin.wrong", lang, tries=int(self.tries_left))
        else:
            self.message = ""
        self.dots = " ".join(FILLED for _ in self.entry) if self.entry else " ".join(EMPTY * 4)

    def on_leave(self, *args: Any) -> None:
        """Forget a half-typed PIN, and the verdict of a check still running."""
        self.entry = ""
        self._opening += 1
        self.checking = False
