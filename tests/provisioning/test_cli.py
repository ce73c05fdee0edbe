"""``qingka provision`` as a person uses it: exit codes, plain words, never a secret printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli.main import main
from tests.provisioning.conftest import SECRET_VALUES, Box, MakeStick, Office


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["provision", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_inspect_shows_everything_but_secrets(
    make_stick: MakeStick, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100)
    code, text = cli(capsys, "inspect", str(stick), "--trust", str(the_office.trust))
    assert code == 0
    assert "state: valid" in text and "wuhan-01" in text and "sealed" in text
    assert "shop-wifi.nmconnection (sealed)" in text
    for secret in SECRET_VALUES:
        assert secret not in text


def test_verify_refuses_a_changed_file_with_its_code(
    make_stick: MakeStick, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100)
    path = stick / "QINGKA" / "bundle" / "calendar.json"
    path.write_text(path.read_text().replace("20", "21", 1))
    code, text = cli(capsys, "verify", str(stick), "--trust", str(the_office.trust))
    assert code == 1 and "[P-206]" in text and text.startswith("文件校验失败")


def test_verify_checks_the_target_box(
    make_stick: MakeStick, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100)
    code, text = cli(
        capsys, "verify", str(stick), "--trust", str(the_office.trust), "--box", "qk-000000000000"
    )
    assert code == 1 and "[P-208]" in text


def test_bad_settings_and_missing_manifest_say_what_is_wrong(
    tmp_path: Path, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "box.toml"
    settings.write_text("[box]\nid = 5\n")
    (tmp_path / "s").mkdir()
    code, text = cli(capsys, "make", "--config", str(settings), "--out", str(tmp_path / "s"))
    assert code == 1 and "[P-304]" in text and "box.id" in text
    (tmp_path / "empty").mkdir()
    code, text = cli(capsys, "sign", "--key", str(the_office.key), str(tmp_path / "empty"))
    assert code == 1 and "run qingka provision make first" in text


def test_a_signing_key_others_can_read_is_refused(
    make_stick: MakeStick, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100, sign=False)
    the_office.key.chmod(0o644)
    code, text = cli(capsys, "sign", "--key", str(the_office.key), str(stick))
    assert code == 1 and "[P-502]" in text and "0644" in text


def test_revoke_and_identity(
    box: Box, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = cli(capsys, "keygen", str(the_office.dir), "--name", "second")
    assert code == 0
    code, text = cli(capsys, "revoke", str(the_office.trust), the_office.key_id)
    assert code == 0 and the_office.key_id in json.loads(the_office.trust.read_text())["revoked"]
    code, text = cli(capsys, "identity", "--root", str(box.root), "--json")
    assert code == 0 and json.loads(text)["box_id"].startswith("qk-")
