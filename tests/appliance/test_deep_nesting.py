"""Deeply nested JSON from outside is garbage like any other, never a crash.

Python's JSON parser recurses once per level: a few kilobytes of ``[`` exhaust the stack and
raise RecursionError, which is neither ValueError nor the readers' own error types. Every
reader of outside JSON below must turn it into its typed refusal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.configfile import ConfigError
from appliance.daemon.config import load_config
from appliance.devices.capture import load_capture
from appliance.devices.errors import ProtocolError
from appliance.health.bridge import scrub_line
from appliance.health.commands import parse_command
from appliance.health.errors import CommandRejected
from appliance.health.spool import SpoolError, spooled_event
from appliance.jsonfile import JsonFileError, load_capped
from kiosk_ui.settings import SettingsError
from kiosk_ui.settings import load as load_settings
from provisioning.inspection import inspect

DEEP = b"[" * 3000  # within every cap below, far beyond the interpreter's recursion limit


def test_a_fleet_command_nested_deep_is_malformed() -> None:
    with pytest.raises(CommandRejected):
        parse_command(DEEP)


def test_a_spooled_event_nested_deep_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "1.json"
    path.write_bytes(DEEP)
    with pytest.raises(SpoolError):
        spooled_event(path)


def test_a_capture_line_nested_deep_is_a_protocol_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(DEEP + b"\n")
    with pytest.raises(ProtocolError, match="not JSON"):
        load_capture(path)


def test_a_json_file_nested_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_bytes(DEEP)
    with pytest.raises(JsonFileError, match="not JSON"):
        load_capped(path, 1 << 20, "endpoints file")


def test_a_log_line_nested_deep_is_withheld() -> None:
    assert scrub_line(DEEP.decode()).startswith("(withheld")


def test_a_report_on_a_stick_nested_deep_is_unreadable(tmp_path: Path) -> None:
    reports = tmp_path / "QINGKA" / "reports"
    reports.mkdir(parents=True)
    (reports / "qk-box-1.json").write_bytes(DEEP)
    found = inspect(tmp_path, None, "en")["reports"]
    assert found == [{"file": "reports/qk-box-1.json", "result": "unreadable"}]


def test_a_configuration_nested_deep_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "qingka.toml"
    path.write_text("x = " + "[" * 3000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)
    with pytest.raises(SettingsError, match="nested too deeply"):
        load_settings(path)
