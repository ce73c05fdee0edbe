"""Turn what happened into an :class:`Outcome`: the boundary where errors become plain words.

Kinds are chosen by exception *type*, never by message text: transient device and bureau errors
are ``retry-later``; a device that is not due is ``not-due``; everything that needs a person
(a PIN, a lock, a declaration, a full disk) is ``needs-human``.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from appliance.bureau import errors as bureau
from appliance.clearing.backoff import RECHECK_DECLARATION
from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.clock import previous_month
from appliance.devices import errors as dev
from appliance.devices.models import Identity
from appliance.taxpayer import mask_taxpayer_id
from appliance.wording import Message, message
from appliance.wording import retry_helps as wording_retry_helps


@runtime_checkable
class Explained(Protocol):
    """An error that can say itself in plain words (bureau and storage errors do)."""

    code: str

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do)."""


# Job-level codes, alongside the device (D-), bureau (B-) and storage (S-) codes.
J_DONE = "J-000"
J_ALREADY = "J-001"
J_NOT_DUE = "J-002"
J_TAXPAYER = "J-301"
J_NOT_VERIFIED = "J-302"
J_INCONSISTENT = "J-303"
J_INTERRUPTED = "J-401"
J_INTERNAL = "J-500"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, dev.TRANSIENT_ERRORS):
        return True
    return isinstance(exc, bureau.TRANSIENT_ERRORS)


def _filing_resolves(exc: BaseException) -> bool:
    """Tell whether the shop's own filing (申报) can lift this refusal."""
    return isinstance(
        exc, (bureau.DeclarationMissing, bureau.DeclarationMismatched, bureau.NotFilingPeriod)
    )


def outcome_for(exc: BaseException, device_no: str, period: int | None, step: JobStep) -> Outcome:
    """Return the outcome of a job that failed with ``exc`` during ``step``."""
    if isinstance(exc, Explained):
        zh, action_zh = exc.text("zh")
        en, action_en = exc.text("en")
    else:
        return fixed(
            J_INTERNAL, device_no, period, f"{type(exc).__name__} during {step.value}: {exc}"
        )
    if isinstance(exc, dev.NotReportTime):
        kind = OutcomeKind.NOT_DUE
    elif _transient(exc):
        kind = OutcomeKind.RETRY_LATER
    else:
        kind = OutcomeKind.NEEDS_HUMAN
    extra = {"recheck": RECHECK_DECLARATION} if _filing_resolves(exc) else {}
    return Outcome(
        kind=kind,
        code=str(exc.code),
        message_zh=zh,
        message_en=en,
        action_zh=action_zh,
        action_en=action_en,
        device_no=device_no,
        period=period,
        detail=f"during {step.value}: {exc}",
        extra=extra,
    )


def _words(code: str, **fields: object) -> Message:
    return message(code).filled(**fields)


def _day_zh(day: date) -> str:
    return f"{day.month}月{day.day}日"


def done(
    device_no: str, period: int | None, new_lock: date, *, already: bool, locked: bool
) -> Outcome:
    """Return the outcome of a job that cleared the device (and unlocked it, if it was)."""
    # What the shop must do next: declare the month before the new lock month, by the lock.
    year, month = previous_month(new_lock.year, new_lock.month)
    words = _words(
        f"{J_DONE}-unlocked" if locked else J_DONE,
        lock=new_lock.isoformat(),
        deadline=_day_zh(new_lock),
        deadline_en=new_lock.isoformat(),
        month=f"{month}月" if year == new_lock.year else f"{year}年{month}月",
        month_en=date(year, month, 1).strftime("%B %Y"),
    )
    return Outcome(
        kind=OutcomeKind.DONE,
        code=J_DONE,
        message_zh=words.zh,
        message_en=words.en,
        action_zh=words.action_zh,
        action_en=words.action_en,
        device_no=device_no,
        period=period,
        new_lock_date=new_lock,
        locked=locked,
        extra={"already_applied": already},
    )


def already_cleared(
    device_no: str,
    lock_date: date,
    due: date | None,
    *,
    elsewhere: bool = False,
    period: int | None = None,
) -> Outcome:
    """Return the outcome for a device that is cleared already."""
    variant = "-elsewhere" if elsewhere else ("-next" if due else "")
    words = _words(
        f"{J_ALREADY}{variant}",
        lock=lock_date.isoformat(),
        due=_day_zh(due) if due else "",
        due_en=due.isoformat() if due else "",
    )
    return Outcome(
        kind=OutcomeKind.ALREADY_CLEARED,
        code=J_ALREADY,
        message_zh=words.zh,
        message_en=words.en,
        action_zh=words.action_zh,
        action_en=words.action_en,
        device_no=device_no,
        period=period,
        new_lock_date=lock_date,
        due_date=due,
    )


def not_due(device_no: str, due: date) -> Outcome:
    """Return the outcome for a period that has not closed yet."""
    words = _words(J_NOT_DUE, due=_day_zh(due), due_en=due.isoformat())
    return Outcome(
        kind=OutcomeKind.NOT_DUE,
        code=J_NOT_DUE,
        message_zh=words.zh,
        message_en=words.en,
        action_zh=words.action_zh,
        action_en=words.action_en,
        device_no=device_no,
        due_date=due,
    )


def taxpayer_mismatch(identity: Identity, expected: str) -> Outcome:
    """Return the outcome for a device of another taxpayer than the box was set up for."""
    words = _words(
        J_TAXPAYER,
        name=identity.taxpayer_name,
        found=mask_taxpayer_id(identity.taxpayer_id),
        expected=mask_taxpayer_id(expected),
    )
    return Outcome(
        kind=OutcomeKind.NEEDS_HUMAN,
        code=J_TAXPAYER,
        message_zh=words.zh,
        message_en=words.en,
        action_zh=words.action_zh,
        action_en=words.action_en,
        device_no=identity.device_no,
    )


def retry_helps(outcome: Outcome) -> bool:
    """Tell whether a person tapping "try again now" can change how ``outcome`` ends.

    Always for ``retry-later``; for ``needs-human`` where the catalogue says a person on the
    spot can fix it (the declaration filed, the device plugged in again), never for a wrong or
    locked PIN, a zombie or training device, or what only the tax office fixes.
    """
    if outcome.kind is OutcomeKind.RETRY_LATER:
        return True
    return outcome.kind is OutcomeKind.NEEDS_HUMAN and wording_retry_helps(outcome.code)


# The kind of each job outcome whose words never change (the words are in the catalogue).
FIXED: dict[str, OutcomeKind] = {
    J_NOT_VERIFIED: OutcomeKind.NEEDS_HUMAN,
    J_INCONSISTENT: OutcomeKind.NEEDS_HUMAN,
    J_INTERRUPTED: OutcomeKind.RETRY_LATER,
    J_INTERNAL: OutcomeKind.NEEDS_HUMAN,
}


def fixed(code: str, device_no: str, period: int | None, detail: str = "") -> Outcome:
    """Return the job outcome of ``code`` with its words from the catalogue."""
    words = message(code)
    return Outcome(
        kind=FIXED[code],
        code=code,
        message_zh=words.zh,
        message_en=words.en,
        action_zh=words.action_zh,
        action_en=words.action_en,
        device_no=device_no,
        period=period,
        detail=detail,
    )


def not_verified(device_no: str, period: int) -> Outcome:
    """Return the outcome when the device does not show the clearing after write-back."""
    return fixed(J_NOT_VERIFIED, device_no, period)


def inconsistent(device_no: str, period: int) -> Outcome:
    """Return the outcome when the device and the journal disagree about a period."""
    return fixed(J_INCONSISTENT, device_no, period)


def interrupted(device_no: str, period: int | None) -> Outcome:
    """Return the outcome of a job stopped because its box closed (it resumes at the next run)."""
    return fixed(J_INTERRUPTED, device_no, period)
