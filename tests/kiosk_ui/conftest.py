"""Kivy for the kiosk tests: offscreen, its home in a temporary folder, the CJK font registered.

Kivy reads its environment on first import and opens its (offscreen) window on first use, so
this runs before any test module of this folder imports it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from kiosk_ui import boot
from kiosk_ui.fonts import find_font

_KIVY_HOME = Path(tempfile.mkdtemp(prefix="qingka-kivy-test-"))
atexit.register(shutil.rmtree, _KIVY_HOME, True)
boot.prepare(fullscreen=False, kivy_home=_KIVY_HOME)
boot.register_font(find_font())

# Textures need the GL context, which comes with the (offscreen) window.
from kivy.base import EventLoop  # noqa: E402

EventLoop.ensure_window()
