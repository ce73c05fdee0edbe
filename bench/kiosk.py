"""Kiosk responsiveness, offscreen: tap to first feedback, cold start, memory over screen changes.

Tap to feedback: a synthetic touch on 一键清卡 against the real daemon (simulated device, and a
simulated bureau that cannot be reached, so that every tap starts a clearing); the time from
the touch event to the end of the first frame (buffer flip) that shows the pressed button, and
from the finger lifting to the first frame of the progress screen.
Cold start: from launching ``python`` to the first frame of the kiosk, in a fresh process.
Memory: resident set size after 200 screen changes (the first 100 warm up every screen with the
daemon's data) and how it moves over 400 more: growth should be ~0. The window is SDL's
offscreen one, whose frames only end when the kiosk says so (``boot.finish_frames_offscreen``);
``bench.kiosk_soak`` runs 10,000 changes and shows what happens without that.

    python -m bench.kiosk [--taps N] [--starts N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from appliance.demo.runner import Demo
from bench.report import figure, finish, say
from kiosk_ui import boot
from kiosk_ui.fonts import find_font

SCREENS = ("home", "progress", "result", "history", "technician", "pin")
PAGE_SIZE = 4096
FIRST_FRAME = "first-frame"
# Every screen is shown with the daemon's real data before memory is counted.
WARM_UP_CHANGES = 100


def rss_mib() -> float:
    """Return this process's resident set size in MiB."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * PAGE_SIZE / 1024 / 1024


def child_cold_start(socket: str) -> None:
    """Run the kiosk app until its first frame, then print the wall time of that frame."""
    with tempfile.TemporaryDirectory(prefix="qingka-kivy-") as home:
        boot.prepare(fullscreen=False, kivy_home=Path(home))
        boot.register_font(find_font())
        from kivy.core.window import Window  # noqa: PLC0415 - only after prepare()

        from kiosk_ui.app import KioskApp  # noqa: PLC0415
        from kiosk_ui.settings import KioskSettings  # noqa: PLC0415

        app = KioskApp(KioskSettings(socket=Path(socket)))

        def first_frame(*_args: Any) -> None:
            print(f"{FIRST_FRAME} {time.time():.6f}", flush=True)
            Window.unbind(on_flip=first_frame)
            app.stop()

        Window.bind(on_flip=first_frame)
        app.run()


def cold_starts(socket: Path, count: int) -> list[float]:
    """Return the seconds from launching a kiosk process to its first frame, ``count`` times."""
    times = []
    for _ in range(count):
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "bench.kiosk", "--child-cold-start", str(socket)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith(FIRST_FRAME))
        times.append(float(line.split()[1]) - started)
    return times


class Frames:
    """Remembers when the window last flipped a frame."""

    def __init__(self) -> None:
        self.last = 0.0

    def flipped(self, *_args: Any) -> None:
        """Note the end of a frame."""
        self.last = time.perf_counter()


def measure_taps(demo: Demo, taps: int) -> tuple[list[float], list[float], list[float], list[int]]:
    """Tap 一键清卡 ``taps`` times; return press and progress feedback times, RSS and objects."""
    from kivy.base import EventLoop  # noqa: PLC0415 - only after prepare()
    from kivy.core.window import Window  # noqa: PLC0415
    from kivy.tests import UnitTestTouch  # noqa: PLC0415

    from kiosk_ui.app import KioskApp  # noqa: PLC0415
    from kiosk_ui.settings import KioskSettings  # noqa: PLC0415

    def frames_until(check: Any, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            EventLoop.idle()
            if check():
                return frames.last
        raise TimeoutError("the kiosk did not get there in time")

    frames = Frames()
    Window.bind(on_flip=frames.flipped)
    app = KioskApp(KioskSettings(socket=demo.socket))
    app.root = app.build()
    Window.add_widget(app.root)
    app.on_start()
    manager = app.root.ids.screens
    big = manager.get_screen("home").ids.big
    frames_until(lambda: app.online and app.board.present() and not app.board.running())
    pressed, shown = [], []
    for _ in range(taps):
        frames_until(lambda: not any(d.row.get("busy") for d in app.board.present()))
        x, y = big.to_window(*big.center)
        touch = UnitTestTouch(x, y)
        start = time.perf_counter()
        touch.touch_down()
        pressed.append(frames_until(lambda: big.state == "down") - start)
        start = time.perf_counter()
        touch.touch_up()
        shown.append(frames_until(lambda: manager.current_screen.name == "progress") - start)
        frames_until(lambda: manager.current_screen.name == "result")
        app.go_home()
    memory, objects = [], []
    for rounds in (WARM_UP_CHANGES, *[100] * 5):
        for index in range(rounds):
            app.go(SCREENS[index % len(SCREENS)])
            EventLoop.idle()
        gc.collect()  # count what is still referenced, not garbage waiting for a collection
        memory.append(rss_mib())
        objects.append(len(gc.get_objects()))
    app.dispatch("on_stop")
    return pressed, shown, memory, objects


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--child-cold-start", metavar="SOCKET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_cold_start:
        child_cold_start(args.child_cold_start)
        return
    # The bureau stays unreachable, so every tap starts a clearing: once a device is cleared,
    # its 一键清卡 is greyed and a tap does nothing.
    demo = Demo("network-down", "zh", None)
    with tempfile.TemporaryDirectory(prefix="qingka-kivy-") as home:
        try:
            say("starting the simulators and the daemon…")
            demo.start()
            starts = cold_starts(demo.socket, args.starts)
            say(f"cold start to first frame: {[round(s * 1000) for s in starts]} ms")
            boot.prepare(fullscreen=False, kivy_home=Path(home))
            boot.register_font(find_font())
            boot.finish_frames_offscreen()
            pressed, shown, memory, objects = measure_taps(demo, args.taps)
        finally:
            demo.stop()
    say(f"touch to pressed-button frame: {[round(p * 1000, 1) for p in pressed]} ms")
    say(f"lift to progress-screen frame: {[round(s * 1000, 1) for s in shown]} ms")
    say(
        f"RSS after {WARM_UP_CHANGES} screen changes, then after each 100 more: "
        f"{[round(m, 1) for m in memory]} MiB; Python objects {objects}"
    )
    finish(
        "kiosk",
        {
            "tap_to_pressed_frame_ms": figure(
                statistics.median(pressed) * 1000, "ms", "< 100", samples=len(pressed)
            ),
            "tap_to_progress_frame_ms": figure(
                statistics.median(shown) * 1000, "ms", "< 100", samples=len(shown)
            ),
            "cold_start_to_first_frame_s": figure(
                statistics.median(starts), "s", samples=len(starts)
            ),
            "rss_after_200_screen_changes_mib": figure(memory[1], "MiB"),
            "rss_growth_from_200_to_600_changes_mib": figure(memory[-1] - memory[1], "MiB", "~0"),
            "python_objects_growth_from_200_to_600_changes": figure(
                objects[-1] - objects[1], "objects", "~0", at_200=objects[1]
            ),
        },
    )


if __name__ == "__main__":
    main()
