"""Progress: the named steps, a bar, the step in plain words and the time it has taken."""

from __future__ import annotations

import time
from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.views import SHOWN_STEPS, progress_view


class StepRow(BoxLayout):
    """One step: its state icon and its name."""

    status = StringProperty("todo")
    text = StringProperty("")


class StepBar(BoxLayout):
    """A thick bar filled to ``percent``."""

    percent = NumericProperty(0)


class ProgressScreen(KioskScreen):
    """The job of the device the app is following."""

    device_title = StringProperty("")
    current = StringProperty("")
    elapsed = StringProperty("")
    percent = NumericProperty(0)
    running = BooleanProperty(False)

    def on_kv_post(self, base_widget: Any) -> None:
        """Make one row per step."""
        for _ in SHOWN_STEPS:
            self.ids.steps.add_widget(StepRow())

    def refresh(self) -> None:
        """Show the followed job as the daemon last reported it."""
        app = self.kiosk
        state = app.followed()
        if state is None:
            return
        view = progress_view(state, app.lang, time.monotonic())
        self.device_title = view.title
        self.current = view.current
        self.elapsed = view.elapsed
        self.percent = view.percent
        self.running = view.running
        rows = list(reversed(self.ids.steps.children))
        for row, line in zip(rows, view.steps, strict=True):
            row.status = line.status
            row.text = line.label
