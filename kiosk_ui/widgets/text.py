"""Labels that size themselves to their text, so layouts never clip or overlap words."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ColorProperty, NumericProperty
from kivy.uix.label import Label

from kiosk_ui import theme
from kiosk_ui.typeset import wrap


class Typeset(Label):
    """A label that breaks its lines as a reader expects (see :mod:`kiosk_ui.typeset`).

    Kivy is handed the text with its line breaks already chosen, measured in the label's own
    font, so its own wrapping never has to cut a word or start a line with "，".
    """

    def texture_update(self, *largs: Any) -> None:
        """Choose the line breaks for the current width and font, then draw as usual."""
        width = self.text_size[0]
        core = self._label
        if width is not None and self.text and not self.markup:
            left, _top, right, _bottom = self.padding
            extents = core.get_cached_extents()
            core.text = wrap(self.text, width - left - right, lambda text: extents(text)[0])
        super().texture_update(*largs)


class KLabel(Typeset):
    """A label that wraps to its width and is exactly as tall as its text.

    ``base_size`` is the font size in sp at the 800x480 reference; the app's scale applies.
    """

    base_size = NumericProperty(theme.FONT_BODY)
    ink = ColorProperty(theme.TEXT)


class FitLabel(Label):
    """A one-line label as wide and tall as its text (for badges and button rows)."""

    base_size = NumericProperty(theme.FONT_BODY)
    ink = ColorProperty(theme.TEXT)
    strong = BooleanProperty(False)
