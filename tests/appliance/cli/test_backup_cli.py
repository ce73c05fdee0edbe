"""``qingka backup list | verify | export``: plain text, JSON, exit codes, errors."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.cli.output import EXIT_FAILED, EXIT_OK, EXIT_STORAGE, EXIT_USAGE
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


def test_export_to_a_missing_folder_says_so(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "export", str(tmp_path / "nope"), "--data-dir", str(data_dir))
    assert code == EXIT_USAGE
    assert err.strip().endswith("[S-011]")
    assert "导出目录不存在" in err and "nope" in err
    assert "空间" not in err  # not "has room, not write-protected": the folder is not there


def test_export_onto_a_file_says_it_is_a_file(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QINGKA_LANG", "en")
    target = tmp_path / "report.txt"
    target.write_text("mine")
    code, _, err = run(capsys, "export", str(target), "--data-dir", str(data_dir))
    assert code == EXIT_USAGE
    assert err.strip().endswith("[S-012]")
    assert "is a file, not a folder" in err and "report.txt" in err
    assert "USB stick is plugged in" not in err
    assert target.read_text() == "mine"


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
    assert code == EXIT_USAGE
    assert json.loads(out)["error"]["code"] == "S-011"
    assert "does not exist" in err


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


def test_a_missing_manifest_is_one_line_not_extra_files(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINGKA_LANG", "en")
    (data_dir / "backups" / DEVICE / "202405" / "manifest.json").unlink()
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir))
    assert code == EXIT_FAILED
    line = next(line for line in out.splitlines() if line.startswith("2024-05"))
    assert "manifest missing: this period's backup cannot be checked; its files are kept" in line
    assert "extra" not in out and "interrupted" not in out
    assert "1 problems" in out
    code, out, _ = run(capsys, "list", "--data-dir", str(data_dir))
    assert code == EXIT_OK
    assert "2024-05  the manifest is missing" in out


@pytest.mark.parametrize("action", ["list", "verify"])
def test_backups_replaced_by_a_file_is_a_storage_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    backups = data_dir / "backups"
    shutil.rmtree(backups)
    backups.write_text("oops")
    code, out, err = run(capsys, action, "--data-dir", str(data_dir))
    assert code == EXIT_STORAGE
    assert "还没有备份" not in out
    assert err.strip().endswith("[S-010]")
    assert "不是文件夹" in err
    assert backups.read_text() == "oops"


def test_stray_entries_in_the_backup_folder_are_reported(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = data_dir / "backups"
    (backups / "notes.txt").write_text("hello")
    os.mkfifo(backups / "pipe")
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir))
    assert code == EXIT_FAILED
    assert "无关条目：backups/notes.txt" in out and "普通文件" in out
    assert "无关条目：backups/pipe" in out and "FIFO" in out
    assert "2 个问题" in out
    assert (backups / "notes.txt").exists() and (backups / "pipe").exists()


def test_reasons_follow_the_language(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / "backups" / DEVICE / "202406" / "identity.json.gz").write_bytes(b"x" * 4000)
    monkeypatch.setenv("QINGKA_LANG", "zh")
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir))
    assert code == EXIT_FAILED
    line = next(line for line in out.splitlines() if "identity.json" in line)
    assert "字节，超过允许的" in line
    assert "bytes" not in line and "allowed" not in line
    monkeypatch.setenv("QINGKA_LANG", "en")
    code, out, _ = run(capsys, "verify", "--data-dir", str(data_dir))
    line = next(line for line in out.splitlines() if "identity.json" in line)
    assert "bytes, more than the" in line


def test_export_says_a_period_without_manifest_was_left_out_not_corrupt(
    data_dir: Path, usb: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINGKA_LANG", "en")
    (data_dir / "backups" / DEVICE / "202405" / "manifest.json").unlink()
    code, out, _ = run(capsys, "export", "--data-dir", str(data_dir), str(usb))
    assert code == EXIT_FAILED
    line = next(line for line in out.splitlines() if "2024-05" in line)
    assert line.strip().startswith(f"manifest missing: {DEVICE} 2024-05 —"), line
    assert "left out" in line and "stay on the box" in line
    assert "corrupt" not in out and "checksum" not in out
    (archive,) = usb.glob("*.zip")
    with zipfile.ZipFile(archive) as zf:
        readme = zf.read("README.txt").decode("utf-8-sig")
        problems = json.loads(zf.read("MANIFEST.json"))["problems"]
    assert [p["problem"] for p in problems] == ["manifest-missing"]
    assert f"{DEVICE} 2024-05: manifest missing (the whole period was left out" in readme
    assert f"{DEVICE} 2024-05: 清单缺失（" not in readme and "corrupt" not in readme


def test_a_copy_set_aside_by_a_save_is_listed_and_export_says_it_left_it_out(
    data_dir: Path, usb: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINGKA_LANG", "en")
    (data_dir / "backups" / DEVICE / "202405" / "manifest.json").unlink()
    BackupStore(data_dir, min_free_bytes=0).save(DEVICE, 202405, "receipt.json", b"{}", "receipt")
    (aside,) = (data_dir / "backups" / DEVICE).glob(".damaged-202405-*")
    code, out, _ = run(capsys, "list", "--data-dir", str(data_dir))
    assert code == EXIT_OK
    assert f"set aside: damaged copy of 2024-05 (device {DEVICE}) kept in {aside}" in out
    code, out, _ = run(capsys, "list", "--data-dir", str(data_dir), "--json")
    assert json.loads(out)["set_aside"] == [
        {"device_no": DEVICE, "period": 202405, "path": str(aside)}
    ]
    code, out, _ = run(capsys, "export", "--data-dir", str(data_dir), str(usb))
    assert code == EXIT_FAILED, out
    assert f"Not exported (stays on the box): damaged copy of 2024-05 (device {DEVICE})" in out
    code, out, _ = run(capsys, "export", "--data-dir", str(data_dir), str(usb), "--json")
    assert json.loads(out)["left_out"][0]["path"] == str(aside)
    code, out, _ = run(capsys, "export", "--data-dir", str(data_dir), str(usb), "--device", "9")
    assert "set aside" not in out and "Not exported" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--data-dir", "DATA", ""],
        ["verify", "--data-dir", ""],
        ["list", "--data-dir", ""],
    ],
)
def test_an_empty_path_is_refused_not_taken_as_here(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    args = [str(data_dir) if item == "DATA" else item for item in argv]
    with pytest.raises(SystemExit) as caught:
        run(capsys, *args)
    assert caught.value.code == EXIT_USAGE
    assert "the path is empty" in capsys.readouterr().err
    assert list(here.iterdir()) == []


def test_a_file_given_as_data_folder_is_said_to_be_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINGKA_LANG", "en")
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0\n")
    code, _, err = run(capsys, "verify", "--data-dir", str(afile))
    assert code == EXIT_USAGE
    assert f"{afile} is not a folder" in err and "There is no data folder" not in err
