"""``make kiosk``: simulated device and bureau, the real daemon, and the kiosk in a window.

``python -m kiosk_ui.try_it [SCENARIO]`` (default needs-clearing; see ``qingka demo --help``).
Tap 一键清卡 and watch a whole clearing; close the window to stop everything.
"""

from __future__ import annotations

import sys

from appliance.demo.runner import Demo
from appliance.demo.scenarios import SCENARIOS
from kiosk_ui.main import launch
from kiosk_ui.settings import KioskSettings


def main(argv: list[str]) -> int:
    """Run the scenario named in ``argv`` with the kiosk in front of it."""
    name = argv[0] if argv else "needs-clearing"
    if name not in SCENARIOS:
        print(f"unknown scenario {name!r}; one of: {', '.join(sorted(SCENARIOS))}")
        return 2
    demo = Demo(name, "zh", None)
    try:
        demo.start()
        return launch(KioskSettings(socket=demo.socket, technician_pin="2580"), fullscreen=False)
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
