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
from appliance.devices import errors as dev
from appliance.devices.models import Identity
from appliance.taxpayer import mask_taxpayer_id
from appliance.wording import Message


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


def done(
    device_no: str, period: int | None, new_lock: date, *, already: bool, locked: bool
) -> Outcome:
    """Return the outcome of a job that cleared the device."""
    lock = f"{new_lock.month}月{new_lock.day}日"
    note_zh = "（设备此前已锁定，现已解锁）" if locked else ""
    note_en = " (the device was locked; it is unlocked now)" if locked else ""
    return Outcome(
        kind=OutcomeKind.DONE,
        code=J_DONE,
        message_zh=f"清卡成功{note_zh}，下次锁定日期 {new_lock.isoformat()}",
        message_en=f"Cleared{note_en}. The device next locks on {new_lock.isoformat()}",
        action_zh=f"无需操作，请在 {lock} 前完成下月申报",
        action_en=f"Nothing to do; file next month's declaration before {new_lock.isoformat()}",
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
    where_zh = "（已在其他地方完成）" if elsewhere else ""
    where_en = " (done elsewhere)" if elsewhere else ""
    next_zh = f"，{due.month}月{due.day}日起可进行下次清卡" if due else ""
    next_en = f"; the next clearing opens on {due.isoformat()}" if due else ""
    return Outcome(
        kind=OutcomeKind.ALREADY_CLEARED,
        code=J_ALREADY,
        message_zh=f"本期已清卡{where_zh}，锁定日期 {lock_date.isoformat()}",
        message_en=f"Already cleared for this period{where_en}; locks on {lock_date.isoformat()}",
        action_zh=f"无需操作{next_zh}",
        action_en=f"Nothing to do{next_en}",
        device_no=device_no,
        period=period,
        new_lock_date=lock_date,
        due_date=due,
    )


def not_due(device_no: str, due: date) -> Outcome:
    """Return the outcome for a period that has not closed yet."""
    return Outcome(
        kind=OutcomeKind.NOT_DUE,
        code=J_NOT_DUE,
        message_zh=f"还未到清卡时间，{due.month}月{due.day}日起可以清卡",
        message_en=f"Not due yet: clearing opens on {due.isoformat()}",
        action_zh="无需操作，到时本机会自动处理",
        action_en="Nothing to do; the box acts when it is time",
        device_no=device_no,
        due_date=due,
    )


def taxpayer_mismatch(identity: Identity, expected: str) -> Outcome:
    """Return the outcome for a device of another taxpayer than the box was set up for."""
    return Outcome(
        kind=OutcomeKind.NEEDS_HUMAN,
        code=J_TAXPAYER,
        message_zh=(
            f"插入的设备属于 {identity.taxpayer_name}（{mask_taxpayer_id(identity.taxpayer_id)}），"
            f"不是本机登记的纳税人（{mask_taxpayer_id(expected)}）"
        ),
        message_en=(
            f"The device belongs to {mask_taxpayer_id(identity.taxpayer_id)}, not the taxpayer "
            f"this box is set up for ({mask_taxpayer_id(expected)})"
        ),
        action_zh="请插入本店的税控设备，或请技术人员重新配置本机",
        action_en="Plug in this shop's tax device, or have a technician reconfigure the box",
        device_no=identity.device_no,
    )


# needs-human codes a person in front of the box can fix on the spot, so "try again now" helps:
# the declaration was filed, the device plugged in again, offline invoices uploaded, a job that
# was interrupted. Never a wrong or locked PIN (a person sets the PIN; the box never retries
# one), a zombie or training device, a certificate problem, or what only the tax office fixes.
RETRY_HELPS_CODES = frozenset(
    {
        "B-401",  # summary not uploaded or outside the filing period: the box reports first
        "B-402",  # declaration missing: once filed on the e-tax website, clearing goes through
        "B-403",  # declaration corrected on the e-tax website
        "B-104",  # handshake refused: replugging the device usually fixes it
        "B-301",  # summary signature: copy tax again
        "D-000",  # device errors whose action is "unplug, plug in again and retry"
        "D-001",
        "D-002",
        "D-003",
        "D-004",
        "D-103",
        "D-205",  # offline invoices uploaded in the invoicing software
        "D-209",
        J_INTERRUPTED,
    }
)


def retry_helps(outcome: Outcome) -> bool:
    """Tell whether a person tapping "try again now" can change how ``outcome`` ends."""
    if outcome.kind is OutcomeKind.RETRY_LATER:
        return True
    return outcome.kind is OutcomeKind.NEEDS_HUMAN and outcome.code in RETRY_HELPS_CODES


# Job outcomes whose words never change, by code.
FIXED: dict[str, tuple[OutcomeKind, Message]] = {
    J_NOT_VERIFIED: (
        OutcomeKind.NEEDS_HUMAN,
        Message(
            "清卡数据已写入，但设备显示仍未清卡",
            "Clearing data was written but the device still shows not cleared",
            "请联系技术支持核对设备",
            "Call support to check the device",
        ),
    ),
    J_INCONSISTENT: (
        OutcomeKind.NEEDS_HUMAN,
        Message(
            "设备状态与本机记录不一致",
            "The device's state and the box's records disagree",
            "请联系技术支持",
            "Call support",
        ),
    ),
    J_INTERRUPTED: (
        OutcomeKind.RETRY_LATER,
        Message(
            "清卡服务正在停止，任务已安全暂停",
            "The clearing service is stopping; the job paused safely",
            "服务重新启动后会自动继续",
            "It resumes by itself when the service starts again",
        ),
    ),
    J_INTERNAL: (
        OutcomeKind.NEEDS_HUMAN,
        Message(
            "清卡程序内部出错",
            "The clearing program hit an internal error",
            "请联系技术支持并提供错误代码",
            "Call support and give them the code",
        ),
    ),
}


def fixed(code: str, device_no: str, period: int | None, detail: str = "") -> Outcome:
    """Return the job outcome of ``code`` from the table of fixed words."""
    kind, message = FIXED[code]
    return Outcome(
        kind=kind,
        code=code,
        message_zh=message.zh,
        message_en=message.en,
        action_zh=message.action_zh,
        action_en=message.action_en,
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
    """Return the outcome of a job stopped by a daemon shutdown (it resumes at next start)."""
    return fixed(J_INTERRUPTED, device_no, period)
