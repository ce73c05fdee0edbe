"""Sample states of every screen, for the screenshots and the layout tests.

The device readings have the shape of the daemon's ``status``; the outcomes come from the
clearing engine's own classifier, so their wording is exactly what the box says. Times are
relative to the product clock, which the screenshots and layout tests stand at
:data:`GALLERY_NOW`, so rendering twice gives the same pictures. Nothing here runs on the box:
the app only ever learns its state from the daemon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from appliance.bureau import errors as bureau
from appliance.clearing import classify
from appliance.clearing.outcomes import Outcome
from appliance.clearing.steps import JobStep
from appliance.clock import DEFAULT_ZONE, FixedClock, clock, zone_named
from appliance.devices import errors as device_errors
from kiosk_ui.board import Board
from provisioning import errors as provision_errors
from provisioning.report import Outcome as ProvisionOutcome

PERIOD = 202610
NEXT_LOCK = date(2026, 12, 15)
# The evening of 5 November 2026 in Wuhan: the lock dates below count their days from it.
GALLERY_NOW = datetime(2026, 11, 5, 20, 3, tzinfo=zone_named(DEFAULT_ZONE))


def gallery_clock() -> FixedClock:
    """Return a clock standing at :data:`GALLERY_NOW`."""
    return FixedClock(GALLERY_NOW)


def _type(
    code: str, name: str, name_en: str, stage: str, lock: str, days: int, locked: bool = False
) -> dict[str, Any]:
    return {
        "type": code,
        "name": name,
        "name_en": name_en,
        "stage": stage,
        "lock_at": f"{lock}T23:59:59",
        "lock_date": lock,
        "days_to_lock": days,
        "locked": locked,
        "zombie": False,
    }


def _reading(index: int, name: str, family: str, types: list[dict[str, Any]]) -> dict[str, Any]:
    tail = f"{index:07d}"
    return {
        "device_no": f"6619{index:08d}",
        "family": family,
        "taxpayer_id_masked": f"9142**********{tail[-3:]}A",
        "taxpayer_name": name,
        "training": False,
        "types": types,
    }


def _row(url: str, reading: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "url": url,
        "present": True,
        "busy": False,
        "clearing": False,
        "device": reading,
        "error": None,
        "progress": None,
        "last_outcome": None,
        "retry_in_s": None,
        "last_success": None,
    }
    row.update(extra)
    return row


def _ago(**delta: float) -> str:
    return (clock().now() - timedelta(**delta)).isoformat(timespec="milliseconds")


def _later(**delta: float) -> str:
    return (clock().now() + timedelta(**delta)).isoformat(timespec="seconds")


SHOP = "武汉江汉示范商贸有限公司"
NEEDS_TYPES = [
    _type("007", "增值税普通发票", "VAT ordinary invoice", "needs-report", "2026-11-16", 11),
    _type(
        "026", "增值税电子普通发票", "VAT e-invoice (ordinary)", "needs-report", "2026-11-16", 11
    ),
]
CLEARED_TYPES = [
    _type("007", "增值税普通发票", "VAT ordinary invoice", "cleared", "2026-12-15", 40),
]
LOCKED_TYPES = [
    _type("004", "增值税专用发票", "VAT special invoice", "needs-report", "2026-10-27", -9, True),
]


def one_device() -> dict[str, Any]:
    """Return a status with one UKey due for clearing."""
    reading = _reading(0, SHOP, "税务UKey", NEEDS_TYPES)
    success = {"at": _ago(days=31), "kind": "done", "new_lock_date": "2026-11-16"}
    return {"devices": [_row("sim://shop", reading, last_success=success)]}


def several_devices() -> dict[str, Any]:
    """Return a status with a cleared, a locked and an unreadable device."""
    cleared = _reading(2, "汉阳区示范餐饮有限公司", "税务UKey", CLEARED_TYPES)
    locked = _reading(1, "武昌区便民小卖部", "税控盘", LOCKED_TYPES)
    wrong_pin = classify.outcome_for(device_errors.PinRejected(2), "", None, JobStep.PRECHECK)
    error = {
        "code": "D-101",
        "message_zh": wrong_pin.message_zh,
        "message_en": wrong_pin.message_en,
    }
    pin = {"state": "rejected", "tries_left": 2}
    # In the daemon's order (by URL): the home screen puts the locked one first.
    return {
        "devices": [
            _row("sim://a", cleared, last_success={"at": _ago(hours=2), "kind": "done"}),
            _row("sim://b", locked),
            _row("sim://c", None, error=error, pin=pin),
        ]
    }


def _said(outcome: Outcome) -> dict[str, Any]:
    """Return ``outcome`` as the daemon sends it: with whether a tap can help."""
    return replace(outcome, retry_helps=classify.retry_helps(outcome)).to_json()


def outcome_done() -> dict[str, Any]:
    """Return the outcome of a successful clearing."""
    outcome = classify.done("661900000000", PERIOD, NEXT_LOCK, already=False, locked=False)
    return {**_said(outcome), "at": _ago(seconds=5)}


def outcome_declaration() -> dict[str, Any]:
    """Return the outcome of a clearing refused for a missing declaration."""
    exc = bureau.DeclarationMissing("no declaration")
    outcome = _said(classify.outcome_for(exc, "661900000000", PERIOD, JobStep.CLEAR_REQUEST))
    return {**outcome, "at": _ago(minutes=2), "retry_at": _later(hours=1)}


def outcome_network() -> dict[str, Any]:
    """Return the outcome of a clearing that could not reach the bureau."""
    exc = bureau.BureauUnavailable("down", bureau.CommunicationError("reset"), 5)
    outcome = _said(classify.outcome_for(exc, "661900000000", PERIOD, JobStep.UPLOAD))
    return {**outcome, "at": _ago(minutes=2), "retry_at": _later(minutes=1)}


def outcome_wrong_pin() -> dict[str, Any]:
    """Return the outcome of a clearing stopped by a wrong device PIN."""
    exc = device_errors.PinRejected(2)
    outcome = _said(classify.outcome_for(exc, "661900000000", None, JobStep.PRECHECK))
    return {**outcome, "at": _ago(minutes=7), "retry_at": None}


def history_entries() -> list[dict[str, Any]]:
    """Return a device's outcomes over a year, newest first, with a retry in one period."""
    entries = []
    for back in range(13):
        year, month = divmod(2026 * 12 + 9 - back, 12)
        period = year * 100 + month + 1
        # The newest attempt was this evening; earlier ones early in each month.
        moment = datetime(year, month + 1, 1) + timedelta(days=34, hours=10, minutes=back * 7)
        if back == 0:
            moment = clock().china().replace(hour=19, minute=56, second=0, microsecond=0)
        lock = moment.date().replace(day=15) + timedelta(days=31)
        # One period still waits for its declaration: the shop sees it in the list.
        kind = "needs-human" if back == 5 else "done"
        entries.append(
            {
                "at": moment.isoformat(),
                "kind": kind,
                "period": period,
                "new_lock_date": lock.replace(day=15).isoformat() if kind == "done" else None,
            }
        )
        if back == 2:
            entries.append(
                {
                    "at": (moment - timedelta(days=1)).isoformat(),
                    "kind": "needs-human",
                    "period": period,
                }
            )
    return entries


def diagnostics() -> dict[str, Any]:
    """Return what the daemon's ``diagnostics`` says on a healthy box."""
    return {
        "version": "0.1.0",
        "python": "3.11.2",
        "system": "Linux-6.6.51-v8+-aarch64-with-glibc2.36",
        "hostname": "qingka-0042",
        "addresses": ["192.168.1.42", "fe80::1"],
        "uptime_s": 93784.0,
        "daemon": {"ok": True, "policy": "auto"},
        "bureau": [{"url": "https://etax.hubei.example:443/clear", "reachable": True, "ms": 38.2}],
        "broker": None,
    }


def backups() -> list[dict[str, Any]]:
    """Return three backed-up periods."""
    files = [{"name": "summary-007.bin", "size": 1830, "exported_at": None}] * 6
    return [{"device_no": "661900000000", "period": 202610 - i, "files": files} for i in range(3)]


def logs() -> list[str]:
    """Return a few daemon log lines."""
    return [
        '{"at": "2026-11-05T10:00:01.120", "level": "info", "logger": "qingka.daemon", '
        '"msg": "ready", "socket": "/run/qingka/api.sock"}',
        '{"at": "2026-11-05T10:00:04.531", "level": "info", "logger": "qingka.daemon", '
        '"msg": "step", "step": "upload", "label_zh": "上报汇总", "progress": 35}',
        '{"at": "2026-11-05T10:00:06.904", "level": "info", "logger": "qingka.daemon", '
        '"msg": "outcome", "kind": "done", "code": "J-000", "new_lock_date": "2026-12-15"}',
    ]


BOX_ID = "qk-3f9a2c41d07e"


def provision_working() -> dict[str, Any]:
    """Return provisioning's status file while it applies a stick."""
    return {
        "state": "working",
        "code": None,
        "message_zh": "正在配置…请不要拔出U盘",
        "message_en": "Configuring… do not remove the USB stick",
        "box_id": BOX_ID,
        "started_at": _ago(seconds=42),
        "updated_at": _ago(seconds=42),
        "pid": 4242,
    }


def _provision_result(
    result: str, code: str, detail: str = "", serial: int | None = 8, report: bool = True
) -> Callable[[], dict[str, Any]]:
    """Return a maker of provisioning's status file after an apply (its own words and codes)."""

    def make() -> dict[str, Any]:
        outcome = ProvisionOutcome(result, code, detail=detail, box_id=BOX_ID, serial=serial)
        return {
            "state": result,
            **outcome.summary(),
            "started_at": _ago(seconds=50),
            "updated_at": _ago(seconds=3),
            "pid": 4242,
            "report": report,
        }

    return make


provision_applied = _provision_result("applied", provision_errors.APPLIED)
provision_enrolled = _provision_result("enrolled", provision_errors.ENROLLMENT_WRITTEN, serial=None)
provision_refused = _provision_result(
    "refused", provision_errors.WrongBox.code, f"this box is {BOX_ID}", serial=9
)
provision_failed = _provision_result(
    "failed",
    provision_errors.ApplyFailed.code,
    "building the configuration: No space left on device",
    report=False,
)


@dataclass(frozen=True)
class Scene:
    """One screenshot: the board's state, the screen, and how to reach it."""

    name: str
    screen: str
    status: Callable[[], dict[str, Any]]
    prepare: Callable[[Board], None] | None = None
    connected: bool = True
    section: str = ""  # the technician screen's section
    history: Callable[[], list[dict[str, Any]]] | None = None  # None: history_entries
    provision: Callable[[], dict[str, Any]] | None = None  # provisioning's status file


def _running(board: Board) -> None:
    state = board.devices["sim://shop"]
    board.requested([state.url])
    state.started_at = board.monotonic() - 42
    for step in (JobStep.PRECHECK, JobStep.COPY_TAX, JobStep.BACKUP, JobStep.UPLOAD):
        board.apply_event(
            {"event": "step", "url": state.url, "step": step.value, "progress": step.progress}
        )


def _outcome(make: Callable[[], dict[str, Any]]) -> Callable[[Board], None]:
    def apply(board: Board) -> None:
        board.apply_event({"event": "outcome", "url": "sim://shop", **make()})

    return apply


def _cleared(board: Board) -> None:
    _outcome(outcome_done)(board)
    state = board.devices["sim://shop"]
    reading = dict(state.reading or {})
    reading["types"] = [
        dict(t, stage="cleared", lock_date="2026-12-15", days_to_lock=40) for t in NEEDS_TYPES
    ]
    state.row = {**state.row, "device": reading, "last_success": {"at": _ago(seconds=5)}}


def _failed(make: Callable[[], dict[str, Any]], **row: Any) -> Callable[[Board], None]:
    """Return a preparation: ``make``'s outcome as the last one ``status`` reports."""

    def apply(board: Board) -> None:
        state = board.devices["sim://shop"]
        board.apply_status({"devices": [{**state.row, "last_outcome": make(), **row}]}, False)

    return apply


def _pin_row(tries: int) -> Callable[[Board], None]:
    return _failed(outcome_wrong_pin, pin={"state": "rejected", "tries_left": tries})


SCENES = (
    Scene("home", "home", one_device),
    Scene("home-retry", "home", one_device, _failed(outcome_network, retry_in_s=60)),
    Scene("home-wrong-pin", "home", one_device, _pin_row(2)),
    Scene("home-cleared", "home", one_device, _cleared),
    Scene("home-several", "home", several_devices),
    Scene("home-no-device", "home", lambda: {"devices": []}),
    Scene("home-offline", "home", one_device, connected=False),
    Scene("progress", "progress", one_device, _running),
    Scene("result-done", "result", one_device, _cleared),
    Scene("result-declaration-missing", "result", one_device, _outcome(outcome_declaration)),
    Scene("result-network-down", "result", one_device, _outcome(outcome_network)),
    Scene("result-wrong-pin", "result", one_device, _outcome(outcome_wrong_pin)),
    Scene("history", "history", one_device),
    Scene("technician", "technician", one_device),
    Scene("technician-backups", "technician", one_device, section="backups"),
    Scene("technician-logs", "technician", one_device, section="logs"),
    Scene("pin", "pin", one_device),
    Scene("device-pin", "device_pin", one_device, _pin_row(1)),
    Scene("history-empty", "history", one_device, history=list),
    Scene("provision-working", "home", one_device, provision=provision_working),
    Scene("provision-applied", "home", one_device, provision=provision_applied),
    Scene("provision-enrolled", "home", one_device, provision=provision_enrolled),
    Scene("provision-refused", "home", one_device, provision=provision_refused),
    Scene("provision-failed", "home", one_device, provision=provision_failed),
)


class GalleryLink:
    """Answers the screens' requests at once from the samples above, as the daemon would."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Callable[[], Any]] = {
            "history": history_entries,
            "diagnostics": diagnostics,
            "backups": backups,
            "logs": logs,
            "clear": lambda: {"queued": []},
        }

    def start(self) -> None:
        """Nothing to connect to."""

    def stop(self) -> None:
        """Nothing to disconnect."""

    def refresh(self) -> None:
        """The samples do not change."""

    def request(
        self,
        cmd: str,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[Any], None] | None = None,
        **args: Any,
    ) -> None:
        """Answer ``cmd`` from the samples."""
        self.requests.append((cmd, args))
        if done is not None and cmd in self.answers:
            done(self.answers[cmd]())
