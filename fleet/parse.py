"""Readers of what boxes publish: capped, typed, and refusing anything off the schema.

Every message comes from the network; a broken or hostile box must never crash a collector or
put garbage in the store. Each reader checks the size first, then decodes, then checks every
field it keeps; anything else raises :class:`~fleet.errors.PayloadError` with plain words.
``docs/fleet.md`` is the schema.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleet.errors import PayloadError

# Health is under 1 KiB for two devices; 64 KiB allows a box with many devices and then some.
MAX_HEALTH_BYTES = 64 * 1024
MAX_EVENT_BYTES = 16 * 1024
MAX_ALERT_BYTES = 4 * 1024
MAX_STATUS_BYTES = 16
# A diagnostics result carries 200 log lines.
MAX_RESULT_BYTES = 1024 * 1024
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEVICE_NO = re.compile(r"[A-Za-z0-9_-]{1,64}")
STAGES = ("needs-report", "reported-not-cleared", "cleared")
STATUSES = ("online", "offline")


def _bad(what: str) -> PayloadError:
    return PayloadError(what, "运维消息格式错误")


def _json_object(raw: bytes, cap: int, what: str) -> dict[str, Any]:
    if len(raw) > cap:
        raise _bad(f"{what} larger than {cap} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad(f"{what} is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise _bad(f"{what} is not a JSON object")
    return data


def _text(data: dict[str, Any], key: str, limit: int = 200, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _bad(f"{key} is missing")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(f"{key} must be text of at most {limit} characters")
    return value


def _integer(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{key} must be a whole number in {low}..{high}")
    return value


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _bad(f"{key} must be a number")
    return float(value)


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _bad(f"{key} must be true or false")
    return value


def parse_time(text: str | None, key: str = "at") -> datetime:
    """Return an ISO time with its offset (a time without one is refused)."""
    if text is None or len(text) > 40:
        raise _bad(f"{key} must be an ISO time with offset")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"{key} must be an ISO time with offset") from None
    if moment.tzinfo is None:
        raise _bad(f"{key} must carry its UTC offset")
    return moment


def _identifier(data: dict[str, Any], key: str, pattern: re.Pattern[str] = NAME) -> str:
    value = _text(data, key, 64)
    assert value is not None
    if not pattern.fullmatch(value):
        raise _bad(f"{key} must be letters, digits, '-' or '_'")
    return value


@dataclass(frozen=True)
class DeviceHealth:
    """One tax device in a box's health."""

    device_no: str
    taxpayer: str
    family: str
    stage: str | None
    lock_date: str | None
    days_left: int | None
    locked: bool
    present: bool
    busy: bool
    attention: bool
    error: str | None
    job: dict[str, str] | None


@dataclass(frozen=True)
class Health:
    """A box's health document."""

    box: str
    site: str
    at: datetime
    version: str
    policy: str
    outbox: int
    outbox_age_s: float
    reconnects: int
    devices: dict[str, DeviceHealth]
    raw: dict[str, Any] = field(repr=False)


def _device(number: str, data: Any) -> DeviceHealth:
    if not DEVICE_NO.fullmatch(number):
        raise _bad("a device number must be letters, digits, '-' or '_'")
    if not isinstance(data, dict):
        raise _bad(f"device {number} is not an object")
    stage = _text(data, "stage", 32, required=False)
    if stage is not None and stage not in STAGES:
        raise _bad(f"device {number}: unknown stage")
    lock = _text(data, "lock", 10, required=False)
    if lock is not None:
        try:
            datetime.strptime(lock, "%Y-%m-%d")
        except ValueError:
            raise _bad(f"device {number}: lock must be a date") from None
    job = data.get("job")
    if job is not None:
        if not isinstance(job, dict):
            raise _bad(f"device {number}: job must be an object")
        job = {
            key: str(_text(job, key, 100, required=False) or "")
            for key in ("id", "outcome", "code", "at")
        }
    return DeviceHealth(
        device_no=number,
        taxpayer=_text(data, "tp", 40, required=False) or "",
        family=_text(data, "fam", 40, required=False) or "",
        stage=stage,
        lock_date=lock,
        days_left=_integer(data, "days", -100_000, 100_000),
        locked=_flag(data, "locked"),
        present=_flag(data, "present"),
        busy=_flag(data, "busy"),
        attention=_flag(data, "attn"),
        error=_text(data, "err", 40, required=False),
        job=job,
    )


def parse_health(raw: bytes) -> Health:
    """Read a health document."""
    data = _json_object(raw, MAX_HEALTH_BYTES, "health")
    if data.get("v") != 1:
        raise _bad("health of an unknown version")
    devices = data.get("devs", {})
    if not isinstance(devices, dict) or len(devices) > 256:
        raise _bad("devs must be an object of at most 256 devices")
    outbox = data.get("outbox") or {}
    if not isinstance(outbox, dict):
        raise _bad("outbox must be an object")
    return Health(
        box=_identifier(data, "box"),
        site=_identifier(data, "site"),
        at=parse_time(_text(data, "at", 40)),
        version=_text(data, "sw", 40, required=False) or "",
        policy=_text(data, "policy", 20, required=False) or "",
        outbox=_integer(outbox, "n", 0, 10**9) or 0,
        outbox_age_s=_number(outbox, "age_s") or 0.0,
        reconnects=_integer(data, "reconnects", 0, 10**9) or 0,
        devices={str(number): _device(str(number), entry) for number, entry in devices.items()},
        raw=data,
    )


@dataclass(frozen=True)
class Event:
    """One event from a box."""

    id: str
    seq: int
    box: str
    site: str
    at: datetime
    kind: str
    device_no: str | None
    raw: dict[str, Any] = field(repr=False)


def parse_event(raw: bytes) -> Event:
    """Read one event."""
    data = _json_object(raw, MAX_EVENT_BYTES, "event")
    if data.get("v") != 1:
        raise _bad("event of an unknown version")
    event_id = _text(data, "id", 200)
    assert event_id is not None
    seq = _integer(data, "seq", 0, 2**63 - 1)
    if seq is None:
        raise _bad("seq is missing")
    kind = _text(data, "event", 32)
    assert kind is not None
    number = data.get("device_no")
    if number is not None and (not isinstance(number, str) or len(number) > 64):
        raise _bad("device_no must be text")
    box = _identifier(data, "box")
    # Ids are <box>-<epoch>-<seq> (the box's outbox): one box cannot take another's ids, so
    # it cannot make the store drop another box's events as duplicates.
    if not re.fullmatch(re.escape(box) + r"-[0-9a-f]{1,16}-" + str(seq), event_id):
        raise _bad("event id is not <box>-<epoch>-<seq> of this event")
    return Event(
        id=event_id,
        seq=seq,
        box=box,
        site=_identifier(data, "site"),
        at=parse_time(_text(data, "at", 40)),
        kind=kind,
        device_no=number or None,
        raw=data,
    )


def parse_status(raw: bytes) -> str | None:
    """Read ``online``/``offline``; None for an emptied (forgotten) status."""
    if not raw:
        return None
    if len(raw) > MAX_STATUS_BYTES or raw.decode("ascii", "replace") not in STATUSES:
        raise _bad("status must be online or offline")
    return raw.decode("ascii")


@dataclass(frozen=True)
class AlertBody:
    """An alert that holds."""

    name: str
    severity: str
    code: str
    since: datetime
    message_zh: str
    message_en: str
    device_no: str | None


def parse_alert(raw: bytes) -> AlertBody | None:
    """Read an alert; None when it was emptied (resolved)."""
    if not raw:
        return None
    data = _json_object(raw, MAX_ALERT_BYTES, "alert")
    severity = _text(data, "severity", 16)
    if severity not in ("warning", "critical"):
        raise _bad("severity must be warning or critical")
    number = _text(data, "device_no", 64, required=False)
    return AlertBody(
        name=_identifier(data, "name"),
        severity=severity,
        code=_text(data, "code", 40, required=False) or "",
        since=parse_time(_text(data, "since", 40), "since"),
        message_zh=_text(data, "message_zh", 500, required=False) or "",
        message_en=_text(data, "message_en", 500, required=False) or "",
        device_no=number,
    )


@dataclass(frozen=True)
class CommandResult:
    """A box's answer to a command."""

    id: str | None
    box: str
    command: str | None
    ok: bool
    state: str
    body: dict[str, Any] = field(repr=False)


def parse_result(raw: bytes) -> CommandResult:
    """Read a command result."""
    data = _json_object(raw, MAX_RESULT_BYTES, "result")
    state = _text(data, "state", 16)
    if state not in ("accepted", "done", "refused"):
        raise _bad("state must be accepted, done or refused")
    return CommandResult(
        id=_text(data, "id", 64, required=False),
        box=_identifier(data, "box"),
        command=_text(data, "command", 32, required=False),
        ok=_flag(data, "ok"),
        state=state,
        body=data,
    )
