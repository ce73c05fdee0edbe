"""Device PIN: a person enters the tax device's PIN; the daemon stores it and checks it once.

Reached behind the technician PIN (or the operator PIN where the settings allow it). The screen
sends one PIN per deliberate tap and never again by itself: each wrong PIN costs the device one
of its few tries, and the last one locks the certificate.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from appliance.api.errors import ApiError
from kiosk_ui.catalog import tr
from kiosk_ui.pin_views import MAX_DEVICE_PIN, device_pin_view, pin_reply
from kiosk_ui.screens.base import KioskScreen

FILLED = "●"
EMPTY = "○"


class DevicePinScreen(KioskScreen):
    """PIN entry for one device, with its tries left and a warning before the last one."""

    url = StringProperty("")
    entry = StringProperty("")
    dots = StringProperty("")
    device = StringProperty("")
    state_line = StringProperty("")
    tries_line = StringProperty("")
    warning = StringProperty("")
    message = StringProperty("")
    tone = StringProperty("warning")
    confirm_text = StringProperty("")
    locked = BooleanProperty(False)  # the keys are dead: certificate locked, sending, or done
    sending = BooleanProperty(False)
    finished = BooleanProperty(False)  # the PIN was taken: the confirm key goes home

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tries: int | None = None
        self._state: str | None = None
        self._armed = False  # the last try was confirmed once; the next tap sends
        self._dead = False  # the certificate is locked: no PIN can help

    def open(self, url: str) -> None:
        """Start a fresh entry for the device at ``url``."""
        self.url = url
        self.entry = ""
        self._tries = None
        self._state = None
        self._armed = False
        self.sending = False
        self.finished = False
        self.message = ""
        self.refresh()

    def press(self, digit: str) -> None:
        """Add one character."""
        if not self.locked and len(self.entry) < MAX_DEVICE_PIN:
            self.entry += digit
            self._armed = False
            self.message = ""
            self.refresh()

    def delete(self) -> None:
        """Remove the last character."""
        self.entry = self.entry[:-1]
        self._armed = False
        self.refresh()

    def confirm(self) -> None:
        """Send the PIN once; before the device's last try, only on a second tap."""
        app = self.kiosk
        if self.finished or self._dead:
            app.go_home()
            return
        if self.sending or self.locked:
            return
        if not self.entry:
            self._say(tr("devpin.empty", app.lang), "warning")
            return
        state = app.board.get(self.url)
        if state is None:
            return
        view = device_pin_view(state, app.lang, self._tries, self._state)
        if view.warning and not self._armed:
            self._armed = True  # the warning shows; the key now reads "send it"
            self.refresh()
            return
        pin, self.entry = self.entry, ""
        self._armed = False
        self.sending = True
        self._say(tr("devpin.sending", app.lang), "warning")
        app.link.request(
            "set_pin", done=self._answered, failed=self._refused, device=self.url, pin=pin
        )
        self.refresh()

    def _say(self, text: str, tone: str) -> None:
        self.message, self.tone = text, tone

    def _answered(self, reply: Any) -> None:
        self.sending = False
        outcome = pin_reply(reply, self.kiosk.lang)
        self._state = outcome.state_name or self._state
        self._tries = outcome.tries_left if outcome.tries_left is not None else self._tries
        self.finished = outcome.done
        self._say(outcome.message, outcome.tone)
        self.kiosk.link.refresh()  # the device row carries the PIN's new state
        self.refresh()

    def _refused(self, error: ApiError) -> None:
        self.sending = False
        lang = self.kiosk.lang
        if error.code == "A-409":
            self._say(tr("devpin.busy", lang), "warning")
        else:
            text = error.message_zh if lang == "zh" else error.message
            self._say(tr("common.request_failed", lang, message=text, code=error.code), "error")
        self.refresh()

    def refresh(self) -> None:
        """Show the device, its tries left and the entry."""
        app = self.kiosk
        lang = app.lang
        state = app.board.get(self.url)
        if state is None:
            return
        view = device_pin_view(state, lang, self._tries, self._state)
        self.device = view.device
        self.state_line = view.state_line
        self.tries_line = view.tries_line
        self.warning = view.warning if not self.finished else ""
        self._dead = view.locked
        self.locked = view.locked or self.sending or self.finished
        if self.finished or self._dead:
            self.confirm_text = tr("progress.home", lang)
        else:
            self.confirm_text = tr("devpin.send_last" if self._armed else "devpin.send", lang)
        self.dots = " ".join(FILLED for _ in self.entry) if self.entry else " ".join(EMPTY * 4)

    def on_leave(self, *args: Any) -> None:
        """Forget a half-typed PIN."""
        self.entry = ""
        self._armed = False
