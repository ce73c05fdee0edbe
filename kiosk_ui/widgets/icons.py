"""Icons drawn with Kivy's vector instructions: no image files, sharp at every scale.

Each stage has a shape as well as a colour, so a person who cannot tell red from green still
reads the card. The plug picture shows what to do when no device is attached.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Ellipse, Line, Rectangle, RoundedRectangle, Triangle
from kivy.properties import ColorProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk_ui import theme


class StageIcon(Widget):
    """A square icon: ``kind`` is a stage, a step state (done/current/todo) or a tone."""

    kind = StringProperty("reading")
    ink = ColorProperty(theme.TEXT)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._redraw, size=self._redraw, kind=self._redraw, ink=self._redraw)

    def _redraw(self, *_args: Any) -> None:
        self.canvas.clear()
        side = min(self.width, self.height)
        if side <= 0:
            return
        left = self.center_x - side / 2
        bottom = self.center_y - side / 2
        stroke = max(1.5, side / 12)
        drawer = _DRAWERS.get(self.kind, _draw_dots)
        with self.canvas:
            Color(*self.ink)
            drawer(left, bottom, side, stroke)


def _circle(left: float, bottom: float, side: float, stroke: float) -> None:
    Line(circle=(left + side / 2, bottom + side / 2, side / 2 - stroke), width=stroke)


def _draw_check(left: float, bottom: float, side: float, stroke: float) -> None:
    _circle(left, bottom, side, stroke)
    points = [0.28, 0.52, 0.44, 0.34, 0.74, 0.66]
    Line(
        points=[left + side * p if i % 2 == 0 else bottom + side * p for i, p in enumerate(points)],
        width=stroke,
        joint="round",
        cap="round",
    )


def _draw_clock(left: float, bottom: float, side: float, stroke: float) -> None:
    _circle(left, bottom, side, stroke)
    cx, cy = left + side / 2, bottom + side / 2
    Line(points=[cx, cy + side * 0.28, cx, cy, cx + side * 0.2, cy - side * 0.12], width=stroke)


def _draw_lock(left: float, bottom: float, side: float, stroke: float) -> None:
    body_w, body_h = side * 0.72, side * 0.48
    body_x = left + (side - body_w) / 2
    RoundedRectangle(pos=(body_x, bottom + side * 0.06), size=(body_w, body_h), radius=[side / 10])
    cx = left + side / 2
    Line(
        ellipse=(cx - side * 0.22, bottom + side * 0.38, side * 0.44, side * 0.52, -90, 90),
        width=stroke,
    )


def _draw_warning(left: float, bottom: float, side: float, stroke: float) -> None:
    Line(
        points=[
            left + side * 0.5,
            bottom + side * 0.95,
            left + side * 0.04,
            bottom + side * 0.08,
            left + side * 0.96,
            bottom + side * 0.08,
        ],
        width=stroke,
        close=True,
        joint="round",
    )
    cx = left + side / 2
    Line(points=[cx, bottom + side * 0.68, cx, bottom + side * 0.4], width=stroke, cap="round")
    dot = stroke * 1.4
    Ellipse(pos=(cx - dot / 2, bottom + side * 0.2), size=(dot, dot))


def _draw_dots(left: float, bottom: float, side: float, stroke: float) -> None:
    dot = side * 0.18
    for i in range(3):
        x = left + side * (0.18 + 0.32 * i) - dot / 2
        Ellipse(pos=(x, bottom + side / 2 - dot / 2), size=(dot, dot))


def _draw_running(left: float, bottom: float, side: float, stroke: float) -> None:
    cx, cy, r = left + side / 2, bottom + side / 2, side / 2 - stroke
    Line(circle=(cx, cy, r, 30, 300), width=stroke, cap="round")
    head = side * 0.22
    Triangle(points=[cx + r - head, cy + head / 2, cx + r + head, cy + head / 2, cx + r, cy - head])


def _draw_current(left: float, bottom: float, side: float, stroke: float) -> None:
    _circle(left, bottom, side, stroke)
    dot = side * 0.44
    Ellipse(pos=(left + (side - dot) / 2, bottom + (side - dot) / 2), size=(dot, dot))


_DRAWERS = {
    "cleared": _draw_check,
    "done": _draw_check,
    "success": _draw_check,
    "needs": _draw_clock,
    "warning": _draw_clock,
    "info": _draw_clock,
    "locked": _draw_lock,
    "attention": _draw_warning,
    "error": _draw_warning,
    "reading": _draw_dots,
    "running": _draw_running,
    "current": _draw_current,
    "todo": _circle,
}


class PlugPicture(Widget):
    """The box with a tax UKey moving into its USB port."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_args: Any) -> None:
        self.canvas.clear()
        # The picture is 2:1; fit it into the widget and centre it.
        unit = min(self.width / 2, self.height)
        if unit <= 0:
            return
        x0 = self.center_x - unit
        y0 = self.center_y - unit / 2
        with self.canvas:
            # The box, its screen and its USB port.
            Color(*theme.HEADER)
            RoundedRectangle(pos=(x0, y0), size=(unit * 0.95, unit), radius=[unit * 0.08])
            Color(*theme.stage_background("cleared"))
            Rectangle(pos=(x0 + unit * 0.1, y0 + unit * 0.35), size=(unit * 0.75, unit * 0.5))
            # The port sticks out of the box's side in the box's colour, its opening dark.
            Color(*theme.HEADER)
            Rectangle(pos=(x0 + unit * 0.94, y0 + unit * 0.09), size=(unit * 0.07, unit * 0.22))
            Color(*theme.BLANK)
            Rectangle(pos=(x0 + unit * 0.965, y0 + unit * 0.13), size=(unit * 0.045, unit * 0.14))
            # The UKey: cap, body and metal plug, pointing left at the port.
            Color(*theme.PRIMARY)
            RoundedRectangle(
                pos=(x0 + unit * 1.38, y0 + unit * 0.07), size=(unit * 0.5, unit * 0.26), radius=[8]
            )
            Color(*theme.TEXT_MUTED)
            Rectangle(pos=(x0 + unit * 1.26, y0 + unit * 0.12), size=(unit * 0.12, unit * 0.16))
            # The arrow: from the UKey to the port.
            Color(*theme.TEXT)
            mid = y0 + unit * 0.2
            Line(points=[x0 + unit * 1.22, mid, x0 + unit * 1.06, mid], width=max(2, unit / 30))
            Triangle(
                points=[
                    x0 + unit * 1.02,
                    mid,
                    x0 + unit * 1.1,
                    mid + unit * 0.07,
                    x0 + unit * 1.1,
                    mid - unit * 0.07,
                ]
            )
