"""Show some of a container's possible children: Kivy layouts have no "hidden" state."""

from __future__ import annotations

from collections.abc import Sequence

from kivy.uix.widget import Widget

# Where a container keeps the children it may show again: ``ids`` holds only weak references,
# so a child taken out of the tree would otherwise be collected.
_KEPT = "_kiosk_kept_children"


def _real(widget: Widget) -> Widget:
    # ``ids`` hands out weak proxies; ``__self__`` is the widget itself.
    real: Widget = widget.__self__
    return real


def show_only(container: Widget, children: Sequence[Widget]) -> None:
    """Make ``children`` (in order) the only children of ``container``, if they are not already."""
    wanted = [_real(child) for child in children]
    kept: list[Widget] = container.__dict__.setdefault(_KEPT, [])
    for child in [*container.children, *wanted]:
        if not any(child is k for k in kept):
            kept.append(child)
    if list(reversed(container.children)) == wanted:
        return
    container.clear_widgets()
    for child in wanted:
        if child.parent is not None:
            child.parent.remove_widget(child)
        container.add_widget(child)
