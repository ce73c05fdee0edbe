"""The [kiosk] settings and the PIN gate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk_ui.pin_gate import PinGate
from kiosk_ui.settings import (
    DEFAULT_PROVISION_STATUS,
    DEFAULT_TECHNICIAN_PIN,
    KioskSettings,
    SettingsError,
    load,
    parse,
)
from provisioning.pinhash import hash_pin
from tests.appliance.daemon.certs import write_ca


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QINGKA_API_SOCKET", str(tmp_path / "env.sock"))
    settings = load(tmp_path / "missing.toml")
    assert settings.socket == tmp_path / "env.sock"
    assert settings.language == "zh"
    assert settings.operator_pin is None
    assert settings.technician_pin == DEFAULT_TECHNICIAN_PIN
    assert settings.idle_blank_s == 300


def test_a_fifo_as_the_configuration_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "qingka.toml"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match="FIFO"):
        load(fifo)  # opening a FIFO to read would wait for a writer forever


def test_the_kiosk_table_and_the_api_socket(tmp_path: Path) -> None:
    config = tmp_path / "qingka.toml"
    config.write_text(
        '[api]\nsocket = "run/api.sock"\n\n[bureau]\nanything = 1\n\n'
        '[kiosk]\nlanguage = "en"\nidle_blank_minutes = 0.5\noperator_pin = "1234"\n'
        'usb_dir = "usb"\nfullscreen = false\n',
        encoding="utf-8",
    )
    settings = load(config)
    assert settings.socket == tmp_path / "run/api.sock"
    assert (settings.language, settings.idle_blank_s, settings.operator_pin) == ("en", 30, "1234")
    assert settings.usb_dir == tmp_path / "usb" and not settings.fullscreen
    assert load(config, socket=tmp_path / "x").socket == tmp_path / "x"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"language": "fr"}, "kiosk.language"),
        ({"operator_pin": "12"}, "kiosk.operator_pin"),
        ({"operator_pin": "12ab"}, "kiosk.operator_pin"),
        ({"technician_pin": ""}, "kiosk.technician_pin"),
        ({"idle_blank_minutes": True}, "kiosk.idle_blank_minutes"),
        ({"fullscreen": "yes"}, "kiosk.fullscreen"),
    ],
)
def test_bad_values_name_their_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse({"kiosk": table}, Path("/etc/qingka"))
    assert caught.value.key == key


def test_five_wrong_pins_lock_for_five_minutes() -> None:
    now = [0.0]
    gate = PinGate("2580", monotonic=lambda: now[0])
    assert [gate.check("0000").tries_left for _ in range(4)] == [4, 3, 2, 1]
    locked = gate.check("0000")
    assert not locked.accepted and locked.locked_for_s == 300
    now[0] = 299.0
    assert not gate.check("2580").accepted  # refused unchecked while locked
    now[0] = 300.0
    assert gate.check("2580").accepted
    assert gate.check("0000").tries_left == 4  # a right PIN starts the count again


# One hash for the module: scrypt takes about 0.1 s per hash by design.
SERVICE_PIN = "4826"
SERVICE_HASH = hash_pin(SERVICE_PIN)
OPERATOR_HASH = hash_pin("1357")


def test_pin_hashes_from_a_bundle_replace_the_pins(tmp_path: Path) -> None:
    config = tmp_path / "qingka.toml"
    config.write_text(
        f'[kiosk]\ntechnician_pin_hash = "{SERVICE_HASH}"\noperator_pin_hash = "{OPERATOR_HASH}"\n',
        encoding="utf-8",
    )
    settings = load(config)
    assert settings.technician_pin_hash == SERVICE_HASH
    assert settings.operator_pin_hash == OPERATOR_HASH
    # With a hash, the default 2580 is no PIN at all.
    assert settings.technician_pin is None and settings.operator_pin is None
    direct = KioskSettings(socket=tmp_path / "s", technician_pin_hash=SERVICE_HASH)
    assert direct.technician_pin is None


@pytest.mark.parametrize("role", ["technician", "operator"])
def test_a_hash_beside_the_plain_pin_of_its_role_is_refused(role: str) -> None:
    table = {f"{role}_pin": "1234", f"{role}_pin_hash": SERVICE_HASH}
    with pytest.raises(SettingsError) as caught:
        parse({"kiosk": table}, Path("/etc/qingka"))
    assert caught.value.key == f"kiosk.{role}_pin_hash"
    assert f"kiosk.{role}_pin:" in caught.value.problem
    assert "\n" not in str(caught.value)  # one sentence, naming both keys
    # The other role's plain PIN may stand beside it.
    other = "operator" if role == "technician" else "technician"
    parse({"kiosk": {f"{role}_pin_hash": SERVICE_HASH, f"{other}_pin": "1234"}}, Path("/"))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2580",
        SERVICE_HASH.replace("scrypt$", "bcrypt$"),
        SERVICE_HASH[:-1],
        SERVICE_HASH.upper(),
        SERVICE_HASH.replace("scrypt$14$", "scrypt$20$"),  # a gigabyte per check
        SERVICE_HASH.replace("$8$1$", "$8$9$"),
        42,
    ],
    ids=["empty", "plain", "other", "short", "upper", "huge-n", "huge-p", "number"],
)
def test_a_pin_hash_in_another_form_is_refused(value: object) -> None:
    with pytest.raises(SettingsError) as caught:
        parse({"kiosk": {"technician_pin_hash": value}}, Path("/etc/qingka"))
    assert caught.value.key == "kiosk.technician_pin_hash"


def test_a_hashed_gate_checks_the_hash_and_locks_the_same_way() -> None:
    now = [0.0]
    gate = PinGate(pin_hash=SERVICE_HASH, monotonic=lambda: now[0])
    assert gate.slow and not PinGate("2580").slow
    assert not gate.check(DEFAULT_TECHNICIAN_PIN).accepted
    assert gate.check(SERVICE_PIN).accepted
    assert [gate.check("0000").tries_left for _ in range(4)] == [4, 3, 2, 1]
    assert gate.check("0000").locked_for_s == 300
    assert not gate.check(SERVICE_PIN).accepted  # refused unchecked while locked
    with pytest.raises(ValueError, match="not both"):
        PinGate("2580", pin_hash=SERVICE_HASH)


def test_the_status_file_path_is_a_setting(tmp_path: Path) -> None:
    assert parse({}, tmp_path).provision_status == DEFAULT_PROVISION_STATUS
    table = {"kiosk": {"provision_status": "run/provision.json"}}
    assert parse(table, tmp_path).provision_status == tmp_path / "run/provision.json"
    assert parse({"kiosk": {"provision_status": ""}}, tmp_path).provision_status is None
    with pytest.raises(SettingsError) as caught:
        parse({"kiosk": {"provision_status": 1}}, tmp_path)
    assert caught.value.key == "kiosk.provision_status"
    assert KioskSettings(socket=tmp_path / "s").provision_status is None  # tests watch nothing


GOOD_DAEMON = (
    '[bureau]\nbase_url = "https://b.example"\nca_bundle = "ca.pem"\n'
    f'public_key = "04{"11" * 64}"\n'
)


def test_config_check_takes_the_hashes_and_names_a_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.cli.main import main  # noqa: PLC0415 - the whole command line, in-process

    monkeypatch.setenv("QINGKA_LANG", "en")
    write_ca(tmp_path / "ca.pem")  # `config check` loads it as the daemon will
    config = tmp_path / "qingka.toml"
    config.write_text(
        GOOD_DAEMON + f'\n[kiosk]\ntechnician_pin_hash = "{SERVICE_HASH}"\n', encoding="utf-8"
    )
    assert main(["config", "check", str(config)]) == 0
    assert "The configuration is good" in capsys.readouterr().out
    config.write_text(
        GOOD_DAEMON
        + f'\n[kiosk]\ntechnician_pin = "2580"\ntechnician_pin_hash = "{SERVICE_HASH}"\n',
        encoding="utf-8",
    )
    assert main(["config", "check", str(config)]) == 2
    err = capsys.readouterr().err
    assert "kiosk.technician_pin_hash" in err and "kiosk.technician_pin:" in err
