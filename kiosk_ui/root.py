"""The window's one widget: the screens, the offline notice and provisioning's overlays, then the
blanked screen on top.

It also owns idle blanking: after the idle time without a touch the screen goes black; the touch
that wakes it is swallowed whole (down, moves and up), so waking never presses a button.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kivy.input.motionevent import MotionEvent
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.floatlayout import FloatLayout


class KioskRoot(FloatLayout):
    """Screens plus overlays; blanks itself after ``idle_s`` seconds (0: never)."""

    blanked = BooleanProperty(False)
    idle_s = NumericProperty(0)

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.monotonic = monotonic
        self.last_touch = monotonic()
        self._swallowed: set[int] = set()

    def check_idle(self, keep_awake: bool) -> None:
        """Blank the screen when idle long enough; ``keep_awake`` while a job runs."""
        if keep_awake:
            self.last_touch = self.monotonic()
        elif self.idle_s > 0 and not self.blanked:
            self.blanked = self.monotonic() - self.last_touch >= self.idle_s

    def wake(self) -> None:
        """Light the screen again (a device was plugged in, or a touch)."""
        self.blanked = False
        self.last_touch = self.monotonic()

    def on_touch_down(self, touch: MotionEvent) -> bool:
        """Wake on a touch without passing it on; otherwise note the activity and pass it on."""
        if self.blanked:
            self._swallowed.add(touch.uid)
            self.wake()
            return True
        self.last_touch = self.monotonic()
        return bool(super().on_touch_down(touch))

    def on_touch_move(self, touch: MotionEvent) -> bool:
        """Swallow the moves of a waking touch."""
        if touch.uid in self._swallowed:
            return True
        return bool(super().on_touch_move(touch))

    def on_touch_up(self, touch: MotionEvent) -> bool:
        """Swallow the end of a waking touch."""
        if touch.uid in self._swallowed:
            self._swallowed.discard(touch.uid)
            return True
        return bool(super().on_touch_up(touch))
