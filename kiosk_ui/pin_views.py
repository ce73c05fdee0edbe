"""What the device PIN screen says, from the device's row and the daemon's ``set_pin`` reply.

The device counts wrong PINs and locks its certificate at zero, so this screen never sends a
PIN by itself: one tap on "save and check" sends one PIN once, and before the device's last try
it asks for a second, deliberate tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk_ui.board import DeviceState
from kiosk_ui.catalog import tr
from kiosk_ui.views import pin_problem

# The daemon accepts 1 to 16 printable ASCII characters without spaces; the keypad has digits
# only (most tax device PINs are digits), and the screen says that a PIN with letters goes into
# the configuration instead ([pin] file or a device's pin_file).
MAX_DEVICE_PIN = 16


def _tries(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def pin_state(state: DeviceState) -> tuple[str, int | None]:
    """Return the device PIN's state ("ok", "rejected", "locked", "unknown") and tries left."""
    pin = state.row.get("pin")
    if isinstance(pin, dict) and pin.get("state") in ("ok", "rejected", "locked", "unknown"):
        return str(pin["state"]), _tries(pin.get("tries_left"))
    problem = pin_problem(state)  # a daemon from before the row said it: read the outcome
    tries = _tries((state.outcome or {}).get("tries_left"))
    return (problem or "unknown"), (0 if problem == "locked" else tries)


@dataclass(frozen=True)
class DevicePinView:
    """The device PIN screen before a PIN is sent."""

    device: str
    state_line: str
    tries_line: str
    warning: str  # before the last try: what one more wrong PIN does
    locked: bool  # the certificate is locked: no PIN can help


def device_pin_view(
    state: DeviceState, lang: str, tries_left: int | None, state_name: str | None = None
) -> DevicePinView:
    """Return the screen for ``state``; ``tries_left``/``state_name`` from a later reply win."""
    name, tries = pin_state(state)
    name = state_name or name
    tries = tries_left if tries_left is not None else tries
    reading = state.reading or {}
    device = f"{reading.get('taxpayer_name', '')}  {state.device_no}".strip()
    locked = name == "locked" or tries == 0
    return DevicePinView(
        device=device,
        state_line=tr("devpin.state_locked" if locked else f"devpin.state_{name}", lang),
        tries_line=(
            tr("devpin.tries_one" if tries == 1 else "devpin.tries", lang, tries=tries)
            if tries and not locked
            else ""
        ),
        warning=tr("devpin.last_try", lang) if tries == 1 else "",
        locked=locked,
    )


@dataclass(frozen=True)
class PinReply:
    """What became of one PIN sent to the daemon."""

    message: str
    tone: str  # "success", "warning" or "error"
    state_name: str | None  # the PIN's state now, when the reply tells it
    tries_left: int | None
    done: bool  # nothing more to enter: go home


def pin_reply(reply: Any, lang: str) -> PinReply:
    """Return what to say about a ``set_pin`` reply."""
    result = reply if isinstance(reply, dict) else {}
    verified = result.get("verified")
    tries = _tries(result.get("tries_left"))
    if verified is True:
        return PinReply(tr("devpin.verified", lang), "success", "ok", tries, True)
    if verified is False:
        if tries == 0:
            return PinReply(tr("devpin.state_locked", lang), "error", "locked", 0, True)
        text = tr("devpin.rejected_tries", lang, tries=tries) if tries else ""
        return PinReply(text or tr("devpin.rejected", lang), "error", "rejected", tries, False)
    return PinReply(tr("devpin.stored", lang), "warning", None, tries, True)
