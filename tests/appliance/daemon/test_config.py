"""The daemon's configuration: a good file loads; each bad key is named in one plain sentence."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clearing.engine import POLICY_AUTO, POLICY_BUTTON
from appliance.daemon.config import ConfigError, check_ca_bundle, load_config
from appliance.protocol.commands import DEFAULT_PIN
from tests.appliance.daemon.certs import write_ca

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


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows Notepad starts UTF-8 with a BOM: the daemon and the kiosk read such a file."""
    from kiosk_ui.settings import load as load_kiosk  # noqa: PLC0415

    path = write(tmp_path, GOOD + '[kiosk]\nlanguage = "en"\n')
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(path).policy == POLICY_BUTTON
    assert load_kiosk(path).language == "en"
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + GOOD.encode())  # only one is a mark
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_a_problem_of_the_whole_file_is_labelled_with_nothing_but_its_path(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "data_dir = \n")
    result = subprocess.run(
        [str(QINGKA), "--lang", "en", "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"Configuration problem: {path} is not valid TOML"), result
    assert "(file)" not in result.stderr


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


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        # A typo in a table or key name must not silently fall back to a default.
        (("[schedule]", "[shedule]"), "shedule", "did you mean 'schedule'"),
        (('policy = "button-only"', 'polcy = "button-only"'), "schedule.polcy", "'policy'"),
        (("[api]", "[api]\nsockett = 'x'"), "api.sockett", "'socket'"),
        (('mode = "0660"', 'mode = "0660"\ngroup = 1000'), "api.group", "a string"),
        (('mode = "0660"', 'mode = "0660"\ngroup = "nosuchgroup"'), "api.group", "no group"),
        (('socket = "api.sock"', 'socket = "' + "s" * 120 + '.sock"'), "api.socket", "107"),
        (('url = "sim://needs-clearing"', 'url = "usb://zzzz"'), "device[2].url", "VID:PID"),
        (('url = "sim://needs-clearing"', 'url = "usb:/1432:07d0"'), "device[2].url", "usb://"),
        (('url = "sim://needs-clearing"', 'url = "replay://gone.jsonl"'), "device[2].url", "gone"),
        (
            ('url = "sim://needs-clearing"', 'url = "usb://1432:07d0?color=red"'),
            "device[2].url",
            "color",
        ),
        (("[[device]]", '[[device]]\npin = "1234"'), "device[1].pin", "'pin_file'"),
        (('data_dir = "data"', 'data_dir = "data"\ntime_zone = "Mars/Base"'), "time_zone", "Mars"),
        (('data_dir = "data"', 'data_dir = "data"\nlanguage = "fr"'), "language", "'zh'"),
    ],
)
def test_a_mistake_is_one_sentence_naming_the_key(
    tmp_path: Path, change: tuple[str, str], key: str, words: str
) -> None:
    assert change[0] in GOOD
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD.replace(*change, 1)))
    assert caught.value.key == key
    assert words in caught.value.problem


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD))
    assert caught.value.key == "data_dir"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('data_dir = "data"', 'data_dir = ""', "data_dir"),
        ('socket = "api.sock"', 'socket = " "', "api.socket"),
    ],
)
def test_an_empty_path_is_refused_not_taken_as_the_folder(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    with pytest.raises(ConfigError, match="is empty") as caught:
        load_config(write(tmp_path, GOOD.replace(old, new)))
    assert caught.value.key == key


@pytest.mark.parametrize(
    "body",
    [
        "[shedule]\npolicy = 'button-only'\n",
        "[api]\ngroup = 'nosuchgroup'\n",
        "[api]\nsocket = '/" + "x" * 200 + "'\n",
        "data_dir = 'qingka.toml'\n",
        "[[device]]\nurl = 'usb://zzzz'\n",
    ],
)
def test_every_command_says_it_in_a_sentence_and_exits_2(tmp_path: Path, body: str) -> None:
    path = write(tmp_path, body)
    for command in (["daemon"], ["clear"], ["status"]):
        result = subprocess.run(
            [str(QINGKA), *command, "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "QINGKA_LANG": "en", "QINGKA_API_SOCKET": str(tmp_path / "no")},
            check=False,
        )
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    check = subprocess.run(
        [str(QINGKA), "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 2
    assert "配置有误" in check.stderr


def test_the_shipped_example_is_a_good_configuration(tmp_path: Path) -> None:
    example = subprocess.run(
        [str(QINGKA), "config", "example"], capture_output=True, text=True, check=True
    ).stdout
    write_ca(tmp_path / "bureau-ca.pem")
    (tmp_path / "bureau-public-key.hex").write_text(KEY)
    (tmp_path / "bureau-endpoints.json").write_text('{"42": "https://bureau.example/hubei"}')
    example = example.replace('group = "qingka"', 'group = "root"')
    example = example.replace('"/var/lib/qingka"', '"data"').replace(
        '"/run/qingka/api.sock"', '"api.sock"'
    )
    path = tmp_path / "qingka.toml"
    path.write_text(example)
    config = load_config(path)
    assert config.devices[0].expected_taxpayer == "91420103MA0000000A"
    check = subprocess.run(
        [str(QINGKA), "config", "check", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    assert "配置正确" in check.stdout


def test_reading_the_configuration_loads_no_scheduler_or_simulator() -> None:
    code = (
        "import sys; import appliance.daemon.config; "
        "print(sorted(m for m in sys.modules if m.startswith(('simulators', 'kivy', 'paho')) "
        "or m == 'appliance.clearing.engine'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["daemon", "status", "clear", "history", "device-info"])
def test_a_command_loads_only_what_it_needs(command: str) -> None:
    code = (
        "import sys; from appliance.cli.main import build_parser; "
        f"build_parser([{command!r}, '--help']); "
        "print(sorted(m for m in sys.modules if m.startswith(('simulators', 'kivy', 'paho', "
        "'prometheus_client', 'psycopg', 'provisioning'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``qingka config check``; a check that hangs fails on the timeout."""
    return subprocess.run(
        [str(QINGKA), "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "QINGKA_LANG": "en"},
        check=False,
    )


@pytest.mark.parametrize(
    "named",
    [
        ("public_key_file", f'public_key = "{KEY}"', 'public_key_file = "named"'),
        (
            "endpoints_file",
            'base_url = "https://bureau.example:8443"',
            'endpoints_file = "named"',
        ),
        ("ca_bundle", 'ca_bundle = "ca.pem"', 'ca_bundle = "named"'),
        ("calendar", "[schedule]", '[calendar]\nfile = "named"\n\n[schedule]'),
        (
            "pin_file",
            'url = "sim://needs-clearing"',
            'url = "sim://needs-clearing"\npin_file = "named"',
        ),
        ("replay", 'url = "sim://needs-clearing"', 'url = "replay://named"'),
    ],
    ids=lambda named: named[0],
)
def test_a_fifo_named_by_the_configuration_is_refused_at_once(
    tmp_path: Path, named: tuple[str, str, str]
) -> None:
    _, before, after = named
    write_ca(tmp_path / "ca.pem")
    os.mkfifo(tmp_path / "named")
    assert GOOD.count(before) == 1
    result = check(write(tmp_path, GOOD.replace(before, after)))
    assert result.returncode == 2, result.stderr
    assert f"{tmp_path / 'named'}: it is a FIFO" in result.stderr or (
        f"{tmp_path / 'named'} is not a file" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_fifo_as_the_configuration_is_refused_by_every_command(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(fifo)
    for command in (["config", "check", str(fifo)], ["status", "--config", str(fifo)]):
        result = subprocess.run(
            [str(QINGKA), *command],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "QINGKA_LANG": "en", "QINGKA_API_SOCKET": str(tmp_path / "no")},
            check=False,
        )
        assert result.returncode == 2, (command, result.stderr)
        assert f"{fifo} is not a regular file" in result.stderr


@pytest.mark.parametrize(
    "body", ['data_dir = "data"\n[api]\nsocket = "api.sock"\n', ""], ids=["no-bureau", "empty"]
)
def test_config_check_refuses_a_file_the_daemon_would_refuse(tmp_path: Path, body: str) -> None:
    result = check(write(tmp_path, body))
    assert result.returncode == 2, result.stdout
    assert "bureau: is missing" in result.stderr
    assert "The configuration is good" not in result.stdout


def test_config_check_loads_the_ca_bundle(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    (tmp_path / "ca.pem").write_bytes(bytes(range(256)) * 4)
    result = check(path)
    assert result.returncode == 2
    assert "bureau.ca_bundle" in result.stderr and "no CA certificate" in result.stderr
    write_ca(tmp_path / "ca.pem")
    result = check(path)
    assert result.returncode == 0, result.stderr


def test_config_check_refuses_a_socket_path_that_holds_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    write_ca(tmp_path / "ca.pem")
    (tmp_path / "api.sock").write_text("not a socket")
    result = check(path)
    assert result.returncode == 2
    assert f"api.socket: {tmp_path / 'api.sock'} exists and is not a socket" in result.stderr


@settings(max_examples=150, deadline=None)
@given(garbage=st.binary(max_size=3000), pem=st.booleans())
def test_any_garbage_as_the_ca_bundle_is_a_config_error(garbage: bytes, pem: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ca.pem"
        path.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + garbage if pem else garbage)
        with pytest.raises(ConfigError) as caught:
            check_ca_bundle(path)
    assert caught.value.key == "bureau.ca_bundle"
