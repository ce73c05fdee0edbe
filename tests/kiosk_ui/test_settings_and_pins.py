"""The [kiosk] settings and the PIN gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_ui.pin_gate import PinGate
from kiosk_ui.settings import DEFAULT_TECHNICIAN_PIN, SettingsError, load, parse


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QINGKA_API_SOCKET", str(tmp_path / "env.sock"))
    settings = load(tmp_path / "missing.toml")
    assert settings.socket == tmp_path / "env.sock"
    assert settings.language == "zh"
    assert settings.operator_pin is None
    assert settings.technician_pin == DEFAULT_TECHNICIAN_PIN
    assert settings.idle_blank_s == 300


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
