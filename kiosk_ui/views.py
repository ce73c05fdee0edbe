"""What each screen shows, worked out from the board in plain Python (no Kivy).

A view is a frozen record of finished strings and a few flags; a screen copies its fields into
Kivy properties. Keeping the wording here means a test can check every sentence without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from appliance.clearing.steps import JobStep
from appliance.clock import clock
from kiosk_ui.board import DeviceState
from kiosk_ui.catalog import pick, tr, tr_or

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


def moment_of(value: Any) -> datetime | None:
    """Return a stored time as an aware moment in the product's zone (China time), or None.

    The daemon writes times with their UTC offset; a time without one is China time already.
    Either way a person reads China time, whatever the system's time zone is.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return clock().in_zone(moment)


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: date, today: date, lang: str) -> str:
    """Return ``day`` as 今天/昨天/明天, else "11月3日" (this year) or "2025年11月3日"."""
    offset = (day - today).days
    if offset in (-1, 0, 1):
        return tr(("day.yesterday", "day.today", "day.tomorrow")[offset + 1], lang)
    if lang == "en":
        month = _MONTHS_EN[day.month - 1]
        return f"{day.day} {month}" if day.year == today.year else f"{day.day} {month} {day.year}"
    if day.year == today.year:
        return f"{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def when_text(value: Any, now: datetime, lang: str = "zh") -> str:
    """Return a stored time as "今天 19:56", "昨天 08:10", "11月3日 19:56"; "" when absent.

    ``now`` is the product clock's moment; a day name never stands without its time, and a
    time never stands without its day, so "19:56" cannot be read as today when it was not.
    """
    moment = moment_of(value)
    if moment is None:
        return ""
    today = clock().in_zone(now).date()
    return f"{day_text(moment.date(), today, lang)} {moment:%H:%M}"


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


# What a tap on a device's clear button does.
ACT_CLEAR = "clear"  # start a clearing
ACT_PROGRESS = "progress"  # one runs: show it
ACT_PIN = "pin"  # the device PIN is wrong: enter a new one (behind the technician PIN)
ACT_NONE = "none"  # nothing a tap can do: the button is greyed, its words say why
SUCCESS_KINDS = ("done", "already-cleared")
# Device error codes of the PIN: rejected (a new PIN allows one new try), and locked for good.
PIN_REJECTED_CODES = frozenset({"D-101"})
PIN_LOCKED_CODES = frozenset({"D-102"})
ZOMBIE_CODE = "D-206"
TRAINING_CODE = "D-207"


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
    attempt_line: str  # the last attempt that did not clear: when, and what happened
    retry_line: str  # when the box tries again by itself
    last_line: str  # the last clearing, or that there is none on this box
    note: str
    running: bool
    percent: int
    has_outcome: bool
    action: str  # ACT_*
    button_text: str


def _types(reading: dict[str, Any] | None) -> list[dict[str, Any]]:
    if reading is None:
        return []
    return [t for t in reading.get("types", []) if isinstance(t, dict)]


def _idle_stage(state: DeviceState) -> str:
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


def device_stage(state: DeviceState) -> str:
    """Return the stage a card shows for ``state``."""
    return RUNNING if state.running else _idle_stage(state)


# Most urgent first: a locked device, one that needs a person, one due for clearing.
_URGENCY = {LOCKED: 0, ATTENTION: 1, NEEDS: 2, READING: 3, CLEARED: 4}
_NO_DEADLINE = 10**6


def urgency(state: DeviceState) -> tuple[int, int, str]:
    """Return a sort key: stage (locked, needs a person, due), then the nearest lock date."""
    days = [t.get("days_to_lock") for t in _types(state.reading)]
    soonest = min((d for d in days if isinstance(d, int)), default=_NO_DEADLINE)
    return (_URGENCY.get(_idle_stage(state), len(_URGENCY)), soonest, state.device_no)


def by_urgency(states: list[DeviceState]) -> list[DeviceState]:
    """Return ``states`` most urgent first (the daemon's order among equals)."""
    return sorted(states, key=urgency)


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


def pin_problem(state: DeviceState) -> str:
    """Return "rejected" or "locked" when the device PIN stops clearing, else ""."""
    pin = state.row.get("pin")
    if isinstance(pin, dict) and pin.get("state") in ("rejected", "locked"):
        return str(pin["state"])
    codes = {str((state.outcome or {}).get("code", ""))}
    error = state.row.get("error")
    if isinstance(error, dict):
        codes.add(str(error.get("code", "")))
    if isinstance(pin, dict) and pin.get("state") == "ok":
        return ""  # a PIN entered since that outcome was verified
    if codes & PIN_LOCKED_CODES:
        return "locked"
    if codes & PIN_REJECTED_CODES:
        return "rejected"
    return ""


def outcome_retry_helps(outcome: dict[str, Any]) -> bool:
    """Tell whether a "try again now" tap can help after ``outcome``: the daemon says so.

    The daemon's classifier is the one place that knows which failures a person can fix on the
    spot; the kiosk never keeps its own list of codes.
    """
    return outcome.get("retry_helps") is True


def _action(state: DeviceState, stage: str, lang: str) -> tuple[str, str]:
    """Return what a tap on the device's button does, and the button's words."""
    if state.running:
        return ACT_PROGRESS, tr("home.running", lang, percent=state.percent)
    reading = state.reading
    outcome = state.outcome or {}
    code = str(outcome.get("code", ""))
    pin = pin_problem(state)
    if pin == "locked":
        return ACT_NONE, tr("home.pin_locked", lang)
    if pin == "rejected":
        return ACT_PIN, tr("home.enter_pin", lang)
    if (reading is not None and reading.get("training")) or code == TRAINING_CODE:
        return ACT_NONE, tr("home.training", lang)
    if any(t.get("zombie") for t in _types(reading)) or code == ZOMBIE_CODE:
        return ACT_NONE, tr("home.zombie", lang)
    if stage == CLEARED:
        return ACT_NONE, tr("home.cleared", lang)
    kind = outcome.get("kind")
    if kind == "needs-human" and not outcome_retry_helps(outcome) and stage != LOCKED:
        return ACT_NONE, tr("home.needs_person", lang)
    return ACT_CLEAR, tr("home.clear_one", lang)


def _future(value: Any, now: datetime) -> datetime | None:
    moment = moment_of(value)
    return moment if moment is not None and moment > now - timedelta(seconds=1) else None


def _retry_moment(state: DeviceState, now: datetime) -> datetime | None:
    """Return when the box tries again by itself, if it will and that is still to come."""
    outcome = state.outcome or {}
    if outcome.get("kind") in SUCCESS_KINDS:
        return None
    if "retry_at" in outcome:
        return _future(outcome.get("retry_at"), now)
    seconds = state.row.get("retry_in_s")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return now + timedelta(seconds=seconds)
    return None


def _attempt_line(state: DeviceState, lang: str, now: datetime) -> str:
    outcome = state.outcome
    if not outcome or outcome.get("kind") in SUCCESS_KINDS:
        return ""
    what = pick(lang, str(outcome.get("message_zh", "")), str(outcome.get("message_en", "")))
    when = when_text(outcome.get("at"), now, lang)
    if when:
        return tr("card.last_attempt", lang, when=when, what=what)
    return tr("card.last_attempt_undated", lang, what=what)


def _note(state: DeviceState, lang: str, attempt: str) -> str:
    reading = state.reading
    error = state.row.get("error")
    note = ""
    if isinstance(error, dict):
        # The code stays on the result and service screens; the card says it in words.
        message = error.get("message_zh" if lang == "zh" else "message_en")
        note = str(message) if message else tr("card.unreadable", lang)
    elif reading is not None and reading.get("training"):
        note = tr("card.training", lang)
    elif any(t.get("zombie") for t in _types(reading)):
        note = tr("card.zombie", lang)
    return "" if note and note in attempt else note


def card_view(state: DeviceState, lang: str, now: datetime) -> CardView:
    """Return the card of one device at ``now`` (the product clock's moment)."""
    now = clock().in_zone(now)
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
        last = tr("card.last_cleared", lang, when=when_text(success["at"], now, lang))
    else:
        last = tr("card.never_cleared", lang) if reading is not None else ""
    retry = _retry_moment(state, now)
    attempt = "" if state.running else _attempt_line(state, lang, now)
    action, button_text = _action(state, stage, lang)
    stage_key = "stage.running" if stage == RUNNING else f"stage.{stage}"
    return CardView(
        url=state.url,
        title=title,
        id_line=id_line,
        device_line=device_line,
        stage=stage,
        stage_text=tr(stage_key, lang),
        lock_line=_lock_line(_types(reading), lang),
        attempt_line=attempt,
        retry_line=(
            tr("card.auto_retry", lang, when=when_text(retry.isoformat(), now, lang))
            if retry is not None and attempt
            else ""
        ),
        last_line=last,
        note=_note(state, lang, attempt),
        running=state.running,
        percent=state.percent,
        has_outcome=state.outcome is not None,
        action=action,
        button_text=button_text,
    )


@dataclass(frozen=True)
class HomeButton:
    """The one big button of the home screen."""

    text: str
    action: str  # ACT_*
    urls: tuple[str, ...]  # the devices a tap clears (ACT_CLEAR) or the one it is about


def home_button(cards: list[CardView], lang: str) -> HomeButton:
    """Return the big button for ``cards``: one device's action, or "clear all" that can help."""
    if len(cards) == 1:
        card = cards[0]
        text = tr("home.clear", lang) if card.action == ACT_CLEAR else card.button_text
        return HomeButton(text, card.action, (card.url,))
    running = [c.url for c in cards if c.running]
    if running:
        return HomeButton(tr("home.running_all", lang), ACT_PROGRESS, tuple(running))
    helped = tuple(c.url for c in cards if c.action == ACT_CLEAR)
    if helped:
        return HomeButton(tr("home.clear_all", lang), ACT_CLEAR, helped)
    if all(c.stage == CLEARED for c in cards):
        return HomeButton(tr("home.all_cleared", lang), ACT_NONE, ())
    return HomeButton(tr("home.see_cards", lang), ACT_NONE, ())


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
    retry: bool  # a "try again now" button can help
    enter_pin: bool  # the way out of a wrong device PIN: enter a new one
    ok_text: str  # the main button: "done" after a success, "got it" after anything else


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
    now = clock().in_zone(now)
    retry_at = _future(outcome.get("retry_at"), now)
    code = str(outcome.get("code", ""))
    pin = pin_problem(state)
    return ResultView(
        tone=tone,
        title=tr(title_key, lang),
        device=device,
        big_label=big_label,
        big_value=big_value,
        what=pick(lang, str(outcome.get("message_zh", "")), str(outcome.get("message_en", ""))),
        todo=pick(lang, str(outcome.get("action_zh", "")), str(outcome.get("action_en", ""))),
        code_line=tr("result.code", lang, code=code) if code and not success else "",
        auto_line=(
            tr("result.auto_retry", lang, when=when_text(retry_at.isoformat(), now, lang))
            if retry_at is not None
            else ""
        ),
        retry=bool(outcome) and outcome_retry_helps(outcome) and not pin,
        enter_pin=pin == "rejected",
        ok_text=tr("result.ok" if success or not outcome else "result.got_it", lang),
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
                when=when_text(entry.get("at"), now, lang),
                lock=lock.isoformat() if lock else "",
            )
        )
        if len(rows) == MAX_HISTORY_PERIODS:
            break
    return rows
