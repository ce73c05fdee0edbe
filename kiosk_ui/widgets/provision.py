"""The provisioning overlays: "configuring…" while a stick is applied, then how it ended.

Both cover every screen and the "service unavailable" notice (provisioning restarts the daemon
on purpose), take every touch while shown and none while hidden, so a tap on 一键清卡 during
an apply does nothing. The app fills them from its provisioning state (see ``KioskApp``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.input.motionevent import MotionEvent
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui.provision_status import ProvisionStatus
from kiosk_ui.provision_views import provision_result_view, working_view
from kiosk_ui.widgets.layout import show_only


class CoverOverlay(BoxLayout):
    """Covers the screens while ``active``: its own widgets get the touch, nothing below does."""

    active = BooleanProperty(False)

    def on_touch_down(self, touch: MotionEvent) -> bool:
        """Pass a touch to this overlay's widgets only while shown, and keep it from the rest."""
        if not self.active:
            return False
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: MotionEvent) -> bool:
        """As on_touch_down."""
        if not self.active:
            return False
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: MotionEvent) -> bool:
        """As on_touch_down."""
        if not self.active:
            return False
        super().on_touch_up(touch)
        return True


class ProvisionWorkingOverlay(CoverOverlay):
    """正在配置…: shown while a live apply works; blocks every tap."""

    title = StringProperty("")
    hint = StringProperty("")
    box_line = StringProperty("")
    elapsed = StringProperty("")

    def show(self, status: ProvisionStatus | None, lang: str, now: datetime) -> None:
        """Show ``status`` (None: hide)."""
        self.active = status is not None
        if status is None:
            return
        view = working_view(status, lang, now)
        self.title, self.hint = view.title, view.hint
        self.box_line, self.elapsed = view.box_line, view.elapsed


class ProvisionResultOverlay(CoverOverlay):
    """How an apply ended: what happened, what to do, the code; 知道了 dismisses it."""

    tone = StringProperty("info")
    title = StringProperty("")
    box_line = StringProperty("")
    what = StringProperty("")
    todo = StringProperty("")
    code_line = StringProperty("")
    serial_line = StringProperty("")
    report_line = StringProperty("")

    def show(self, status: ProvisionStatus | None, lang: str) -> None:
        """Show ``status`` (None: hide)."""
        self.active = status is not None
        if status is None:
            return
        view = provision_result_view(status, lang)
        self.tone, self.title, self.box_line = view.tone, view.title, view.box_line
        self.what, self.todo, self.code_line = view.what, view.todo, view.code_line
        self.serial_line, self.report_line = view.serial_line, view.report_line
        ids = self.ids
        # A line with nothing to say takes no room (a head goes with the words under it).
        groups: list[tuple[Any, ...]] = [(ids.what_head, ids.what), (ids.todo_head, ids.todo)]
        groups += [(ids.code,), (ids.serial,), (ids.report,)]
        show_only(ids.detail, [line for group in groups if group[-1].text for line in group])
