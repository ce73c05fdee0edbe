"""The home screen's card of one device, and the coloured stage badge on it."""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui import theme
from kiosk_ui.views import ACT_CLEAR, ACT_NONE, CardView
from kiosk_ui.widgets.layout import show_only

LONE_CARD_EMPHASIS = 1.3


class StageBadge(BoxLayout):
    """An icon and a word on the stage's colour."""

    stage = StringProperty("reading")
    text = StringProperty("")
    base_size = NumericProperty(theme.FONT_BODY)


class DeviceCard(BoxLayout):
    """Who the device belongs to, where it stands, when it locks."""

    url = StringProperty("")
    title = StringProperty("")
    id_line = StringProperty("")
    device_line = StringProperty("")
    stage = StringProperty("reading")
    stage_text = StringProperty("")
    lock_line = StringProperty("")
    attempt_line = StringProperty("")
    retry_line = StringProperty("")
    last_line = StringProperty("")
    note = StringProperty("")
    button_text = StringProperty("")
    action = StringProperty(ACT_CLEAR)
    urgent = BooleanProperty(False)
    fill = NumericProperty(0)
    emphasis = NumericProperty(1.0)  # a lone card has room for larger words

    def show(self, view: CardView, own_button: bool) -> None:
        """Take the fields of ``view``; ``own_button`` adds a clear button to the card."""
        self.emphasis = 1.0 if own_button else LONE_CARD_EMPHASIS
        self.url = view.url
        self.title = view.title
        self.id_line = view.id_line
        self.device_line = view.device_line
        self.stage = view.stage
        self.stage_text = view.stage_text
        self.lock_line = view.lock_line
        self.attempt_line = view.attempt_line
        self.retry_line = view.retry_line
        self.last_line = view.last_line
        self.note = view.note
        self.urgent = view.stage in ("locked", "needs")
        self.button_text = view.button_text
        self.action = view.action
        lines = [
            self.ids[name]
            for name in ("lock", "attempt", "retry", "last", "note")
            if getattr(self, f"{name}_line" if name != "note" else "note")
        ]
        show_only(self.ids.lines, lines)
        buttons = []
        if own_button and view.action != ACT_NONE:
            buttons.append(self.ids.clear_button)
        if view.has_outcome:
            buttons.append(self.ids.details)
        show_only(self.ids.buttons, buttons)
