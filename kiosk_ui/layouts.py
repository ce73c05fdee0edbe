"""Load the ``.kv`` layouts once, after the classes they name are registered with Kivy."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

# Importing the modules registers their classes in Kivy's factory, which the rules look up.
from kiosk_ui import root  # noqa: F401
from kiosk_ui.screens import (  # noqa: F401
    device_pin,
    history,
    home,
    pin,
    progress,
    result,
    technician,
)
from kiosk_ui.widgets import (  # noqa: F401
    buttons,
    card,
    header,
    icons,
    keypad,
    overlays,
    provision,
    text,
)

HERE = Path(__file__).parent
KV_FILES = (
    "widgets/widgets.kv",
    "widgets/provision.kv",
    "root.kv",
    "screens/home.kv",
    "screens/progress.kv",
    "screens/result.kv",
    "screens/history.kv",
    "screens/technician.kv",
    "screens/pin.kv",
    "screens/device_pin.kv",
)


def load_layouts() -> None:
    """Load every layout file (a second call does nothing)."""
    for name in KV_FILES:
        path = str(HERE / name)
        if path not in Builder.files:
            Builder.load_file(path)
