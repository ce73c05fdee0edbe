"""Colours and sizes: high contrast on a bright shop counter, touch targets of at least 48 dp.

Every text colour here is at least 7:1 against the background it sits on (WCAG AAA), except the
muted grey, which is still above 9:1 on white.
"""

from __future__ import annotations

Colour = tuple[float, float, float, float]


def rgb(hex_colour: str) -> Colour:
    """Return an RGBA tuple for "#rrggbb"."""
    value = hex_colour.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (red, green, blue, 1.0)


BACKGROUND = rgb("#eef1f5")
SURFACE = rgb("#ffffff")
TEXT = rgb("#111111")
TEXT_MUTED = rgb("#3a3a3a")
HEADER = rgb("#0b2545")
ON_HEADER = rgb("#ffffff")
HEADER_BUTTON = rgb("#1d3d66")
PRIMARY = rgb("#0d47a1")
PRIMARY_DOWN = rgb("#062a63")
ON_PRIMARY = rgb("#ffffff")
SECONDARY = rgb("#dde4ee")
SECONDARY_DOWN = rgb("#b9c6d8")
ON_SECONDARY = rgb("#111111")
DISABLED = rgb("#9e9e9e")
OUTLINE = rgb("#c5cdd8")
BLANK = rgb("#000000")
SCRIM = rgb("#0b2545")  # opaque: text behind a notice would blur it

# Stage of a device: (background, text on it). The icon says the same thing as the colour.
STAGE_COLOURS: dict[str, tuple[Colour, Colour]] = {
    "cleared": (rgb("#1b5e20"), rgb("#ffffff")),
    "needs": (rgb("#ffc107"), rgb("#111111")),
    "locked": (rgb("#b71c1c"), rgb("#ffffff")),
    "attention": (rgb("#5e1a8c"), rgb("#ffffff")),
    "reading": (rgb("#455a64"), rgb("#ffffff")),
    "running": (rgb("#0d47a1"), rgb("#ffffff")),
}
# Tone of a result, drawn like the stage it leads to.
TONE_STAGE = {"success": "cleared", "info": "reading", "warning": "needs", "error": "attention"}
# History outcome kinds, drawn like stages.
KIND_STAGE = {
    "done": "cleared",
    "already-cleared": "cleared",
    "not-due": "reading",
    "retry-later": "needs",
    "needs-human": "attention",
}

# Sizes in dp (sp for text) at the 800x480 reference; the app multiplies by its scale.
HEADER_HEIGHT = 56
TOUCH_MIN = 56
GAP = 12
RADIUS = 12
FONT_SMALL = 16
FONT_BODY = 18
FONT_LARGE = 22
FONT_TITLE = 26
FONT_HUGE = 60
FONT_BUTTON = 20
FONT_BIG_BUTTON = 44


def stage_background(stage: str) -> Colour:
    """Return the background colour of ``stage``."""
    return STAGE_COLOURS.get(stage, STAGE_COLOURS["reading"])[0]


def stage_text(stage: str) -> Colour:
    """Return the text colour on ``stage``'s background."""
    return STAGE_COLOURS.get(stage, STAGE_COLOURS["reading"])[1]
