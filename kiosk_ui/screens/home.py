"""Home: one card per device, the one big button, or a picture asking to plug a device in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.properties import StringProperty

from kiosk_ui.catalog import tr
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.views import card_view
from kiosk_ui.widgets.card import DeviceCard
from kiosk_ui.widgets.layout import show_only


class HomeScreen(KioskScreen):
    """The first thing the shop sees."""

    big_text = StringProperty("")
    plug_note = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cards: dict[str, DeviceCard] = {}

    def on_kv_post(self, base_widget: Any) -> None:
        """Keep a lone card as tall as its scroll area."""
        self.ids.scroller.bind(height=lambda *_: self.refresh())

    def refresh(self) -> None:
        """Show the devices the daemon reports."""
        app = self.kiosk
        board, lang = app.board, app.lang
        present = board.present()
        if not present:
            numbers = ", ".join(d.device_no for d in board.absent())
            self.plug_note = tr("home.plug_absent", lang, number=numbers) if numbers else ""
            show_only(self.ids.body, [self.ids.hint])
            return
        now = datetime.now()
        several = len(present) > 1
        cards = []
        for state in present:
            card = self._cards.get(state.url)
            if card is None:
                card = self._cards[state.url] = DeviceCard()
            card.show(card_view(state, lang, now), lang, own_button=several)
            card.fill = 0 if several else self.ids.scroller.height
            cards.append(card)
        for url in set(self._cards) - {s.url for s in present}:
            del self._cards[url]
        show_only(self.ids.cards, cards)
        running = board.running()
        if several:
            self.big_text = tr("home.running_all" if running else "home.clear_all", lang)
        elif running:
            self.big_text = tr("home.running", lang, percent=running[0].percent)
        else:
            self.big_text = tr("home.clear", lang)
        show_only(self.ids.body, [self.ids.scroller, self.ids.big])
