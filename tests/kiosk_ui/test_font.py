"""Every character the kiosk can show has a glyph in the registered font: no empty boxes."""

from __future__ import annotations

from kivy.core.text import Label as CoreLabel

from appliance.clearing.steps import JobStep
from appliance.wording import catalog
from kiosk_ui.catalog import STRINGS
from kiosk_ui.gallery import outcome_declaration, outcome_done, outcome_network, outcome_wrong_pin

# A private-use code point no font maps: it draws the font's "missing glyph" (.notdef).
MISSING = "\ue000"
ROBOTO = "data/fonts/Roboto-Regular.ttf"


def _pixels(char: str, font: str | None = None) -> bytes:
    label = CoreLabel(text=char, font_size=32, **({"font_name": font} if font else {}))
    label.refresh()
    return bytes(label.texture.pixels)


def _texts() -> list[str]:
    texts = [text for pair in STRINGS.values() for text in pair]
    texts += [t for step in JobStep for t in (step.label_zh, step.label_en)]
    texts += [t for m in catalog().values() for t in (m.zh, m.en, m.action_zh, m.action_en)]
    for make in (outcome_done, outcome_declaration, outcome_network, outcome_wrong_pin):
        outcome = make()
        texts += [outcome["message_zh"], outcome["action_zh"]]
    texts += ["●○0123456789"]
    return texts


def test_no_character_renders_as_an_empty_box() -> None:
    notdef = _pixels(MISSING)
    chars = sorted({c for text in _texts() for c in text if not c.isspace()})
    assert len(chars) > 300  # Chinese, Latin, digits and punctuation
    boxes = [c for c in chars if _pixels(c) == notdef]
    assert boxes == []


def test_the_check_would_see_empty_boxes() -> None:
    # Kivy's own Roboto has no Chinese: the same comparison flags it.
    notdef = _pixels(MISSING, ROBOTO)
    assert _pixels("清", ROBOTO) == notdef
    assert _pixels("A", ROBOTO) != notdef
