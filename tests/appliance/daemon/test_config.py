"""The daemon's configuration: a good file loads; each bad key is named in one plain sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.clearing.engine import POLICY_AUTO, POLICY_BUTTON
from appliance.daemon.config import ConfigError, load_config
from appliance.protocol.commands import DEFAULT_PIN

QINGKA = Path(sys.executable).parent / "qingka"
KEY = "04" + "11" * 64


def write(folder: Path, body: str) -> Path:
    (folder / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = folder / "qingka.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = f"""
data_dir = "data"

[schedule]
policy = "button-only"
check_interval_minutes = 5

[api]
socket = "api.sock"
mode = "0660"

[[device]]
url = "usb://1432:07d0"
taxpayer_id = "91420103MA0000000A"

[[device]]
url = "sim://needs-clearing"

[bureau]
base_url = "https://bureau.example:8443"
ca_bundle = "ca.pem"
public_key = "{KEY}"
"""


def test_good_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.data_dir == tmp_path / "data"
    assert config.policy == POLICY_BUTTON
    assert config.check_interval_s == 300
    assert config.api_socket == tmp_path / "api.sock"
    assert config.api_mode == 0o660
    assert [d.url for d in config.devices] == ["usb://1432:07d0", "sim://needs-clearing"]
    assert config.devices[0].expected_taxpayer == "91420103MA0000000A"
    assert config.devices[1].pin == DEFAULT_PIN
    assert config.bureau.endpoints.url_for("420103") == "https://bureau.example:8443/hubei"
    assert config.calendar.deadline(2026, 11).day == 16


def test_defaults(tmp_path: Path) -> None:
    body = f'[bureau]\nbase_url = "https://b.example"\nca_bundle = "ca.pem"\npublic_key = "{KEY}"\n'
    config = load_config(write(tmp_path, body))
    assert config.policy == POLICY_AUTO
    assert config.check_interval_s == 900
    assert config.devices == []


def test_pin_file_must_be_private(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("13572468\n")
    pin.chmod(0o644)
    path = write(tmp_path, GOOD + '\n[pin]\nfile = "pin"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "pin.file"
    assert "chmod 600" in str(caught.value)
    pin.chmod(0o600)
    assert load_config(path).devices[1].pin == "13572468"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('policy = "button-only"', 'policy = "sometimes"'), "schedule.policy"),
        (
            ("check_interval_minutes = 5", 'check_interval_minutes = "5"'),
            "schedule.check_interval_minutes",
        ),
        (
            ('taxpayer_id = "91420103MA0000000A"', 'taxpayer_id = "91420103MA0000000B"'),
            "device[1].taxpayer_id",
        ),
        (('url = "sim://needs-clearing"', 'url = "ftp://x"'), "device[2].url"),
        (('ca_bundle = "ca.pem"', 'ca_bundle = "missing.pem"'), "bureau.ca_bundle"),
        ((f'public_key = "{KEY}"', 'public_key = "zz"'), "bureau.public_key"),
        ((f'public_key = "{KEY}"', 'public_key = "0411"'), "bureau"),
        (
            ('base_url = "https://bureau.example:8443"', 'base_url = "http://plain"'),
            "bureau.endpoints",
        ),
        (('mode = "0660"', 'mode = "rw"'), "api.mode"),
    ],
)
def test_each_bad_key_is_named(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    assert change[0] in GOOD
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD.replace(*change)))
    assert caught.value.key == key


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no configuration file at .*qingka config example"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "data_dir = \n"))
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (300 * 1024))
    with pytest.raises(ConfigError, match="larger"):
        load_config(big)


def test_daemon_with_a_bad_config_says_one_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('policy = "button-only"', 'policy = "never"'))
    result = subprocess.run(
        [str(QINGKA), "daemon", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QINGKA_LANG": "en"},
        check=False,
    )
    assert result.returncode == 2
    assert "schedule.policy" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
