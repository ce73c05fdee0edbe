"""What covers the screens: the "service unavailable" notice and the blanked screen."""

from __future__ import annotations

from kivy.input.motionevent import MotionEvent
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget


class OfflineOverlay(BoxLayout):
    """Covers everything while the daemon cannot be reached, and takes every touch then."""

    active = BooleanProperty(False)
    started = BooleanProperty(False)  # False until the first connection: "connecting", not "lost"

    def on_touch_down(self, touch: MotionEvent) -> bool:
        """Swallow touches while shown."""
        return bool(self.active)

    def on_touch_move(self, touch: MotionEvent) -> bool:
        """Swallow touches while shown."""
        return bool(self.active)

    def on_touch_up(self, touch: MotionEvent) -> bool:
        """Swallow touches while shown."""
        return bool(self.active)


class BlankOverlay(Widget):
    """A black screen; the root decides when it shows and what a touch on it does."""

    active = BooleanProperty(False)
