"""What every kiosk screen has: a name and a way to show the board's current state."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from kivy.app import App
from kivy.uix.screenmanager import Screen

if TYPE_CHECKING:
    from kiosk_ui.app import KioskApp


class KioskScreen(Screen):
    """A screen that the app refreshes when the daemon's state or the language changes."""

    @property
    def kiosk(self) -> KioskApp:
        """Return the running kiosk app."""
        return cast("KioskApp", App.get_running_app())

    def refresh(self) -> None:
        """Show the current state (called on changes and once a second while shown)."""
