"""What each screen shows, worked out from the board in plain Python (no Kivy).

A view is a frozen record of finished strings and a few flags; a screen copies its fields into
Kivy properties. Keeping the wording here means a test can check every sentence without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from appliance.clearing.steps import JobStep
from kiosk_ui.board import DeviceState
from kiosk_ui.catalog import pick, tr, tr_or
from kiosk_ui.retry import retry_helps

# Stages a card can show, each with a colour and an icon (theme.STAGE_COLOURS, widgets/icons).
CLEARED = "cleared"
NEEDS = "needs"
LOCKED = "locked"
ATTENTION = "attention"
READING = "reading"
RUNNING = "running"
# The steps a person sees on the progress screen; "done" is the result screen's.
SHOWN_STEPS = [step for step in JobStep if step is not JobStep.DONE]
MAX_HISTORY_PERIODS = 12


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Journal times are local and naive; event times carry the box's offset. Show local time.
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def when_text(value: Any, now: datetime) -> str:
    """Return a stored time as "HH:MM" today, else "YYYY-MM-DD HH:MM"; "" when absent."""
    moment = _moment(value)
    if moment is None:
        return ""
    if moment.date() == now.date():
        return f"{moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"


def period_text(period: Any, lang: str) -> str:
    """Return a YYYYMM period as "2026年10月" or "2026-10"."""
    if not isinstance(period, int) or period < 100000:
        return tr("history.no_period", lang)
    year, month = divmod(period, 100)
    return f"{year}年{month}月" if lang == "zh" else f"{year}-{month:02d}"


def elapsed_text(seconds: float) -> str:
    """Return an elapsed time as m:ss."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def uptime_text(seconds: float, lang: str) -> str:
    """Return a duration in hours and minutes, or minutes and seconds when short."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    if hours:
        return tr("duration.hm", lang, hours=hours, minutes=rest // 60)
    return tr("duration.ms", lang, minutes=rest // 60, seconds=rest % 60)


@dataclass(frozen=True)
class CardView:
    """One device on the home screen."""

    url: str
    title: str
    id_line: str
    device_line: str
    stage: str
    stage_text: str
    lock_line: str
    last_line: str
    note: str
    running: bool
    percent: int
    has_outcome: bool


def _types(reading: dict[str, Any] | None) -> list[dict[str, Any]]:
    if reading is None:
        return []
    return [t for t in reading.get("types", []) if isinstance(t, dict)]


def device_stage(state: DeviceState) -> str:
    """Return the stage a card shows for ``state``."""
    if state.running:
        return RUNNING
    reading = state.reading
    types = _types(reading)
    if state.row.get("error") or (reading is not None and reading.get("training")):
        return ATTENTION
    if reading is None:
        return READING
    if any(t.get("zombie") for t in types):
        return ATTENTION
    if any(t.get("locked") for t in types):
        return LOCKED
    cleared = all(t.get("stage") == "cleared" for t in types)
    if not cleared and (state.outcome or {}).get("kind") == "needs-human":
        return ATTENTION
    return CLEARED if cleared else NEEDS


def _lock_line(types: list[dict[str, Any]], lang: str) -> str:
    dated = [t for t in types if _day(t.get("lock_date")) is not None]
    if not dated:
        return ""
    first = min(dated, key=lambda t: str(t["lock_date"]))
    when = str(first["lock_date"])[:10]
    days = first.get("days_to_lock")
    if any(t.get("locked") for t in types):
        return tr("card.locked_since", lang, date=when)
    if isinstance(days, int) and days <= 0:
        return tr("card.lock_today", lang, date=when)
    return tr("card.lock_days", lang, date=when, days=days)


def _note(state: DeviceState, stage: str, lang: str) -> str:
    reading = state.reading
    error = state.row.get("error")
    if isinstance(error, dict):
        code = str(error.get("code", ""))
        message = error.get("message_zh" if lang == "zh" else "message_en")
        if message:
            return f"{message} [{code}]"
        return tr("card.unreadable", lang, code=code)
    if reading is not None and reading.get("training"):
        return tr("card.training", lang)
    if any(t.get("zombie") for t in _types(reading)):
        return tr("card.zombie", lang)
    outcome = state.outcome
    if stage == ATTENTION and outcome:
        return pick(lang, str(outcome.get("message_zh", "")), str(outcome.get("message_en", "")))
    return ""


def card_view(state: DeviceState, lang: str, now: datetime) -> CardView:
    """Return the card of one device."""
    reading = state.reading
    stage = device_stage(state)
    if reading is None:
        title = tr("card.unknown_device", lang)
        id_line = ""
        device_line = tr("card.reading", lang) if stage == READING else ""
    else:
        title = str(reading.get("taxpayer_name") or tr("card.unknown_device", lang))
        id_line = tr("card.taxpayer_id", lang, id=reading.get("taxpayer_id_masked", ""))
        family = str(reading.get("family", ""))
        device_line = tr(
            "card.device",
            lang,
            family=tr_or(f"family.{family}", lang, family),
            number=reading.get("device_no", ""),
        )
    success = state.row.get("last_success")
    if isinstance(success, dict) and success.get("at"):
        last = tr("card.last_cleared", lang, when=when_text(success["at"], now))
    else:
        last = tr("card.never_cleared", lang) if reading is not None else ""
    stage_key = "stage.running" if stage == RUNNING else f"stage.{stage}"
    return CardView(
        url=state.url,
        title=title,
        id_line=id_line,
        device_line=device_line,
        stage=stage,
        stage_text=tr(stage_key, lang),
        lock_line=_lock_line(_types(reading), lang),
        last_line=last,
        note=_note(state, stage, lang),
        running=state.running,
        percent=state.percent,
        has_outcome=state.outcome is not None,
    )


@dataclass(frozen=True)
class StepLine:
    """One named step on the progress screen."""

    label: str
    status: str  # "done", "current" or "todo"


@dataclass(frozen=True)
class ProgressView:
    """The running job of one device."""

    title: str
    current: str
    percent: int
    elapsed: str
    steps: tuple[StepLine, ...]
    running: bool


def _step_label(step: JobStep, lang: str) -> str:
    return step.label_en if lang == "en" else step.label_zh


def progress_view(state: DeviceState, lang: str, monotonic_now: float) -> ProgressView:
    """Return the progress of ``state``'s job."""
    names = [s.value for s in SHOWN_STEPS]
    current_index = names.index(state.step) if state.step in names else -1
    if state.step == JobStep.DONE.value:
        current_index = len(names)
    lines = []
    for index, step in enumerate(SHOWN_STEPS):
        status = "done" if index < current_index else "todo"
        if index == current_index and state.running:
            status = "current"
        elif index == current_index:
            status = "done"
        lines.append(StepLine(_step_label(step, lang), status))
    if state.step is None:
        current = tr("progress.starting", lang) if state.running else tr("progress.idle", lang)
    else:
        current = _step_label(JobStep(state.step), lang) if state.step in [*names, "done"] else ""
    started = state.started_at if state.started_at is not None else monotonic_now
    reading = state.reading
    title = str(reading.get("taxpayer_name")) if reading else tr("card.unknown_device", lang)
    return ProgressView(
        title=title,
        current=current,
        percent=state.percent if state.step is not None else 0,
        elapsed=tr("progress.elapsed", lang, time=elapsed_text(monotonic_now - started)),
        steps=tuple(lines),
        running=state.running,
    )


@dataclass(frozen=True)
class ResultView:
    """The end of a clearing, for the person who asked for it."""

    tone: str  # "success", "info", "warning" or "error"
    title: str
    device: str
    big_label: str
    big_value: str
    what: str
    todo: str
    code_line: str
    auto_line: str
    retry: bool


_TITLES = {
    "done": ("result.done", "success"),
    "already-cleared": ("result.already", "success"),
    "not-due": ("result.not_due", "info"),
    "retry-later": ("result.retry_later", "warning"),
    "needs-human": ("result.needs_human", "error"),
}


def result_view(state: DeviceState, lang: str, now: datetime) -> ResultView:
    """Return the result screen of ``state``'s last outcome."""
    outcome = state.outcome or {}
    kind = str(outcome.get("kind", ""))
    title_key, tone = _TITLES.get(kind, ("result.none", "info"))
    reading = state.reading
    device = str(reading.get("taxpayer_name")) if reading else ""
    lock = _day(outcome.get("new_lock_date"))
    due = _day(outcome.get("due_date"))
    success = kind in ("done", "already-cleared")
    big_label = ""
    big_value = ""
    if success and lock is not None:
        big_label, big_value = tr("result.next_lock", lang), lock.isoformat()
    elif kind == "not-due" and due is not None:
        big_label, big_value = tr("result.due", lang, date=due.isoformat()), ""
    retry_at = when_text(outcome.get("retry_at"), now)
    code = str(outcome.get("code", ""))
    return ResultView(
        tone=tone,
        title=tr(title_key, lang),
        device=device,
        big_label=big_label,
        big_value=big_value,
        what=pick(lang, str(outcome.get("message_zh", "")), str(outcome.get("message_en", ""))),
        todo=pick(lang, str(outcome.get("action_zh", "")), str(outcome.get("action_en", ""))),
        code_line=tr("result.code", lang, code=code) if code and not success else "",
        auto_line=tr("result.auto_retry", lang, when=retry_at) if retry_at else "",
        retry=retry_helps(outcome),
    )


@dataclass(frozen=True)
class HistoryRow:
    """One period of one device."""

    period: str
    kind: str
    outcome: str
    when: str
    lock: str


def history_rows(entries: list[dict[str, Any]], lang: str, now: datetime) -> list[HistoryRow]:
    """Return the last periods of ``entries`` (newest first), the latest attempt of each."""
    rows: list[HistoryRow] = []
    seen: set[Any] = set()
    for entry in entries:
        period = entry.get("period")
        if period in seen:
            continue
        seen.add(period)
        kind = str(entry.get("kind", ""))
        lock = _day(entry.get("new_lock_date"))
        rows.append(
            HistoryRow(
                period=period_text(period, lang),
                kind=kind,
                outcome=tr_or(f"outcome.{kind}", lang, kind),
                when=when_text(entry.get("at"), now),
                lock=lock.isoformat() if lock else "",
            )
        )
        if len(rows) == MAX_HISTORY_PERIODS:
            break
    return rows
