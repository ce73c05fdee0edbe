"""Find words that do not fit: text bigger than its label, labels outside or over each other.

A label is checked only when a person can see it: it has text and neither it nor any widget
above it is transparent. Inside a scroll view, the view's own box is the limit a label may not
cross sideways; it may extend below, where scrolling reaches it. Overlaps count only within one
layer (one child of the root): an overlay covers the screens on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

from kivy.core.text import Label as CoreLabel
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

# Rounding in layouts and glyph metrics: a pixel either way is not a visible fault.
TOLERANCE = 1.0

Box = tuple[float, float, float, float]  # left, bottom, right, top in window coordinates


def _visible(widget: Widget) -> bool:
    node: Widget | None = widget
    while node is not None:
        if node.opacity <= 0:
            return False
        node = node.parent
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
    measure = CoreLabel(
        text=label.text,
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


def layout_problems(root: Widget) -> list[str]:
    """Return every text-fitting fault under ``root``, one sentence each."""
    problems = []
    boxes: list[tuple[Label, Box]] = []
    for label in visible_labels(root):
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
