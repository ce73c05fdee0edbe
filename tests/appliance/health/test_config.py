"""The [fleet] table: what it accepts, and one plain sentence naming the key when it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.daemon.config import ConfigError, load_config
from appliance.health.config import parse_fleet


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "ca.pem").write_text("ca")
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    return tmp_path


def _table(**extra: object) -> dict[str, object]:
    return {
        "broker": "mqtts://fleet.example.cn",
        "ca_file": "ca.pem",
        "site": "wuhan-01",
        "box_id": "box-000123",
        "credentials_file": "pw",
        **extra,
    }


def test_a_minimal_table(files: Path) -> None:
    config = parse_fleet(_table(), files)
    assert (config.host, config.port, config.password) == ("fleet.example.cn", 8883, "s3cret")
    assert config.username == "box-000123" and config.health_interval_s == 60
    assert config.broker_url == "mqtts://fleet.example.cn:8883"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"broker": "mqtt://plain:1883"}, "fleet.broker", "TLS only"),
        ({"broker": "mqtts://u:p@h"}, "fleet.broker", "no user"),
        ({"box_id": "box/1"}, "fleet.box_id", "letters"),
        ({"site": "#"}, "fleet.site", "letters"),
        ({"credentials_file": "missing"}, "fleet.credentials_file", "cannot read"),
        ({"health_interval_seconds": 0}, "fleet.health_interval_seconds", "between"),
        ({"protocol": "4"}, "fleet.protocol", "one of"),
        ({"colour": "red"}, "fleet.colour", "not a setting"),
        ({"discovery": "yes"}, "fleet.discovery", "must be bool"),
    ],
)
def test_bad_tables_name_the_key(files: Path, change: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fleet(_table(**change), files)
    assert caught.value.key == key and words in caught.value.problem


def test_a_fifo_or_a_folder_as_a_fleet_file_is_refused(files: Path) -> None:
    os.mkfifo(files / "ca.fifo")
    (files / "ca.dir").mkdir()
    for name in ("ca.fifo", "ca.dir"):
        with pytest.raises(ConfigError, match="cannot read") as caught:
            parse_fleet(_table(ca_file=name), files)
        assert caught.value.key == "fleet.ca_file"


def test_a_readable_password_file_is_refused(files: Path) -> None:
    (files / "pw").chmod(0o644)
    with pytest.raises(ConfigError, match="0600"):
        parse_fleet(_table(), files)


def test_a_client_certificate_instead_of_a_password(files: Path) -> None:
    (files / "box.pem").write_text("cert")
    key = files / "box.key"
    key.write_text("key")
    key.chmod(0o600)
    table = _table(client_cert="box.pem", client_key="box.key")
    del table["credentials_file"]
    config = parse_fleet(table, files)
    assert config.password is None and config.client_key == key
    key.chmod(0o640)
    with pytest.raises(ConfigError, match="client_key"):
        parse_fleet(table, files)


def test_load_config_reads_the_table(files: Path) -> None:
    (files / "bureau-ca.pem").write_text("x")
    (files / "qingka.toml").write_text(
        f'data_dir = "{files}"\n[bureau]\nbase_url = "https://b.example"\n'
        'ca_bundle = "bureau-ca.pem"\npublic_key = "04' + "ab" * 64 + '"\n'
        '[fleet]\nbroker = "mqtts://h:1"\nca_file = "ca.pem"\nsite = "s"\nbox_id = "b"\n'
        'credentials_file = "pw"\n'
    )
    assert load_config(files / "qingka.toml").fleet is not None
    text = (files / "qingka.toml").read_text().split("[fleet]")[0]
    (files / "qingka.toml").write_text(text)
    assert load_config(files / "qingka.toml").fleet is None
