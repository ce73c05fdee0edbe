"""What the box publishes: health, events and status, as compact JSON.

A box may sit on a metered 4G link (DESIGN §8: health ≤ 1 KiB, ≤ 1 MiB a day with every
overhead), so health uses short keys and carries only what the fleet acts on; ``docs/fleet.md``
documents every key. Times are ISO 8601 with their offset, in China time, to the millisecond
(the fleet measures its lag with them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from appliance.clock import clock
from appliance.health.system import SystemState

HEALTH_VERSION = 1
EVENT_VERSION = 1
# Family words of the device snapshot → short codes the fleet and Home Assistant use.
FAMILY_CODES = {"税务UKey": "ukey", "税控盘": "nisec", "金税盘": "aisino"}
STAGE_ORDER = ("needs-report", "reported-not-cleared", "cleared")
# A device with this few days left before it locks, and not cleared, needs attention.
ATTENTION_DAYS = 3


def now_iso() -> str:
    """Return the product clock's now, ISO with offset, to the millisecond."""
    return clock().stamp("milliseconds")


def dumps(data: Any) -> bytes:
    """Return compact UTF-8 JSON (Chinese kept as is: fewer bytes than \\u escapes)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class LastJob:
    """The last clearing outcome of one device, as the fleet sees it."""

    id: str
    outcome: str
    code: str
    at: str

    def to_json(self) -> dict[str, str]:
        """Return the ``job`` object of a device in health."""
        return {"id": self.id, "outcome": self.outcome, "code": self.code, "at": self.at}


@dataclass
class BoxCounters:
    """What the link itself knows, for health."""

    outbox_depth: int = 0
    outbox_oldest_s: float = 0.0
    reconnects: int = 0
    bureau_at: str | None = None
    last_jobs: dict[str, LastJob] = field(default_factory=dict)


def device_summary(row: dict[str, Any], last: LastJob | None) -> dict[str, Any] | None:
    """Return one device's entry of health from a row of the engine's status, or None.

    A device the box has not read yet has no number, so it cannot be named on the wire: health
    counts it under ``missing`` instead.
    """
    device = row.get("device")
    if not isinstance(device, dict) or not device.get("device_no"):
        return None
    types = [t for t in device.get("types", []) if isinstance(t, dict)]
    open_types = [t for t in types if t.get("stage") != "cleared"] or types
    stages = [str(t.get("stage")) for t in types if t.get("stage") in STAGE_ORDER]
    stage = min(stages, key=STAGE_ORDER.index) if stages else None
    locks = sorted(str(t["lock_date"]) for t in open_types if t.get("lock_date"))
    days = [int(t["days_to_lock"]) for t in open_types if isinstance(t.get("days_to_lock"), int)]
    outcome = row.get("last_outcome") or {}
    entry: dict[str, Any] = {
        "tp": device.get("taxpayer_id_masked", ""),
        "fam": FAMILY_CODES.get(str(device.get("family", "")), str(device.get("family", ""))),
        "stage": stage,
        "lock": locks[0] if locks else None,
        "days": min(days) if days else None,
        "locked": any(bool(t.get("locked")) for t in types),
        "present": bool(row.get("present")),
        "busy": bool(row.get("clearing")),
        "attn": needs_attention(row, stage, min(days) if days else None),
    }
    if last is not None:
        entry["job"] = last.to_json()
    elif outcome.get("kind"):
        entry["job"] = {"id": "", "outcome": outcome["kind"], "code": outcome.get("code", "")}
    error = row.get("error")
    if isinstance(error, dict) and error.get("code"):
        entry["err"] = error["code"]
    return compact(entry)


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop null values and false flags: readers take a missing key as null or false.

    Every byte of health is sent 1,440 times a day over a metered link.
    """
    return {key: value for key, value in data.items() if value is not None and value is not False}


def needs_attention(row: dict[str, Any], stage: str | None, days: int | None) -> bool:
    """Tell whether a person should look at this device (the Home Assistant binary sensor)."""
    outcome = row.get("last_outcome") or {}
    if outcome.get("kind") == "needs-human":
        return True
    if row.get("error") and row.get("present"):
        return True
    return stage not in (None, "cleared") and days is not None and days <= ATTENTION_DAYS


def build_health(
    *,
    site: str,
    box: str,
    version: str,
    policy: str,
    system: SystemState,
    status: dict[str, Any],
    counters: BoxCounters,
) -> dict[str, Any]:
    """Return the health document."""
    devices: dict[str, Any] = {}
    missing = 0
    for row in status.get("devices", []):
        device = row.get("device") or {}
        number = str(device.get("device_no", "")) if isinstance(device, dict) else ""
        entry = device_summary(row, counters.last_jobs.get(number))
        if entry is None:
            missing += 1
        else:
            devices[number] = entry
    return compact(
        {
            "v": HEALTH_VERSION,
            "box": box,
            "site": site,
            "at": now_iso(),
            "sw": version,
            "os": system.os_version,
            "boot": system.boot_id,
            "up": system.uptime_s,
            "temp": system.cpu_temp_c,
            "thr": system.throttled,
            "disk_mb": system.disk_free_mb,
            "mem_mb": system.mem_available_mb,
            "policy": policy,
            "outbox": {"n": counters.outbox_depth, "age_s": round(counters.outbox_oldest_s)},
            "bureau_at": counters.bureau_at,
            "reconnects": counters.reconnects,
            "devs": devices,
            "missing": missing or None,
        }
    )


# -- events -----------------------------------------------------------------------------------

# Which fields of each daemon event travel to the fleet: enough to act on, nothing private (the
# device snapshot with the taxpayer's name stays on the box; health carries the masked id).
_EVENT_FIELDS = {
    "step": ("device_no", "period", "step", "progress"),
    "outcome": (
        "device_no",
        "kind",
        "code",
        "period",
        "new_lock_date",
        "due_date",
        "retry_at",
        "locked",
        "message_zh",
        "message_en",
        "action_zh",
        "action_en",
        "outcome_id",
    ),
    "warning": ("device_no", "type", "days_to_lock", "lock_date"),
    "device": ("device_no", "present", "plugged", "error", "stage", "lock_date"),
}


def event_fields(kind: str, event: dict[str, Any]) -> dict[str, Any]:
    """Return the fields of a daemon event that the fleet receives."""
    keep = _EVENT_FIELDS.get(kind, ())
    return {key: event[key] for key in keep if key in event and event[key] is not None}


def build_event(
    kind: str, fields: dict[str, Any], *, box: str, site: str, event_id: str, seq: int
) -> dict[str, Any]:
    """Return one event as it goes on the wire."""
    return {
        "v": EVENT_VERSION,
        "id": event_id,
        "seq": seq,
        "box": box,
        "site": site,
        "at": now_iso(),
        "event": kind,
        **fields,
    }


def alert_payload(
    name: str, since: str, severity: str, code: str, zh: str, en: str, device_no: str | None
) -> dict[str, Any]:
    """Return the retained body of one alert."""
    body = {
        "name": name,
        "since": since,
        "severity": severity,
        "code": code,
        "message_zh": zh,
        "message_en": en,
    }
    if device_no:
        body["device_no"] = device_no
    return body
