"""Drive the kiosk app in a test: start it in the offscreen window, pump frames, touch widgets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests import UnitTestTouch
from kivy.uix.widget import Widget

from kiosk_ui.app import KioskApp, LinkFactory
from kiosk_ui.settings import KioskSettings


def pump(frames: int = 3) -> None:
    """Run ``frames`` frames of Kivy's loop."""
    for _ in range(frames):
        EventLoop.idle()


def pump_until(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run frames until ``check()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        EventLoop.idle()
        value = check()
        if value:
            return value
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_app(settings: KioskSettings, link_factory: LinkFactory | None = None) -> KioskApp:
    """Build the app, put its root in the window and start it as App.run would."""
    EventLoop.ensure_window()
    app = KioskApp(settings, link_factory=link_factory)
    app.root = app.build()
    Window.add_widget(app.root)
    app.on_start()
    pump()
    return app


def stop_app(app: KioskApp) -> None:
    """Take the app's root out of the window and stop the app."""
    Window.remove_widget(app.root)
    pump(1)
    # Dispatched, not called: kv's ``app`` caches the running app until its on_stop event, so
    # this comes last, with no frame after it that could cache this app again.
    app.dispatch("on_stop")


def tap(widget: Widget) -> None:
    """Touch ``widget`` in its middle and let go, as a finger would."""
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    pump(1)
    touch.touch_up()
    pump(3)  # a screen change completes on the frames after the touch


def shown(widget: Widget) -> bool:
    """Tell whether ``widget`` can be seen: neither it nor any parent is transparent."""
    node: Widget | None = widget
    while node is not None:
        if node.opacity <= 0:
            return False
        # The window is its own parent.
        node = node.parent if node.parent is not node else None
    return True


def buttons_with_text(root: Widget, text: str) -> Iterator[Widget]:
    """Yield the buttons under ``root`` showing ``text`` that a person can see."""
    from kivy.uix.behaviors import ButtonBehavior  # noqa: PLC0415 - after conftest's set-up

    for widget in root.walk(restrict=True):
        is_button = isinstance(widget, ButtonBehavior)
        if is_button and getattr(widget, "text", None) == text and shown(widget):
            yield widget


def button(root: Widget, text: str) -> Widget:
    """Return the one button under ``root`` showing ``text``."""
    found = list(buttons_with_text(root, text))
    assert len(found) == 1, f"{len(found)} buttons say {text!r}"
    return found[0]
