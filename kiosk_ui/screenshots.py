"""``python -m kiosk_ui.screenshots [DIR]``: every screen, in Chinese and English, at each size.

Writes ``SCENE-LANG-WxH.png`` into DIR (default docs/screenshots) and prints any text that does
not fit; exits 1 if there is one.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from kiosk_ui import boot
from kiosk_ui.fonts import find_font

DEFAULT_DIR = Path("docs/screenshots")


def main(argv: list[str]) -> int:
    """Render every scene into the folder named in ``argv`` (or the default)."""
    out = Path(argv[0]) if argv else DEFAULT_DIR
    with tempfile.TemporaryDirectory(prefix="qingka-kivy-") as home:
        boot.prepare(fullscreen=False, kivy_home=Path(home))
        boot.register_font(find_font())
        # Kivy may load only after prepare().
        from appliance.clock import set_clock  # noqa: PLC0415
        from kiosk_ui.app import KioskApp  # noqa: PLC0415
        from kiosk_ui.catalog import LANGUAGES  # noqa: PLC0415
        from kiosk_ui.gallery import SCENES, GalleryLink, gallery_clock  # noqa: PLC0415
        from kiosk_ui.layout_check import layout_problems  # noqa: PLC0415
        from kiosk_ui.render import RESOLUTIONS, save_png, show_scene  # noqa: PLC0415
        from kiosk_ui.settings import KioskSettings  # noqa: PLC0415

        # The samples' times are relative to the clock: a fixed one gives the same pictures.
        set_clock(gallery_clock())
        boot.finish_frames_offscreen()
        settings = KioskSettings(socket=Path(home) / "none.sock", operator_pin="2580")
        app = KioskApp(settings, link_factory=lambda _listener: GalleryLink())
        app.root = app.build()
        faults = 0
        for size in RESOLUTIONS:
            for lang in LANGUAGES:
                for scene in SCENES:
                    root = show_scene(app, scene, lang, size)
                    name = f"{scene.name}-{lang}-{size[0]}x{size[1]}.png"
                    save_png(root, out / name)
                    for problem in layout_problems(root):
                        faults += 1
                        print(f"{name}: {problem}")
        print(f"{len(RESOLUTIONS) * len(LANGUAGES) * len(SCENES)} screenshots in {out}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
