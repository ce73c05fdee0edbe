"""Find what a person would see as wrong: words that do not fit, break badly, or stray paint.

A label is checked only when a person can see it: it has text and neither it nor any widget
above it is transparent. Inside a scroll view, the view's own box is the limit a label may not
cross sideways; it may extend below, where scrolling reaches it. Overlaps count only within one
layer (one child of the root): an overlay covers the screens on purpose.

The lines checked are the ones Kivy drew: a word cut in two ("Overvi" / "ew"), a line that
starts with closing punctuation ("，以免…") or ends with opening punctuation, and a last line of
one Chinese character ("天）") are faults. So is a panel in the card colour with nothing on it,
which reads as a stray white block.
"""

from __future__ import annotations

from collections.abc import Iterator

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Rectangle, RoundedRectangle
from kivy.metrics import dp
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk_ui import theme
from kiosk_ui.typeset import CLOSING, OPENING, is_cjk

# Rounding in layouts and glyph metrics: a pixel either way is not a visible fault.
TOLERANCE = 1.0

Box = tuple[float, float, float, float]  # left, bottom, right, top in window coordinates


def _visible(widget: Widget) -> bool:
    node: Widget | None = widget
    while node is not None:
        if node.opacity <= 0:
            return False
        # A root put in the window ends at the window, which is its own parent.
        node = node.parent if node.parent is not node else None
    return True


def visible_labels(root: Widget) -> Iterator[Label]:
    """Yield every label of ``root``'s tree with text that can be seen."""
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label) and widget.text.strip() and _visible(widget):
            yield widget


def _box(widget: Widget) -> Box:
    left, bottom = widget.to_window(widget.x, widget.y)
    return (left, bottom, left + widget.width, bottom + widget.height)


def _natural_size(label: Label) -> tuple[float, float]:
    """Return the size of the whole text as it would wrap in ``label``, never cut short."""
    width = label.text_size[0]
    # The label's own lines (a typeset label has chosen its breaks) at the label's width.
    shown = label._label.text if not label.markup and label._label.text else label.text
    measure = CoreLabel(
        text=shown,
        font_size=label.font_size,
        font_name=label.font_name,
        bold=label.bold,
        text_size=(width, None),
        markup=label.markup,
    )
    measure.refresh()
    return measure.content_width, measure.content_height


def _limit(label: Label) -> tuple[Widget, bool]:
    """Return the widget that bounds ``label``: its scroll view, else the root."""
    node = label.parent
    top = label
    while node is not None:
        if isinstance(node, ScrollView):
            return node, True
        top = node
        node = node.parent
    return top, False


def _layer(widget: Widget, root: Widget) -> Widget:
    node = widget
    while node.parent is not None and node.parent is not root:
        node = node.parent
    return node


def _name(label: Label) -> str:
    return f"{type(label).__name__} {label.text[:40]!r}"


def _drawn_lines(label: Label) -> list[str]:
    """Return the lines Kivy laid out for ``label`` (what the screen shows)."""
    lines = getattr(label._label, "_cached_lines", None) or []
    return ["".join(word.text for word in line.words) for line in lines]


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def line_problems(label: Label) -> list[str]:
    """Return the bad line breaks of ``label``, one sentence each.

    Each break between two drawn lines is matched to the label's text: a newline there was put
    by the author and is left alone; anything else is a wrap, and must fall where a reader
    accepts one.
    """
    text = label.text
    lines = _drawn_lines(label)
    problems = []
    pos = 0
    paragraph: list[str] = []
    paragraphs = [paragraph]
    for index, line in enumerate(lines):
        words = line.strip(" ")
        gap = ""
        while pos < len(text) and text[pos] in " \n":
            gap += text[pos]
            pos += 1
        if not words:
            continue
        if text.find(words, pos) != pos:
            return []  # shortened or otherwise not the label's text: nothing to match
        if paragraph and "\n" in gap:
            paragraph = []
            paragraphs.append(paragraph)
        elif paragraph:
            before = paragraph[-1]
            where = f"{_name(label)}: line {index + 1} {words[:12]!r}"
            if words[0] in CLOSING:
                problems.append(f"{where} starts with closing punctuation")
            if before[-1] in OPENING:
                problems.append(f"{where} follows a line ending in opening punctuation")
            if not gap and _is_latin(before[-1]) and _is_latin(words[0]):
                problems.append(f"{where} continues a word broken at {before[-4:]!r}")
        paragraph.append(words)
        pos += len(words)
    for lines_of in paragraphs:
        if len(lines_of) >= 2:
            letters = [c for c in lines_of[-1] if c not in CLOSING and c not in OPENING]
            if len(letters) == 1 and is_cjk(letters[0]):
                problems.append(f"{_name(label)}: last line {lines_of[-1]!r} is one character")
    return problems


# A panel smaller than this is a detail of a picture, not a block a person notices.
MIN_PANEL_DP = 4
_PLAIN = (tuple(theme.SURFACE), tuple(theme.BACKGROUND))


def _shapes(widget: Widget) -> Iterator[tuple[tuple[float, ...], Box]]:
    """Yield the colour and window box of each filled shape ``widget`` paints, in order."""
    # A label's own canvas holds its text; what it paints (a button's fill) is in ``before``.
    main = None if isinstance(widget, Label) else widget.canvas
    for canvas in (widget.canvas.before, main, widget.canvas.after):
        if canvas is None:
            continue
        colour: tuple[float, ...] = ()
        for instruction in canvas.children:
            if isinstance(instruction, Color):
                colour = tuple(instruction.rgba)
            elif isinstance(instruction, Rectangle | RoundedRectangle | Ellipse) and colour:
                x, y = instruction.pos
                w, h = instruction.size
                left, bottom = widget.to_window(x, y)
                yield colour, (left, bottom, left + w, bottom + h)


def _inside(inner: Box, outer: Box) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def empty_panels(root: Widget) -> list[str]:
    """Return every card-coloured panel with nothing on it, lying on the bare page.

    A white shape with text on it is a card; one on a coloured shape painted before it is part
    of an icon or a picture. A white shape on the page with neither is a stray block.
    """
    labels = [_box(label) for label in visible_labels(root)]
    painted: list[Box] = []  # coloured shapes so far, in painting order
    problems = []
    for widget in root.walk(restrict=True):
        if not _visible(widget):
            continue
        for colour, box in _shapes(widget):
            if colour not in _PLAIN:
                painted.append(box)
                continue
            if colour != _PLAIN[0] or min(box[2] - box[0], box[3] - box[1]) < dp(MIN_PANEL_DP):
                continue
            if any(_inside(label, box) for label in labels):
                continue
            if any(_inside(box, under) for under in painted):
                continue
            where = tuple(round(v) for v in box)
            problems.append(f"{type(widget).__name__}: an empty white block at {where}")
    return problems


def layout_problems(root: Widget) -> list[str]:
    """Return every fault a person would see under ``root``, one sentence each."""
    problems = empty_panels(root)
    boxes: list[tuple[Label, Box]] = []
    for label in visible_labels(root):
        problems += line_problems(label)
        width, height = _natural_size(label)
        if width > label.width + TOLERANCE or height > label.height + TOLERANCE:
            problems.append(
                f"{_name(label)}: text {width:.0f}x{height:.0f} does not fit its box "
                f"{label.width:.0f}x{label.height:.0f}"
            )
        box = _box(label)
        limit, scrolling = _limit(label)
        lim = _box(limit)
        if (
            box[0] < lim[0] - TOLERANCE
            or box[2] > lim[2] + TOLERANCE
            or box[3] > lim[3] + TOLERANCE
            # Scrolled content may continue below the view, where scrolling brings it.
            or (box[1] < lim[1] - TOLERANCE and not scrolling)
        ):
            problems.append(f"{_name(label)}: box {box} leaves its area {lim}")
        if scrolling:
            # Only the part inside the scroll view is drawn; the rest is clipped away.
            box = (
                max(box[0], lim[0]),
                max(box[1], lim[1]),
                min(box[2], lim[2]),
                min(box[3], lim[3]),
            )
            if box[2] - box[0] <= TOLERANCE or box[3] - box[1] <= TOLERANCE:
                continue
        boxes.append((label, box))
    for index, (first, a) in enumerate(boxes):
        for second, b in boxes[index + 1 :]:
            if _layer(first, root) is not _layer(second, root):
                continue
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            if overlap_w > TOLERANCE and overlap_h > TOLERANCE:
                problems.append(f"{_name(first)} overlaps {_name(second)}")
    return problems
