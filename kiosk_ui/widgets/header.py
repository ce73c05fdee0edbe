"""The bar at the top of every screen: a back button or the tools, and the title."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui.widgets.layout import show_only


class HeaderBar(BoxLayout):
    """Home shows the tools (history, service, language); other screens a back button."""

    title = StringProperty("")
    tools = BooleanProperty(False)
    language = BooleanProperty(False)  # the language switch without the other tools

    __events__ = ("on_back",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(tools=self._arrange, language=self._arrange)

    def on_kv_post(self, base_widget: Any) -> None:
        """Arrange the buttons once the rule has made them."""
        self._arrange()

    def on_back(self) -> None:
        """Go back (the screen binds what that means)."""

    def _arrange(self, *_args: Any) -> None:
        ids = self.ids
        if self.tools:
            widgets = [ids.title, ids.spacer, ids.history, ids.technician, ids.language]
        else:
            widgets = [ids.back, ids.title, ids.spacer]
            if self.language:
                widgets.append(ids.language)
        show_only(self, widgets)
