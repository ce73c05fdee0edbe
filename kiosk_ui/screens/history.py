"""History: the last 12 periods of each device, with the outcome and its dates."""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from appliance.api.errors import ApiError
from appliance.clock import clock
from kiosk_ui.catalog import tr
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.views import HistoryRow, history_rows
from kiosk_ui.widgets.buttons import KButton
from kiosk_ui.widgets.layout import show_only

# Attempts read per device: enough to find 12 periods even with several tries per period.
HISTORY_LIMIT = 200


class HistoryLine(BoxLayout):
    """One period: when, what came of it, the lock date it gave."""

    period = StringProperty("")
    kind = StringProperty("")
    outcome = StringProperty("")
    when = StringProperty("")
    lock = StringProperty("")


class HistoryScreen(KioskScreen):
    """One device's periods at a time; a button per device when there are several."""

    device_no = StringProperty("")
    device_label = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries: list[dict[str, Any]] | None = None
        self._loaded_for = ""  # the device whose history was last asked for
        self._shown_for = ""  # the device whose rows are in _entries

    def on_pre_enter(self, *args: Any) -> None:
        """Read the history afresh each time the screen opens (the old rows show meanwhile)."""
        self._loaded_for = ""
        self.refresh()

    def refresh(self) -> None:
        """Show the chosen device's periods, reading them from the daemon when needed."""
        app = self.kiosk
        read = {d.device_no: d.reading for d in app.board.devices.values() if d.reading}
        numbers = list(read)
        if self.device_no not in numbers:
            self.device_no = numbers[0] if numbers else ""
        reading = read.get(self.device_no) or {}
        self.device_label = f"{reading.get('taxpayer_name', '')}  {self.device_no}".strip()
        self._devices(numbers)
        if self.device_no and self.device_no != self._loaded_for:
            if self._shown_for != self.device_no:
                self._entries = None  # another device's rows must not show under this one
            self._loaded_for = self.device_no
            app.link.request(
                "history",
                done=partial(self._loaded, self.device_no),
                failed=self._failed,
                device=self.device_no,
                limit=HISTORY_LIMIT,
            )
        self._show()

    def choose(self, device_no: str) -> None:
        """Show ``device_no``'s history."""
        self.device_no = device_no
        self.refresh()

    def _chose(self, device_no: str, _button: Any) -> None:
        self.choose(device_no)

    def _devices(self, numbers: list[str]) -> None:
        buttons = []
        if len(numbers) > 1:
            for number in numbers:
                button = KButton(
                    text=number, style="primary" if number == self.device_no else "secondary"
                )
                button.bind(on_release=partial(self._chose, number))
                buttons.append(button)
        self.ids.devices.clear_widgets()
        for button in buttons:
            self.ids.devices.add_widget(button)

    def _loaded(self, device_no: str, rows: Any) -> None:
        if device_no == self.device_no:
            self._entries = (
                [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
            )
            self._shown_for = device_no
            self._show()

    def _failed(self, error: ApiError) -> None:
        self._entries = []
        self._loaded_for = ""
        self.message = tr(
            "common.request_failed", self.kiosk.lang, message=self._text(error), code=error.code
        )

    def _text(self, error: ApiError) -> str:
        return error.message_zh if self.kiosk.lang == "zh" else error.message

    def _show(self) -> None:
        lang = self.kiosk.lang
        if self._entries is None:
            self.message = (
                tr("history.loading", lang) if self.device_no else tr("history.empty", lang)
            )
            rows: list[HistoryRow] = []
        else:
            rows = history_rows(self._entries, lang, clock().now())
            self.message = "" if rows else tr("history.empty", lang)
        table = self.ids.rows
        while len(table.children) < len(rows):
            table.add_widget(HistoryLine())
        while len(table.children) > len(rows):
            table.remove_widget(table.children[0])
        for line, row in zip(reversed(table.children), rows, strict=True):
            line.period, line.kind, line.outcome = row.period, row.kind, row.outcome
            line.when, line.lock = row.when, row.lock
        ids = self.ids
        show_only(ids.body, [ids.head, ids.scroller] if rows else [ids.note_box])
