"""Home Assistant device-based discovery, checked field by field against its documented schema.

The schema below is transcribed from Home Assistant's MQTT integration documentation (device
discovery payload; sensor, binary sensor and button platforms; availability; device registry
and origin abbreviations), not from our own code.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from appliance.health.commands import parse_command
from appliance.health.discovery import box_discovery, device_discovery
from appliance.health.topics import BoxTopics

TOPICS = BoxTopics("wuhan-01", "box-000123")
ID_CHARS = re.compile(r"[a-zA-Z0-9_-]+")
# Device registry keys and their documented abbreviations.
DEVICE_KEYS = {
    "configuration_url", "connections", "identifiers", "name", "manufacturer", "model",
    "model_id", "hw_version", "sw_version", "suggested_area", "serial_number", "via_device",
    "cu", "cns", "ids", "mf", "mdl", "mdl_id", "hw", "sw", "sa", "sn",
}  # fmt: skip
ORIGIN_KEYS = {"name", "sw_version", "support_url", "sw", "url"}
# Options a device payload may share at its root.
SHARED = {
    "availability", "availability_topic", "availability_mode", "availability_template",
    "payload_available", "payload_not_available", "command_topic", "state_topic", "qos",
    "encoding",
}  # fmt: skip
COMMON = {
    "p", "platform", "name", "unique_id", "object_id", "device_class", "entity_category",
    "icon", "enabled_by_default", "value_template", "state_topic", "json_attributes_topic",
    "availability", "availability_topic", "availability_mode", "qos",
}  # fmt: skip
PLATFORMS = {
    "sensor": COMMON | {"unit_of_measurement", "state_class", "options", "expire_after",
                        "suggested_display_precision", "force_update"},
    "binary_sensor": COMMON | {"payload_on", "payload_off", "expire_after", "off_delay"},
    "button": COMMON | {"command_topic", "command_template", "payload_press", "retain"},
}  # fmt: skip
SENSOR_CLASSES = {"date", "duration", "enum", "temperature", "data_size", None}
BINARY_CLASSES = {"problem", "connectivity", None}


def check_device_payload(topic: str, payload: dict) -> None:
    """Assert that ``payload`` is a valid device-based discovery payload for ``topic``."""
    prefix, component, node, object_id, config = topic.split("/")
    assert (prefix, component, config) == ("homeassistant", "device", "config")
    assert ID_CHARS.fullmatch(node) and ID_CHARS.fullmatch(object_id)
    assert set(payload) <= SHARED | {"dev", "o", "cmps"}, set(payload) - SHARED
    device, origin = payload["dev"], payload["o"]
    assert set(device) <= DEVICE_KEYS and device["identifiers"] and device["name"]
    assert set(origin) <= ORIGIN_KEYS and origin["name"]
    if "availability" in payload:
        assert "availability_topic" not in payload, "the two forms exclude each other"
        keys = {"topic", "payload_available", "payload_not_available", "value_template"}
        assert all(set(a) <= keys and a["topic"] for a in payload["availability"])
        assert payload.get("availability_mode", "latest") in ("all", "any", "latest")
    assert payload["qos"] in (0, 1, 2)
    assert payload["cmps"], "at least one component"
    unique = set()
    for key, component_config in payload["cmps"].items():
        assert ID_CHARS.fullmatch(key)
        platform = component_config["p"]
        assert platform in PLATFORMS, platform
        extra = set(component_config) - PLATFORMS[platform]
        assert not extra, (key, extra)
        assert component_config["unique_id"] not in unique
        unique.add(component_config["unique_id"])
        if platform == "sensor":
            assert component_config.get("device_class") in SENSOR_CLASSES
            if component_config.get("device_class") == "enum":
                assert component_config["options"]
                assert "unit_of_measurement" not in component_config
        if platform == "binary_sensor":
            assert component_config.get("device_class") in BINARY_CLASSES
        if platform == "button":
            assert component_config["command_topic"]


def test_a_tax_device_payload() -> None:
    payload = device_discovery(TOPICS, "661100000001", "ukey", "0.1.0", "https://x.example/help")
    topic = TOPICS.discovery("661100000001")
    assert topic == "homeassistant/device/box-000123/661100000001/config"
    check_device_payload(topic, payload)
    assert (
        payload["dev"]["via_device"]
        == box_discovery(TOPICS, "0.1.0", None)["dev"]["identifiers"][0]
    )
    assert payload["o"] == {"name": "qingka-box", "sw": "0.1.0", "url": "https://x.example/help"}
    assert payload["availability_mode"] == "all"
    assert [a["topic"] for a in payload["availability"]] == [
        "qingka/wuhan-01/box-000123/status",
        "qingka/wuhan-01/box-000123/devices/661100000001/availability",
    ]
    cmps = payload["cmps"]
    assert cmps["lock_date"]["device_class"] == "date"
    assert cmps["days_left"]["unit_of_measurement"] == "d"
    assert cmps["stage"]["options"] == ["needs-report", "reported-not-cleared", "cleared"]
    assert cmps["attention"]["p"] == "binary_sensor"
    assert cmps["clear_now"]["command_topic"] == "qingka/wuhan-01/box-000123/cmd"
    assert payload["state_topic"] == "qingka/wuhan-01/box-000123/health"


def test_the_box_payload() -> None:
    payload = box_discovery(TOPICS, "0.1.0", None)
    check_device_payload(TOPICS.discovery("box"), payload)
    assert "url" not in payload["o"]


def _render(template: str, value_json: dict) -> str:
    """Render the small Jinja subset the templates use (HA renders them with Jinja)."""
    jinja2 = pytest.importorskip("jinja2")
    return str(jinja2.Environment().from_string(template).render(value_json=value_json))


def test_the_templates_read_health_and_make_a_valid_command() -> None:
    payload = device_discovery(TOPICS, "661100000001", "ukey", "0.1.0", None)
    health = {"devs": {"661100000001": {"lock": "2026-11-16", "days": 11, "stage": "cleared",
                                        "attn": True}}}  # fmt: skip
    cmps = payload["cmps"]
    assert _render(cmps["lock_date"]["value_template"], health) == "2026-11-16"
    assert _render(cmps["days_left"]["value_template"], health) == "11"
    assert _render(cmps["attention"]["value_template"], health) == "ON"
    assert _render(cmps["stage"]["value_template"], {"devs": {}}) == "None"
    jinja2 = pytest.importorskip("jinja2")
    now = datetime(2026, 11, 5, 10, tzinfo=timezone(timedelta(hours=8)))
    text = (
        jinja2.Environment()
        .from_string(cmps["clear_now"]["command_template"])
        .render(now=lambda: now)
    )
    command = parse_command(text.encode())
    assert command.name == "clear" and command.args == {"device": "661100000001"}
    assert json.loads(text)["issued"] == now.isoformat()
