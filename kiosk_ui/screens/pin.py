"""PIN entry: a keypad for the operator PIN (before clearing) and the technician PIN."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk_ui.catalog import tr
from kiosk_ui.pin_gate import PinGate
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.settings import MAX_PIN_LENGTH

FILLED = "●"
EMPTY = "○"


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
    tries_left = NumericProperty(-1)  # after a wrong entry; -1 before any

    def open(self, purpose: str) -> None:
        """Start a fresh entry for ``purpose``."""
        self.purpose = purpose
        self.entry = ""
        self.tries_left = -1
        self.refresh()

    def gate(self) -> PinGate:
        """Return the gate of the current purpose."""
        return self.kiosk.gate_for(self.purpose)

    def press(self, digit: str) -> None:
        """Add one digit."""
        if not self.locked and len(self.entry) < MAX_PIN_LENGTH:
            self.entry += digit
            self.refresh()

    def delete(self) -> None:
        """Remove the last digit."""
        self.entry = self.entry[:-1]
        self.refresh()

    def confirm(self) -> None:
        """Check the entry; on success the app carries on with what the PIN guards."""
        if not self.entry:
            return
        verdict = self.gate().check(self.entry)
        self.entry = ""
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
        if self.locked:
            whole = int(remaining + 0.999)
            self.message = tr("pin.locked", lang, minutes=whole // 60, seconds=whole % 60)
        elif self.tries_left > 0:
            self.message = tr("pin.wrong", lang, tries=int(self.tries_left))
        else:
            self.message = ""
        self.dots = " ".join(FILLED for _ in self.entry) if self.entry else " ".join(EMPTY * 4)

    def on_leave(self, *args: Any) -> None:
        """Forget a half-typed PIN."""
        self.entry = ""
