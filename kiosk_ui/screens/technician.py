"""Service: versions, network, what the box reaches, backups with export, the log, language."""

from __future__ import annotations

from functools import partial
from typing import Any

import kivy
from kivy.core.text import Label as CoreLabel
from kivy.metrics import dp, sp
from kivy.properties import ListProperty, StringProperty
from kivy.uix.recycleview import RecycleView

from appliance.api.errors import ApiError
from kiosk_ui import theme
from kiosk_ui.catalog import tr
from kiosk_ui.pin_views import device_pin_view
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.service_views import backup_lines, log_line, overview_lines
from kiosk_ui.typeset import wrap
from kiosk_ui.views import by_urgency
from kiosk_ui.widgets.buttons import KButton
from kiosk_ui.widgets.layout import show_only
from kiosk_ui.widgets.text import KLabel

SECTIONS = ("overview", "backups", "logs", "devices", "language")
LOG_LINES = 200


def _width_of(core: CoreLabel, text: str) -> float:
    width: float = core.get_extents(text)[0]
    return width


class LogView(RecycleView):
    """The last log lines; only the rows on screen get a texture."""

    lines = ListProperty()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Row heights by (text, width): the log moves a few lines between visits, and measuring
        # renders a texture, so only new lines are measured.
        self._heights: dict[tuple[str, float, float], float] = {}
        self.bind(lines=self._layout_rows, width=self._layout_rows)

    def _layout_rows(self, *_args: Any) -> None:
        from kivy.app import App  # noqa: PLC0415 - the app exists once a screen does

        scale = App.get_running_app().scale
        width = max(1.0, self.width - dp(24) * scale)
        font_size = sp(theme.FONT_SMALL) * scale
        heights = {}
        for text in self.lines:
            key = (text, width, font_size)
            if key not in self._heights:
                measure = CoreLabel(font_size=font_size)
                # Measured as the row will draw it: with the typeset line breaks.
                measure.text = wrap(text, width, partial(_width_of, measure))
                measure.usersize = (width, None)
                measure.refresh()
                self._heights[key] = measure.content_height + dp(6) * scale
            heights[key] = self._heights[key]
        self._heights = heights
        self.data = [{"text": text, "height": height} for (text, _, _), height in heights.items()]


class TechnicianScreen(KioskScreen):
    """Shown after the technician PIN."""

    section = StringProperty("overview")
    export_status = StringProperty("")
    backups_note = StringProperty("")
    overview_note = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._diagnostics: dict[str, Any] | None = None
        self._backups: list[dict[str, Any]] = []
        self._logs: list[str] = []
        self._raw_logs: list[str] = []
        self._shown_rows: list[tuple[str, str, bool]] = []

    def on_pre_enter(self, *args: Any) -> None:
        """Read everything afresh each time the screen opens."""
        self.section = "overview"
        self.export_status = ""
        self.load()

    def load(self) -> None:
        """Ask the daemon for diagnostics, backups and the log."""
        link = self.kiosk.link
        self.overview_note = tr("tech.loading", self.kiosk.lang)
        link.request("diagnostics", done=self._got_diagnostics, failed=self._failed)
        link.request("backups", done=self._got_backups, failed=self._failed)
        link.request("logs", done=self._got_logs, failed=self._failed, lines=LOG_LINES)

    def choose(self, section: str) -> None:
        """Show ``section``."""
        self.section = section
        self.refresh()

    def export(self) -> None:
        """Export every backup to the USB stick's folder."""
        app = self.kiosk
        folder = app.settings.usb_dir
        if not folder.is_dir():
            self.export_status = tr("tech.no_usb", app.lang, path=folder)
            return
        self.export_status = tr("tech.exporting", app.lang)
        app.link.request(
            "export_backups", done=self._exported, failed=self._export_failed, directory=str(folder)
        )

    def refresh(self) -> None:
        """Show the chosen section with what the daemon last answered."""
        app = self.kiosk
        lang = app.lang
        ids = self.ids
        lines = overview_lines(self._diagnostics, app.online, kivy.__version__, lang)
        self._fill(ids.overview_lines, lines)
        backups = backup_lines(self._backups, lang)
        self._fill(ids.backup_lines, backups or [tr("tech.backups_empty", lang)])
        self._logs = [log_line(line, lang) for line in self._raw_logs]
        ids.section_logs.lines = self._logs or [tr("tech.logs_empty", lang)]
        self._device_rows(lang)
        for name in SECTIONS:
            ids[f"tab_{name}"].style = "primary" if name == self.section else "secondary"
        show_only(ids.content, [ids[f"section_{self.section}"]])

    def _device_rows(self, lang: str) -> None:
        """One line per plugged-in device with its PIN's state, and a button to enter it."""
        rows = []
        for state in by_urgency(self.kiosk.board.present()):
            view = device_pin_view(state, lang, None)
            state_text = " ".join(t for t in (view.state_line, view.tries_line) if t)
            line = tr("tech.device_pin_row", lang, device=view.device, state=state_text)
            rows.append((line, state.url, view.locked))
        if rows == self._shown_rows and self.ids.device_rows.children:
            return  # unchanged: keep the widgets (refresh runs every second)
        self._shown_rows = rows
        box = self.ids.device_rows
        box.clear_widgets()
        if not rows:
            box.add_widget(KLabel(text=tr("tech.no_devices", lang)))
        for line, url, locked in rows:
            box.add_widget(KLabel(text=line))
            if not locked:
                button = KButton(text=tr("home.enter_pin", lang))
                button.bind(on_release=lambda _b, target=url: self._enter_pin(target))
                box.add_widget(button)

    def _enter_pin(self, url: str) -> None:
        self.kiosk.open_device_pin(url, checked=True)  # the service PIN was entered already

    @staticmethod
    def _fill(box: Any, lines: list[str]) -> None:
        while len(box.children) < len(lines):
            box.add_widget(KLabel())
        while len(box.children) > len(lines):
            box.remove_widget(box.children[0])
        for label, text in zip(reversed(box.children), lines, strict=True):
            label.text = text

    def _got_diagnostics(self, result: Any) -> None:
        self._diagnostics = result if isinstance(result, dict) else None
        self.overview_note = ""
        self.refresh()

    def _got_backups(self, result: Any) -> None:
        self._backups = (
            [b for b in result if isinstance(b, dict)] if isinstance(result, list) else []
        )
        self.refresh()

    def _got_logs(self, result: Any) -> None:
        lines = [str(line) for line in result] if isinstance(result, list) else []
        # Newest first: the technician wants what just happened.
        self._raw_logs = list(reversed(lines))
        self.refresh()

    def _message(self, error: ApiError) -> str:
        return error.message_zh if self.kiosk.lang == "zh" else error.message

    def _failed(self, error: ApiError) -> None:
        self.overview_note = tr(
            "tech.failed", self.kiosk.lang, message=self._message(error), code=error.code
        )
        self.refresh()

    def _exported(self, result: Any) -> None:
        path = result.get("path", "") if isinstance(result, dict) else ""
        self.export_status = tr("tech.export_done", self.kiosk.lang, path=path)
        self.kiosk.link.request("backups", done=self._got_backups, failed=self._failed)

    def _export_failed(self, error: ApiError) -> None:
        self.export_status = tr(
            "tech.export_failed", self.kiosk.lang, message=self._message(error), code=error.code
        )
