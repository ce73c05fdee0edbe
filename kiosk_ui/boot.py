"""Set Kivy up before its window exists: size, full screen, quiet logs, the font.

Kivy reads its environment when first imported and opens its window when ``kivy.core.window``
is first imported, so :func:`prepare` must run before any of that: the entry point, the tests
and the benchmark call it first.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

REFERENCE_SIZE = (800, 480)
FONT_NAME = "Roboto"  # Kivy's default name: registering the CJK file under it reaches every widget


def prepare(
    *,
    fullscreen: bool,
    size: tuple[int, int] = REFERENCE_SIZE,
    kivy_home: Path | None = None,
    quiet: bool = True,
) -> None:
    """Configure Kivy for the kiosk; call before importing anything of Kivy's but its config.

    ``quiet`` keeps Kivy's informational start-up lines out of the log.
    """
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # the kiosk parses its own arguments
    # Kivy's own mode would take over stderr and the root logger; the box logs to journald.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    if kivy_home is not None:
        os.environ["KIVY_HOME"] = str(kivy_home)
    from kivy.config import Config  # noqa: PLC0415 - only after the environment is set

    if quiet:
        logging.getLogger("kivy").setLevel(logging.WARNING)

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    # A shop must not be able to close the kiosk with a keyboard left plugged in.
    Config.set("kivy", "exit_on_escape", "0" if fullscreen else "1")
    # No red multitouch dots on right click when a mouse is used on a desktop.
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "log_enable", "0")


def register_font(path: Path) -> None:
    """Make ``path`` the font of every label."""
    from kivy.core.text import LabelBase  # noqa: PLC0415 - needs prepare() first

    LabelBase.register(FONT_NAME, str(path))


def finish_frames_offscreen() -> None:
    """Make each frame of a window nobody sees finish drawing; call once its window exists.

    Tests, screenshots and benchmarks run on SDL's ``offscreen`` video driver, whose window is an
    EGL pbuffer. Swapping a pbuffer does nothing, so Mesa is never told that a frame is complete:
    every frame's drawing stays queued in the driver, and the process grows by up to a megabyte
    per screen change without end. On the box's display (KMS, X11, Wayland) each swap ends the
    frame and this is not needed. ``glFinish`` rather than ``glFlush``: a benchmark that times
    "the frame that shows the button" then includes the drawing itself.
    """
    from kivy.core.window import Window  # noqa: PLC0415 - needs prepare() first
    from kivy.graphics.opengl import glFinish  # noqa: PLC0415

    Window.bind(on_flip=lambda *_args: glFinish())
