"""Every screen at each size and in each language: text fits its box, touch targets are big."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior

from kiosk_ui.app import KioskApp
from kiosk_ui.catalog import LANGUAGES
from kiosk_ui.gallery import SCENES, GalleryLink
from kiosk_ui.layout_check import layout_problems
from kiosk_ui.render import RESOLUTIONS, save_png, show_scene
from kiosk_ui.settings import KioskSettings

MIN_TOUCH_DP = 48


# One app per test: pytest-xdist may run tests of other modules, with apps of their own, between
# two tests of this one, and kv's ``app`` must always be the app under test.
@pytest.fixture
def app(tmp_path: Path) -> Iterator[KioskApp]:
    settings = KioskSettings(socket=tmp_path / "none", operator_pin="2580")
    kiosk = KioskApp(settings, link_factory=lambda _listener: GalleryLink())
    kiosk.root = kiosk.build()
    yield kiosk
    kiosk.dispatch("on_stop")  # kv's ``app`` lets go of this app only on its on_stop event


@pytest.mark.parametrize("size", RESOLUTIONS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_screen_fits(app: KioskApp, lang: str, size: tuple[int, int], tmp_path: Path) -> None:
    problems = []
    for scene in SCENES:
        root = show_scene(app, scene, lang, size)
        path = tmp_path / f"{scene.name}-{lang}-{size[0]}x{size[1]}.png"
        save_png(root, path)
        assert path.stat().st_size > 1000, f"{path.name} is empty"
        problems += [f"{scene.name}: {p}" for p in layout_problems(root)]
        buttons = [w for w in root.walk(restrict=True) if isinstance(w, ButtonBehavior)]
        for widget in buttons:
            if widget.opacity > 0 and min(widget.size) < dp(MIN_TOUCH_DP):
                problems.append(f"{scene.name}: button {widget.text!r} is {widget.size}")
    assert problems == []


def test_the_big_button_is_a_third_of_the_screen(app: KioskApp) -> None:
    scene = next(s for s in SCENES if s.name == "home")
    for size in RESOLUTIONS:
        root = show_scene(app, scene, "zh", size)
        big = root.ids.screens.get_screen("home").ids.big
        assert big.height >= size[1] / 3, (size, big.size)


def test_the_check_finds_text_that_does_not_fit(app: KioskApp) -> None:
    scene = next(s for s in SCENES if s.name == "result-declaration-missing")
    root = show_scene(app, scene, "zh", (800, 480))
    label = root.ids.screens.get_screen("result").ids.what
    label.text_size = (label.width, label.height / 2)  # a box half as tall as its words
    label.texture_update()
    assert any("does not fit" in p for p in layout_problems(root))
    label.text_size = (label.width, None)
