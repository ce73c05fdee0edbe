"""Render the kiosk's screens without a display: any size, straight to PNG.

The offscreen window keeps the size it was opened with, so a screen is laid out at the wanted
size on its own and drawn into a framebuffer object of that size instead of the window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kivy.base import EventLoop
from kivy.uix.widget import Widget

from kiosk_ui.board import Board
from kiosk_ui.gallery import GalleryLink, Scene, history_entries
from kiosk_ui.provision_status import parse_status

if TYPE_CHECKING:
    from kiosk_ui.app import KioskApp

RESOLUTIONS = ((800, 480), (1280, 720), (720, 1280))
# Layouts settle over a few frames (a label's size feeds its parent's layout, and so on).
SETTLE_FRAMES = 6


def pump(frames: int = SETTLE_FRAMES) -> None:
    """Run ``frames`` frames of Kivy's loop: clock, input, layout, drawing."""
    for _ in range(frames):
        EventLoop.idle()


def show_scene(app: KioskApp, scene: Scene, lang: str, size: tuple[int, int]) -> Widget:
    """Lay the app's root out at ``size`` showing ``scene`` in ``lang``; return the root."""
    root = app.root
    root.size_hint = (None, None)
    root.size = size
    app.board = Board()
    app.board.apply_status(scene.status(), sync=True)
    if scene.prepare is not None:
        scene.prepare(app.board)
    app.online = scene.connected
    app.ever_online = True
    app.lang = lang
    devices = list(app.board.devices)
    app.follow_url = devices[0] if devices else None
    if isinstance(app.link, GalleryLink):
        app.link.answers["history"] = scene.history or history_entries
    if scene.screen == "pin":
        app.open_pin("operator")
    elif scene.screen == "device_pin" and devices:
        app.open_device_pin(devices[0], checked=True)
    else:
        app.go(scene.screen)
    if scene.section:
        app.current_screen().choose(scene.section)
    # The sample goes through the kiosk's own reader of the file, as on the box.
    status = None
    if scene.provision is not None:
        status = parse_status(json.dumps(scene.provision(), ensure_ascii=False).encode())
    app.provision_working = status if status is not None and status.working else None
    app.provision_result = status if status is not None and not status.working else None
    app.show_provision()
    pump()
    app.refresh()
    pump()
    return root


def save_png(widget: Widget, path: Path) -> None:
    """Draw ``widget`` into ``path`` (PNG) at its own size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    widget.export_as_image().save(str(path), flipped=False)
