"""Labels that size themselves to their text, so layouts never clip or overlap words."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ColorProperty, NumericProperty
from kivy.uix.label import Label

from kiosk_ui import theme


class KLabel(Label):
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
