"""Buttons drawn flat with high-contrast colours; every one at least 48 dp tall."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, OptionProperty
from kivy.uix.behaviors import ButtonBehavior

from kiosk_ui import theme
from kiosk_ui.widgets.text import Typeset

# style: (fill, fill while pressed, text)
_PAINT = {
    "primary": (theme.PRIMARY, theme.PRIMARY_DOWN, theme.ON_PRIMARY),
    "secondary": (theme.SECONDARY, theme.SECONDARY_DOWN, theme.ON_SECONDARY),
    "header": (theme.HEADER_BUTTON, theme.PRIMARY_DOWN, theme.ON_HEADER),
    "danger": (theme.stage_background("locked"), theme.PRIMARY_DOWN, theme.ON_PRIMARY),
}


class KButton(ButtonBehavior, Typeset):
    """A touch button; ``style`` picks its colours, pressing darkens it at once.

    Subclasses change ``min_dp`` and ``wrap`` rather than re-binding height or text_size in a
    rule: Kivy keeps every rule's bindings, so two rules would fight over one property.
    """

    style = OptionProperty("secondary", options=list(_PAINT))
    base_size = NumericProperty(theme.FONT_BUTTON)
    min_dp = NumericProperty(theme.TOUCH_MIN)  # least height, in dp at the reference size
    wrap = BooleanProperty(True)  # wrap words to the width; False: as wide as the words
    fill = ColorProperty(theme.SECONDARY)
    ink = ColorProperty(theme.ON_SECONDARY)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(style=self._paint, state=self._paint, disabled=self._paint)
        self._paint()

    def _paint(self, *_args: Any) -> None:
        up, down, text = _PAINT[self.style]
        if self.disabled:
            self.fill, self.ink = theme.DISABLED, theme.TEXT
        else:
            self.fill, self.ink = (down if self.state == "down" else up), text


class HeaderButton(KButton):
    """A button of the header bar: as wide as its words."""

    min_dp = NumericProperty(theme.HEADER_HEIGHT - 8)
    wrap = BooleanProperty(False)


class BigButton(KButton):
    """The one big button of the home screen."""

    base_size = NumericProperty(theme.FONT_BIG_BUTTON)
