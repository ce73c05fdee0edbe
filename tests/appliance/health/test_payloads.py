"""Health and alerts from real device readings: what travels, how big, nothing private."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.devices.snapshot import read_snapshot
from appliance.devices.urls import open_device
from appliance.health.alerts import evaluate
from appliance.health.payloads import BoxCounters, LastJob, build_health, dumps
from appliance.health.system import SystemState, read_system
from fleet.parse import parse_health
from tests.appliance.devices.trusting import trusting
from tests.simulators.bureau.fixtures import ANCHOR

SYSTEM = SystemState(
    boot_id="7c3cf3d92822",
    uptime_s=86_400,
    cpu_temp_c=51.5,
    throttled=0x50000,
    disk_free_mb=12_345,
    disk_total_mb=29_000,
    mem_available_mb=612,
    os_version="debian-12",
)


def status_of(tmp_path: Path, scenarios: list[str]) -> dict[str, Any]:
    """Return an engine status with real snapshots of simulated devices."""
    rows = []
    for n, scenario in enumerate(scenarios):
        url = f"sim://{scenario}?index={n}&now={ANCHOR.isoformat()}&latency=0"
        with open_device(url) as device:
            snapshot = read_snapshot(device, trusting(device, "88888888"))
        rows.append(
            {
                "url": url,
                "present": True,
                "clearing": False,
                "error": None,
                "last_outcome": None,
                "device": snapshot.to_json(),
            }
        )
    return {"policy": "auto", "devices": rows}


def _health(status: dict[str, Any]) -> dict[str, Any]:
    counters = BoxCounters(outbox_depth=3, outbox_oldest_s=42.0, reconnects=7)
    counters.bureau_at = "2026-11-05T09:58:01.123+08:00"
    for row in status["devices"]:
        number = row["device"]["device_no"]
        counters.last_jobs[number] = LastJob(
            f"box-000123-9f3a12bc-{len(number)}", "done", "J-000", "2026-10-05T10:01:02.345+08:00"
        )
    return build_health(
        site="wuhan-jianghan",
        box="box-000123",
        version="0.1.0",
        policy="auto",
        system=SYSTEM,
        status=status,
        counters=counters,
    )


def test_health_for_two_devices_fits_in_a_kibibyte(tmp_path: Path) -> None:
    status = status_of(tmp_path, ["multi-type", "needs-clearing"])
    raw = dumps(_health(status))
    assert len(raw) <= 1024, len(raw)
    parsed = parse_health(raw)
    assert len(parsed.devices) == 2
    for row in status["devices"]:
        device = row["device"]
        assert device["taxpayer_id"].encode() not in raw, "only the masked id travels"
        assert device["taxpayer_name"].encode() not in raw
        entry = parsed.devices[device["device_no"]]
        assert entry.taxpayer == device["taxpayer_id_masked"]
        assert entry.stage == "needs-report" and entry.days_left == 11
        assert entry.lock_date == "2026-11-16" and entry.job and entry.job["code"] == "J-000"


def test_alerts_follow_the_state(tmp_path: Path) -> None:
    status = status_of(tmp_path, ["locked", "needs-clearing"])
    locked, fine = (row["device"]["device_no"] for row in status["devices"])
    drift = {fine: 3600.0}
    alerts = evaluate(status, SYSTEM, disk_low_mb=200, drift_s=drift, drift_limit_s=600)
    assert set(alerts) == {f"lock-soon-{locked}", f"clock-drift-{fine}"}
    assert alerts[f"lock-soon-{locked}"].severity == "critical"
    status["devices"][1]["last_outcome"] = {
        "kind": "needs-human",
        "code": "B-211",
        "message_zh": "一窗式比对失败",
        "message_en": "declaration comparison failed",
    }
    low = SystemState(**{**SYSTEM.__dict__, "disk_free_mb": 50, "throttled": 0x1})
    alerts = evaluate(status, low, disk_low_mb=200, drift_s={}, drift_limit_s=600)
    assert {f"needs-person-{fine}", "disk-low", "under-voltage"} <= set(alerts)
    assert alerts[f"needs-person-{fine}"].code == "B-211"


def test_the_host_is_read_without_failing(tmp_path: Path) -> None:
    state = read_system(tmp_path)
    assert state.disk_free_mb is not None and state.disk_free_mb >= 0
    assert state.os_version
