"""Result: the new lock date, or what happened, what to do and the code."""

from __future__ import annotations

from kivy.properties import StringProperty

from appliance.clock import clock
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.views import result_view
from kiosk_ui.widgets.layout import show_only


class ResultScreen(KioskScreen):
    """The last outcome of the device the app is following."""

    tone = StringProperty("info")
    title = StringProperty("")
    device = StringProperty("")
    big_label = StringProperty("")
    big_value = StringProperty("")
    what = StringProperty("")
    todo = StringProperty("")
    code_line = StringProperty("")
    auto_line = StringProperty("")
    ok_text = StringProperty("")

    def refresh(self) -> None:
        """Show the followed device's last outcome."""
        app = self.kiosk
        state = app.followed()
        if state is None:
            return
        view = result_view(state, app.lang, clock().now())
        self.tone = view.tone
        self.title = view.title
        self.device = view.device
        self.big_label = view.big_label
        self.big_value = view.big_value
        self.what = view.what
        self.todo = view.todo
        self.code_line = view.code_line
        self.auto_line = view.auto_line
        self.ok_text = view.ok_text
        ids = self.ids
        # A success leads with the new lock date; a failure with what happened and what to do.
        explain = [ids.what_head, ids.what, ids.todo_head, ids.todo, ids.code, ids.auto]
        if view.big_value:
            show_only(ids.lead, [ids.banner, ids.big_label, ids.big_value, ids.todo])
            show_only(ids.detail, [])
        else:
            show_only(ids.lead, [ids.banner, ids.big_label])
            show_only(ids.detail, explain)
        actions = [ids.ok]
        if view.retry:
            actions.insert(0, ids.retry)
        if view.enter_pin:
            actions.insert(0, ids.enter_pin)
        show_only(ids.actions, actions)

    def enter_pin(self) -> None:
        """Open device PIN entry for the followed device (behind the guard PIN)."""
        state = self.kiosk.followed()
        if state is not None:
            self.kiosk.open_device_pin(state.url)
