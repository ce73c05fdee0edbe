"""The box's systemd files as files: hardening score, udev rules equal to the device table."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.devices import udev_rules
from appliance.devices.ids import KNOWN_DEVICES

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
MAX_EXPOSURE = 2.5

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


@needs_analyze
def test_the_daemon_is_hardened_to_an_exposure_of_at_most_2_5() -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(SYSTEMD / "qingka-daemon.service")],
        capture_output=True,
        check=False,
    )
    out = done.stdout.decode() + done.stderr.decode()
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert level is not None, out
    assert float(level.group(1)) <= MAX_EXPOSURE, out


def test_the_daemon_unit_says_what_the_box_relies_on() -> None:
    service = _unit(SYSTEMD / "qingka-daemon.service")["Service"]
    assert service["Type"] == "notify"
    assert service["Restart"] == "always"
    assert service["User"] == "qingka"
    assert int(service["WatchdogSec"].removesuffix("s")) > 0
    for key in ("StateDirectory", "RuntimeDirectory", "ConfigurationDirectory"):
        assert service[key] == "qingka"


def test_the_units_run_the_installed_command() -> None:
    for path in UNITS:
        for line in path.read_text().splitlines():
            if line.startswith("ExecStart=") and "qingka" in line:
                assert line.split("=", 1)[1].lstrip("+-").startswith("/opt/qingka/bin/qingka "), (
                    line
                )


def test_the_rules_file_is_the_device_table(capsys: pytest.CaptureFixture[str]) -> None:
    rules = SYSTEMD / udev_rules.RULES_NAME
    assert main(["system", "udev-rules", "--check", str(rules)]) == 0
    assert main(["system", "udev-rules"]) == 0
    assert capsys.readouterr().out == rules.read_text()


def test_a_stale_rules_file_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "70-qingka.rules"
    stale.write_text(udev_rules.render().replace("07d0", "07d1"))
    assert main(["system", "udev-rules", "--check", str(stale)]) == 1
    assert main(["system", "udev-rules", "--check", str(tmp_path / "missing")]) == 1


def test_every_known_device_gets_the_group_and_the_systemd_tag() -> None:
    text = udev_rules.render()
    for row in KNOWN_DEVICES:
        line = next(
            line
            for line in text.splitlines()
            if f'ATTR{{idVendor}}=="{row.vid:04x}", ATTR{{idProduct}}=="{row.pid:04x}"' in line
        )
        assert 'GROUP="qingka-usb"' in line
        assert 'MODE="0660"' in line
        assert 'TAG+="systemd"' in line
        assert 'ENV{QINGKA_TAX_DEVICE}="' in line


def test_the_stick_rule_starts_a_unit_and_mounts_nothing() -> None:
    text = udev_rules.render()
    assert 'ENV{SYSTEMD_WANTS}+="qingka-provision@%k.service"' in text
    rule_lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert not any("mount" in line.lower() or "RUN" in line for line in rule_lines)
