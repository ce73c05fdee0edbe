"""Kiosk memory soak: 10,000 screen changes against the real daemon; RSS must level off.

A box shows its screens for years, so the kiosk's memory has to stop growing once every screen
has been shown. The kiosk runs offscreen against the real daemon (simulated device and bureau),
goes through every screen in turn (home, progress, result, history, the service screen's
sections, both PIN pads) and samples the resident set size as it goes. Plateau: the growth over
the second half of the run, as a fraction of the growth over the first half (warm-up included),
at most 0.25; a growth under the noise floor counts as none.

``--unfinished`` leaves out ``boot.finish_frames_offscreen``, for comparison. SDL's offscreen
window never ends a frame for Mesa, so a frame's drawing stays queued until something else makes
the driver flush (uploading a new texture does): a screen loop that draws no new text grows by up
to a megabyte per change, one that keeps making textures may not. That queue is what
``bench.kiosk`` measured before (+52 MiB from 200 to 600 changes); a box with a display ends
every frame when it swaps buffers.

    python -m bench.kiosk_soak [--changes 10000] [--samples 40] [--unfinished]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from appliance.demo.runner import Demo
from bench.kiosk import rss_mib
from bench.report import figure, finish, say
from kiosk_ui import boot
from kiosk_ui.fonts import find_font

PLATEAU_RATIO = 0.25
# RSS moves by allocator noise; below this a half's growth is taken as none.
NOISE_FLOOR_MIB = 2.0
# Runs shorter than this are smoke tests: the figures print but are not judged.
JUDGED_CHANGES = 2000


def plateau_ratio(samples: list[float]) -> tuple[float, float, float]:
    """Return (first-half growth, second-half growth, ratio) of RSS ``samples`` in MiB."""
    middle = len(samples) // 2
    first = samples[middle] - samples[0]
    second = samples[-1] - samples[middle]
    return first, second, max(0.0, second) / max(first, NOISE_FLOOR_MIB)


def soak(demo: Demo, changes: int, samples: int) -> tuple[list[float], float]:
    """Change screens ``changes`` times; return RSS samples (MiB) and seconds per change."""
    from kivy.base import EventLoop  # noqa: PLC0415 - only after prepare()
    from kivy.core.window import Window  # noqa: PLC0415

    from kiosk_ui.app import KioskApp  # noqa: PLC0415
    from kiosk_ui.settings import KioskSettings  # noqa: PLC0415

    app = KioskApp(KioskSettings(socket=demo.socket))
    app.root = app.build()
    Window.add_widget(app.root)
    app.on_start()
    deadline = time.monotonic() + 60
    while not (app.online and app.board.present()) and time.monotonic() < deadline:
        EventLoop.idle()
    url = app.board.present()[0].url
    technician = app.root.ids.screens.get_screen("technician")
    steps: list[Callable[[], None]] = [
        app.go_home,
        lambda: app.go("progress"),
        lambda: app.go("result"),
        lambda: app.go("history"),
        lambda: app.go("technician"),
        lambda: technician.choose("logs"),
        lambda: technician.choose("devices"),
        lambda: app.open_pin("technician"),
        lambda: app.open_device_pin(url, checked=True),
    ]
    every = max(1, changes // samples)
    memory = []
    started = time.perf_counter()
    for index in range(changes):
        steps[index % len(steps)]()
        EventLoop.idle()
        if index % every == every - 1:
            gc.collect()
            memory.append(rss_mib())
    per_change = (time.perf_counter() - started) / max(1, changes)
    app.dispatch("on_stop")
    return memory, per_change


def main() -> int:
    """Run the soak and print its figures; exit 1 when a judged run does not level off."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--unfinished", action="store_true", help="do not end offscreen frames")
    args = parser.parse_args()
    demo = Demo("needs-clearing", "zh", None)
    with tempfile.TemporaryDirectory(prefix="qingka-kivy-") as home:
        try:
            say("starting the simulators and the daemon…")
            demo.start()
            boot.prepare(fullscreen=False, kivy_home=Path(home))
            boot.register_font(find_font())
            if not args.unfinished:
                boot.finish_frames_offscreen()
            memory, per_change = soak(demo, args.changes, args.samples)
        finally:
            demo.stop()
    first, second, ratio = plateau_ratio(memory)
    say(
        f"RSS every {args.changes // args.samples} screen changes: {[round(m) for m in memory]} MiB"
    )
    say(f"growth: first half {first:+.1f} MiB, second half {second:+.1f} MiB, ratio {ratio:.2f}")
    judged = args.changes >= JUDGED_CHANGES
    level = ratio <= PLATEAU_RATIO
    finish(
        "kiosk_soak",
        {
            "screen_changes": figure(args.changes, "changes"),
            "rss_first_sample_mib": figure(memory[0], "MiB"),
            "rss_last_sample_mib": figure(memory[-1], "MiB"),
            "rss_growth_first_half_mib": figure(first, "MiB"),
            "rss_growth_second_half_mib": figure(second, "MiB", "~0"),
            "plateau_ratio": figure(
                ratio,
                "ratio",
                f"<= {PLATEAU_RATIO}",
                meaning="second-half growth / max(first-half growth, noise floor)",
                noise_floor_mib=NOISE_FLOOR_MIB,
                frames_finished=not args.unfinished,
            ),
            "screen_change_ms": figure(per_change * 1000, "ms"),
        },
    )
    return 1 if judged and not level else 0


if __name__ == "__main__":
    sys.exit(main())
