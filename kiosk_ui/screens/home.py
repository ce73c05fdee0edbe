"""Home: one card per device, most urgent first, the one big button, or a plug-in picture."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from appliance.clock import clock
from kiosk_ui.catalog import tr
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.views import ACT_CLEAR, ACT_NONE, HomeButton, by_urgency, card_view, home_button
from kiosk_ui.widgets.card import DeviceCard
from kiosk_ui.widgets.layout import show_only


class HomeScreen(KioskScreen):
    """The first thing the shop sees."""

    big_text = StringProperty("")
    big_action = StringProperty(ACT_CLEAR)
    plug_note = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cards: dict[str, DeviceCard] = {}
        self._button = HomeButton("", ACT_NONE, ())

    def on_kv_post(self, base_widget: Any) -> None:
        """Keep a lone card as tall as its scroll area."""
        self.ids.scroller.bind(height=lambda *_: self.refresh())

    def press_big(self) -> None:
        """Do what the big button says."""
        self.kiosk.act(self._button.action, list(self._button.urls))

    def refresh(self) -> None:
        """Show the devices the daemon reports."""
        app = self.kiosk
        board, lang = app.board, app.lang
        present = by_urgency(board.present())
        if not present:
            numbers = ", ".join(d.device_no for d in board.absent())
            self.plug_note = tr("home.plug_absent", lang, number=numbers) if numbers else ""
            show_only(self.ids.body, [self.ids.hint])
            return
        now = clock().now()
        several = len(present) > 1
        cards, views = [], []
        for state in present:
            card = self._cards.get(state.url)
            if card is None:
                card = self._cards[state.url] = DeviceCard()
            view = card_view(state, lang, now)
            card.show(view, own_button=several)
            card.fill = 0 if several else self.ids.scroller.height
            cards.append(card)
            views.append(view)
        for url in set(self._cards) - {s.url for s in present}:
            del self._cards[url]
        show_only(self.ids.cards, cards)
        self._button = home_button(views, lang)
        self.big_text = self._button.text
        self.big_action = self._button.action
        show_only(self.ids.body, [self.ids.scroller, self.ids.big])
