"""Alerts: conditions a person must hear about, retained while they hold (DESIGN §8).

Evaluated from the same view as health, so an alert and the health that explains it never
disagree. Names are topic levels: box-wide ones are plain (``disk-low``), per-device ones end
with the device number (``lock-soon-661100000001``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.health.payloads import ATTENTION_DAYS, device_summary
from appliance.health.system import SystemState


@dataclass(frozen=True)
class Alert:
    """One condition that holds now."""

    name: str
    severity: str  # "warning" or "critical"
    code: str
    message_zh: str
    message_en: str
    device_no: str | None = None


def evaluate(
    status: dict[str, Any],
    system: SystemState,
    *,
    disk_low_mb: int,
    drift_s: dict[str, float],
    drift_limit_s: float,
) -> dict[str, Alert]:
    """Return every alert that holds, by name."""
    alerts: dict[str, Alert] = {}
    for row in status.get("devices", []):
        entry = device_summary(row, None)
        if entry is None:
            continue
        number = str(row["device"]["device_no"])
        days, stage = entry.get("days"), entry.get("stage")
        if stage not in (None, "cleared") and days is not None and days <= ATTENTION_DAYS:
            locked = bool(entry.get("locked"))
            alerts[f"lock-soon-{number}"] = Alert(
                f"lock-soon-{number}",
                "critical" if locked else "warning",
                "F-101",
                "设备已锁定，尚未清卡" if locked else f"{days} 天后锁定，尚未清卡",
                "locked and not cleared" if locked else f"locks in {days} days, not cleared",
                number,
            )
        outcome = row.get("last_outcome") or {}
        if outcome.get("kind") == "needs-human":
            alerts[f"needs-person-{number}"] = Alert(
                f"needs-person-{number}",
                "critical",
                str(outcome.get("code", "")),
                str(outcome.get("message_zh", "需要人工处理")),
                str(outcome.get("message_en", "a person must act")),
                number,
            )
        drift = drift_s.get(number)
        if drift is not None and abs(drift) > drift_limit_s:
            minutes = round(drift / 60)
            alerts[f"clock-drift-{number}"] = Alert(
                f"clock-drift-{number}",
                "warning",
                "F-104",
                f"设备时钟与本机相差 {minutes} 分钟",
                f"the device clock is {minutes} minutes off the box's clock",
                number,
            )
    if system.disk_free_mb is not None and system.disk_free_mb < disk_low_mb:
        alerts["disk-low"] = Alert(
            "disk-low",
            "critical",
            "F-102",
            f"数据分区只剩 {system.disk_free_mb} MB",
            f"only {system.disk_free_mb} MB left on the data partition",
        )
    if system.under_voltage:
        alerts["under-voltage"] = Alert(
            "under-voltage",
            "warning",
            "F-103",
            "电源电压不足，请更换电源适配器",
            "the power supply is too weak; replace the adapter",
        )
    return alerts
