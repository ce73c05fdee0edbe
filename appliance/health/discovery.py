"""Home Assistant MQTT discovery, device-based (one payload per device, ``cmps`` inside).

One Home Assistant device for the box and one per tax device, each tax device ``via_device`` the
box. Every entity reads the box's retained health with a value template, so no extra state
topics cross the metered link. A tax device is available only when both the box's ``status``
and the device's own availability say ``online`` (``availability_mode: all``): one Last Will
cannot speak for each device. Keys follow Home Assistant's documented schema; the top-level
``dev``, ``o``, ``cmps`` and each component's ``p`` are its documented abbreviations.
"""

from __future__ import annotations

from typing import Any

from appliance.health.topics import BoxTopics

ORIGIN_NAME = "qingka-box"
STAGES = ["needs-report", "reported-not-cleared", "cleared"]
BOX_OBJECT_ID = "box"


def _origin(version: str, support_url: str | None) -> dict[str, str]:
    origin = {"name": ORIGIN_NAME, "sw": version}
    if support_url:
        origin["url"] = support_url
    return origin


def box_identifier(box: str) -> str:
    """Return the Home Assistant device identifier of a box."""
    return f"qingka_{box}"


def device_identifier(box: str, device_no: str) -> str:
    """Return the Home Assistant device identifier of a tax device in a box."""
    return f"qingka_{box}_{device_no}"


def _field(device_no: str, key: str) -> str:
    # A device missing from health renders as unknown instead of a template error.
    return f"{{{{ (value_json.devs.get('{device_no}') or {{}}).get('{key}') }}}}"


def box_discovery(topics: BoxTopics, version: str, support_url: str | None) -> dict[str, Any]:
    """Return the discovery payload of the box itself."""
    ident = box_identifier(topics.box)
    return {
        "dev": {
            "identifiers": [ident],
            "name": f"清卡盒 {topics.box}",
            "manufacturer": "QingKa",
            "model": "QingKa Box",
            "sw_version": version,
            "serial_number": topics.box,
        },
        "o": _origin(version, support_url),
        "availability_topic": topics.status,
        "state_topic": topics.health,
        "qos": 1,
        "cmps": {
            "outbox": {
                "p": "sensor",
                "name": "待发送事件 Queued events",
                "value_template": "{{ value_json.outbox.n }}",
                "state_class": "measurement",
                "entity_category": "diagnostic",
                "unique_id": f"{ident}_outbox",
            },
            "temperature": {
                "p": "sensor",
                "name": "CPU 温度 CPU temperature",
                "device_class": "temperature",
                "unit_of_measurement": "°C",
                "value_template": "{{ value_json.temp }}",
                "state_class": "measurement",
                "entity_category": "diagnostic",
                "unique_id": f"{ident}_temperature",
            },
            "disk_free": {
                "p": "sensor",
                "name": "剩余空间 Free space",
                "device_class": "data_size",
                "unit_of_measurement": "MB",
                "value_template": "{{ value_json.disk_mb }}",
                "state_class": "measurement",
                "entity_category": "diagnostic",
                "unique_id": f"{ident}_disk_free",
            },
        },
    }


def device_discovery(
    topics: BoxTopics, device_no: str, family: str, version: str, support_url: str | None
) -> dict[str, Any]:
    """Return the discovery payload of one tax device."""
    ident = device_identifier(topics.box, device_no)
    command = (
        '{"id":"ha-{{ (now().timestamp() * 1000) | int }}",'
        '"issued":"{{ now().isoformat() }}","command":"clear",'
        f'"args":{{"device":"{device_no}"}}}}'
    )
    return {
        "dev": {
            "identifiers": [ident],
            "name": f"税控设备 {device_no}",
            "manufacturer": "QingKa",
            "model": family or "tax device",
            "serial_number": device_no,
            "via_device": box_identifier(topics.box),
        },
        "o": _origin(version, support_url),
        "availability": [{"topic": topics.status}, {"topic": topics.availability(device_no)}],
        "availability_mode": "all",
        "state_topic": topics.health,
        "qos": 1,
        "cmps": {
            "lock_date": {
                "p": "sensor",
                "name": "锁定日期 Lock date",
                "device_class": "date",
                "value_template": _field(device_no, "lock"),
                "unique_id": f"{ident}_lock_date",
            },
            "days_left": {
                "p": "sensor",
                "name": "距锁定天数 Days left",
                "device_class": "duration",
                "unit_of_measurement": "d",
                "state_class": "measurement",
                "value_template": _field(device_no, "days"),
                "unique_id": f"{ident}_days_left",
            },
            "stage": {
                "p": "sensor",
                "name": "清卡状态 Stage",
                "device_class": "enum",
                "options": STAGES,
                "value_template": _field(device_no, "stage"),
                "unique_id": f"{ident}_stage",
            },
            "attention": {
                "p": "binary_sensor",
                "name": "需要处理 Needs attention",
                "device_class": "problem",
                "value_template": (
                    f"{{{{ 'ON' if (value_json.devs.get('{device_no}') or {{}}).get('attn') "
                    "else 'OFF' }}"
                ),
                "unique_id": f"{ident}_attention",
            },
            "clear_now": {
                "p": "button",
                "name": "立即清卡 Clear now",
                "command_topic": topics.cmd,
                "command_template": command,
                "unique_id": f"{ident}_clear_now",
            },
        },
    }
