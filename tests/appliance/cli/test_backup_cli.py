"""``qingka backup list | verify | export``: plain text, JSON, exit codes, errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.cli.output import EXIT_FAILED, EXIT_OK, EXIT_STORAGE
from appliance.storage.backups import BackupStore
from appliance.storage.errors import StorageReadOnly

DEVICE = "661234567890"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "qingka"
    store = BackupStore(path, min_free_bytes=0)
    store.save(DEVICE, 202405, "identity.json", b"{}", "identity")
    store.save(DEVICE, 202405, "summary-026.json", b'{"issued_amount": 100}', "summary")
    store.save(DEVICE, 202406, "identity.json", b"{}", "identity")
    return path


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    path = tmp_path / "usb"
    path.mkdir()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["backup", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_as_text(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--data-dir", str(data_dir))
    assert code == EXIT_OK
    assert f"设备 {DEVICE}" in out
    assert "2024-05  2 个文件" in out
    assert "未导出" in out
    assert "summary-026.json" in out


def test_list_as_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--data-dir", str(data_dir), "--json")
    assert code == EXIT_OK
    data = json.loads(out)
    assert [p["period"] for p in data["periods"]] == [202405, 202406]
    assert data["periods"][0]["files"][1]["sha256"]


def test_list_of_an_empty_box(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--data-dir", str(tmp_path))
    assert code == EXIT_OK
    assert "还没有备份" in out


@pytest.mark.parametrize("action", ["list", "verify"])
def test_a_mistyped_data_folder_is_not_an_empty_box(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    code, out, err = run(capsys, action, "--data-dir", str(tmp_path / "nowhere"))
    assert code == 2
    assert "没有这个数据目录" in err and "nowhere" in err
    assert "还没有备份" not in out


def test_verify_of_a_sound_store(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir))
    assert code == EXIT_OK
    assert "正常" in out
    assert "3 个文件校验通过，0 个问题" in out


def test_verify_names_each_problem_in_plain_words(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = data_dir / "backups" / DEVICE / "202405"
    (folder / "identity.json.gz").write_bytes(b"broken")
    (folder / "summary-026.json.gz").unlink()
    (folder / "stray.gz").write_bytes(b"")
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir))
    assert code == EXIT_FAILED
    assert "损坏：identity.json" in out
    assert "缺失：summary-026.json" in out
    assert "多余：stray.gz" in out
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir), "--json")
    assert code == EXIT_FAILED
    data = json.loads(out)
    assert data["ok"] is False
    assert data["problems"] == 3


def test_export_writes_the_archive(
    data_dir: Path, usb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "export", str(usb), "--data-dir", str(data_dir))
    assert code == EXIT_OK
    (archive,) = usb.glob("*.zip")
    assert f"已导出到：{archive}" in out
    assert "2 个期间，3 个文件" in out
    with zipfile.ZipFile(archive) as zf:
        assert "MANIFEST.json" in zf.namelist()
    code, out, _ = run(capsys, "list", "--data-dir", str(data_dir))
    assert "已导出" in out


def test_export_as_json_for_one_device(
    data_dir: Path, usb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "export", str(usb), "--data-dir", str(data_dir), "--device", DEVICE, "--json"
    )
    assert code == EXIT_OK
    data = json.loads(out)
    assert Path(data["archive"]).exists()
    assert (data["periods"], data["files"], data["problems"]) == (2, 3, [])


def test_export_with_damaged_files_exits_1(
    data_dir: Path, usb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "backups" / DEVICE / "202406" / "identity.json.gz").write_bytes(b"x")
    code, out, _ = run(capsys, "export", str(usb), "--data-dir", str(data_dir))
    assert code == EXIT_FAILED
    assert "损坏" in out
    assert "identity.json" in out


def test_export_to_a_missing_stick(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "export", str(tmp_path / "nope"), "--data-dir", str(data_dir))
    assert code == EXIT_STORAGE
    assert err.strip().endswith("[S-008]")
    assert "U盘" in err


def test_errors_as_json_and_in_english(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QINGKA_LANG", "en")
    code, out, err = run(
        capsys, "export", str(tmp_path / "nope"), "--data-dir", str(data_dir), "--json"
    )
    assert code == EXIT_STORAGE
    assert json.loads(out)["error"]["code"] == "S-008"
    assert "USB stick" in err


def test_nothing_to_export(tmp_path: Path, usb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "export", str(usb), "--data-dir", str(tmp_path))
    assert code == EXIT_STORAGE
    assert "[S-005]" in err


def test_export_that_cannot_be_recorded_still_names_the_archive(
    data_dir: Path,
    usb: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The read-only card itself is exercised in tests/appliance/storage/test_full_disk.py;
    # here only what the command prints about it.
    def read_only(*args: object) -> None:
        raise StorageReadOnly("read-only file system")

    monkeypatch.setattr(BackupStore, "_mark_exported", read_only)
    code, out, err = run(capsys, "export", str(usb), "--data-dir", str(data_dir))
    assert code == EXIT_STORAGE
    (archive,) = usb.glob("*.zip")
    assert str(archive) in out
    assert "[S-009]" in err


def test_help_lists_the_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["backup", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "list" in out and "verify" in out and "export" in out
