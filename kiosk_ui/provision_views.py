"""What the provisioning overlays say, from a checked status (plain Python, no Kivy).

Provisioning's own words (what happened, what to do, in both languages) come from the status
file, which takes them from the box's one catalogue; the kiosk adds the frame: a title per
result, the box id the office asks for, the code, and whether the report reached the stick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk_ui.catalog import pick, tr
from kiosk_ui.provision_status import ProvisionStatus
from kiosk_ui.views import elapsed_text

# Each result drawn like the result screen's tones (theme.TONE_STAGE).
RESULT_TONES = {"applied": "success", "enrolled": "info", "refused": "error", "failed": "error"}


@dataclass(frozen=True)
class WorkingView:
    """The overlay while provisioning works."""

    title: str
    hint: str
    box_line: str
    elapsed: str


def working_view(status: ProvisionStatus, lang: str, now: datetime) -> WorkingView:
    """Return the "configuring…" overlay for ``status`` at ``now``."""
    started = status.started_at or status.updated_at
    seconds = (now - started).total_seconds()
    return WorkingView(
        title=tr("prov.working", lang),
        hint=tr("prov.working_hint", lang),
        box_line=tr("prov.box", lang, box_id=status.box_id) if status.box_id else "",
        elapsed=tr("progress.elapsed", lang, time=elapsed_text(seconds)) if seconds >= 0 else "",
    )


@dataclass(frozen=True)
class ProvisionResultView:
    """The overlay that tells how provisioning ended."""

    tone: str
    title: str
    box_line: str
    what: str
    todo: str
    code_line: str
    serial_line: str
    report_line: str


def provision_result_view(status: ProvisionStatus, lang: str) -> ProvisionResultView:
    """Return the result overlay for ``status`` (a result, not ``working``)."""
    if status.report is None:
        report = ""
    else:
        report = tr("prov.report_written" if status.report else "prov.report_missing", lang)
    return ProvisionResultView(
        tone=RESULT_TONES.get(status.state, "info"),
        title=tr(f"prov.{status.state}", lang),
        box_line=tr("prov.box", lang, box_id=status.box_id) if status.box_id else "",
        what=pick(lang, status.message_zh, status.message_en),
        todo=pick(lang, status.action_zh, status.action_en),
        code_line=tr("result.code", lang, code=status.code) if status.code else "",
        serial_line=(
            tr("prov.serial", lang, serial=status.serial) if status.serial is not None else ""
        ),
        report_line=report,
    )
