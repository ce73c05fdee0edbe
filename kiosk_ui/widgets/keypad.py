"""A numeric keypad: ten digits, delete and a confirm key, all at least a finger wide."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from kiosk_ui import theme
from kiosk_ui.widgets.buttons import KButton

# Rows as on a phone; the bottom row has delete, 0 and the confirm key.
DIGIT_ROWS = ("123", "456", "789")


class Keypad(GridLayout):
    """Dispatches ``on_digit(digit)``, ``on_delete()`` and ``on_confirm()``."""

    locked = BooleanProperty(False)  # every key but confirm is dead
    confirm_locked = BooleanProperty(False)
    delete_text = StringProperty("")
    confirm_text = StringProperty("")

    __events__ = ("on_digit", "on_delete", "on_confirm")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cols", 3)
        super().__init__(**kwargs)
        self._digits = []
        for digit in "".join(DIGIT_ROWS):
            self._digits.append(self._key(digit, lambda d=digit: self.dispatch("on_digit", d)))
        self._delete = self._key("", lambda: self.dispatch("on_delete"), base=theme.FONT_BUTTON)
        self._digits.append(self._key("0", lambda: self.dispatch("on_digit", "0")))
        self._confirm = self._key("", lambda: self.dispatch("on_confirm"), base=theme.FONT_BUTTON)
        self._confirm.style = "primary"
        self.bind(
            locked=self._enable,
            confirm_locked=self._enable,
            delete_text=self._words,
            confirm_text=self._words,
        )
        self._enable()

    def _key(self, text: str, action: Any, base: float = theme.FONT_TITLE) -> KButton:
        key = KButton(text=text, base_size=base, size_hint_y=1)
        key.bind(on_release=lambda *_args: action())
        self.add_widget(key)
        return key

    def _enable(self, *_args: Any) -> None:
        for key in (*self._digits, self._delete):
            key.disabled = self.locked
        self._confirm.disabled = self.confirm_locked

    def _words(self, *_args: Any) -> None:
        self._delete.text = self.delete_text
        self._confirm.text = self.confirm_text

    def on_digit(self, digit: str) -> None:
        """A digit key was pressed."""

    def on_delete(self) -> None:
        """The delete key was pressed."""

    def on_confirm(self) -> None:
        """The confirm key was pressed."""
