"""What a careless technician does: wrong paths, half-copied sticks, odd files, --root, --lang."""

from __future__ import annotations

import argparse
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.cli import provision
from appliance.cli.main import main
from appliance.cli.output import choose_lang
from provisioning import fileops
from provisioning.report import Outcome
from provisioning.services import RunResult
from tests.provisioning.conftest import Box, MakeStick, Office, Recorder


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args) if args[0] == "--lang" else ["provision", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail a test that blocks (a FIFO opened for reading waits for a writer forever)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("blocked for 10 s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# -- 1. a stick path that is not a stick -----------------------------------------------------


def not_a_stick(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "no-qingka").mkdir()
    return {"missing": str(tmp_path / "nonexist"), "file": str(tmp_path / "a-file"), "empty": ""}


@pytest.mark.parametrize("case", ["missing", "file", "empty"])
def test_apply_refuses_a_path_that_is_no_folder_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    root = tmp_path / "boxroot"
    stick = not_a_stick(tmp_path)[case]
    code, text = cli(capsys, "apply", "--root", str(root), stick)
    assert code == 1 and "[P-100]" in text and text.startswith("找不到U盘"), text
    assert "P-010" not in text and "已写入" not in text
    assert not root.exists()  # no key pair made, no status, no fleet event
    assert main(["provision", "apply", "--root", str(root), "--json", stick]) == 1
    assert json.loads(capsys.readouterr().out)["code"] == "P-100"


@pytest.mark.parametrize("case", ["missing", "file", "empty", "no-qingka"])
@pytest.mark.parametrize("command", ["inspect", "enroll-read", "verify"])
def test_office_commands_refuse_a_path_without_a_qingka_folder(
    tmp_path: Path,
    the_office: Office,
    capsys: pytest.CaptureFixture[str],
    case: str,
    command: str,
) -> None:
    paths = {**not_a_stick(tmp_path), "no-qingka": str(tmp_path / "no-qingka")}
    extra = ["--trust", str(the_office.trust)] if command != "enroll-read" else []
    code, text = cli(capsys, command, paths[case], *extra)
    assert code == 1 and "[P-100]" in text, text
    assert "problems: []" not in text and "没有登记请求" not in text


@pytest.mark.parametrize("case", ["missing", "file", "empty"])
def test_make_and_sign_refuse_a_path_that_is_no_folder(
    tmp_path: Path, the_office: Office, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    stick = not_a_stick(tmp_path)[case]
    code, text = cli(capsys, "sign", "--key", str(the_office.key), stick)
    assert code == 1 and "[P-100]" in text, text
    code, text = cli(capsys, "make", "--config", str(tmp_path / "any.toml"), "--out", stick)
    assert code == 1 and "[P-100]" in text, text
    assert not (Path.cwd() / "QINGKA").exists()


def test_an_enrollment_request_that_could_not_be_written_is_not_claimed(box: Box) -> None:
    stick = box.root.parent / "stick"
    stick.mkdir()

    def refuse_enroll(operation: str, path: str) -> None:
        if "QINGKA/enroll" in path:
            raise OSError(30, "Read-only file system", path)

    fileops.set_fault_hook(refuse_enroll)
    outcome = box.applier().apply(stick)
    fileops.set_fault_hook(None)
    assert (outcome.result, outcome.code) == ("failed", "P-108"), outcome
    assert not (stick / "QINGKA" / "enroll").exists()
    status = json.loads(box.paths.status_file.read_text())
    assert status["code"] == "P-108" and status["report"] is False


# -- 2. a bundle missing its manifest is damaged, not absent ----------------------------------


@pytest.mark.parametrize(
    "remove", [["manifest.json"], ["manifest.json", "manifest.sig"], ["manifest.json", "bundle"]]
)
def test_a_bundle_without_its_manifest_is_damaged(
    box: Box,
    make_stick: MakeStick,
    the_office: Office,
    capsys: pytest.CaptureFixture[str],
    remove: list[str],
) -> None:
    stick = make_stick(serial=100)
    for name in remove:
        path = stick / "QINGKA" / name
        if path.is_dir():
            for item in path.iterdir():
                item.unlink()
            path.rmdir()
        else:
            path.unlink()
    code, text = cli(capsys, "apply", "--root", str(box.root), str(stick))
    assert code == 1 and "[P-201]" in text and "manifest.json is missing" in text, text
    assert not (stick / "QINGKA" / "enroll").exists()
    code, text = cli(capsys, "verify", str(stick), "--trust", str(the_office.trust))
    assert code == 1 and "[P-201]" in text, text
    code, text = cli(capsys, "inspect", str(stick), "--json", "--trust", str(the_office.trust))
    assert code == 1 and [p["code"] for p in json.loads(text)["problems"]] == ["P-201"]


def test_verify_of_a_stick_without_any_bundle_says_so(
    tmp_path: Path, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stick" / "QINGKA").mkdir(parents=True)
    code, text = cli(capsys, "verify", str(tmp_path / "stick"), "--trust", str(the_office.trust))
    assert code == 1 and "[P-101]" in text, text


# -- 3. --root leaves this machine's services alone; a failed restart is said -----------------


def test_apply_below_a_root_restarts_nothing_on_this_machine(
    box: Box, make_stick: MakeStick, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100)
    code, text = cli(
        capsys,
        "apply",
        "--root",
        str(box.root),
        "--api-socket",
        str(tmp_path / "none.sock"),
        str(stick),
    )
    assert code == 0 and "[P-000]" in text, text
    assert "--root" in text and "没有重启服务" in text
    report = json.loads(sorted((stick / "QINGKA" / "reports").glob("*.json"))[-1].read_text())
    assert report["restarted"] == []
    assert set(report["not_restarted"]) == {"network", "time", "daemon", "kiosk"}


class FailingDaemon(Recorder):
    def __call__(self, command: object) -> RunResult:
        super().__call__(command)  # type: ignore[arg-type]
        if "qingka-daemon.service" in command:  # type: ignore[operator]
            return RunResult(1, "Job for qingka-daemon.service failed")
        return RunResult(0, "")


def test_a_failed_restart_is_said_plainly_and_is_not_success(
    box: Box, make_stick: MakeStick, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100)
    outcome = box.applier(runner=FailingDaemon()).apply(stick)
    choose_lang(None)
    assert (outcome.result, outcome.code, outcome.detail) == ("applied", "P-405", "daemon")
    code = provision._show(argparse.Namespace(json=False), outcome)
    text = capsys.readouterr().out
    assert code == 1 and "[P-405]" in text and "重启本机" in text and "daemon" in text


# -- 4. odd files given as --trust, --key, --config are refused at once -----------------------


def odd_file(tmp_path: Path, kind: str) -> Path:
    if kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path, 0o600)
        return path
    if kind == "folder":
        path = tmp_path / "folder"
        path.mkdir(mode=0o700)
        return path
    return Path("/dev/null")


@pytest.mark.usefixtures("deadline")
@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_a_special_file_as_trust_store_key_or_settings_is_refused(
    make_stick: MakeStick,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    stick = make_stick(serial=100, sign=False)
    odd = str(odd_file(tmp_path, kind))
    code, text = cli(capsys, "verify", "--trust", odd, str(stick))
    assert code == 1 and "[P-212]" in text and "not a file" in text, text
    code, text = cli(capsys, "inspect", "--trust", odd, str(stick))
    assert code == 1 and "[P-212]" in text, text
    code, text = cli(capsys, "revoke", odd, "0123456789abcdef")
    assert code == 1 and "[P-212]" in text, text
    code, text = cli(capsys, "make", "--config", odd, "--out", str(stick))
    assert code == 1 and "[P-304]" in text and "not a file" in text, text
    # Refused for what it is, whatever its mode (a FIFO of mode 0644 is no key either).
    if kind == "fifo":
        Path(odd).chmod(0o644)
    code, text = cli(capsys, "sign", "--key", odd, str(stick))
    assert code == 1 and "[P-502]" in text and "mode" not in text, text


# -- 5. no trust store is not a damaged one ---------------------------------------------------


def test_verify_without_any_trust_store_says_none_is_installed(
    make_stick: MakeStick, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = make_stick(serial=100)
    code, text = cli(capsys, "verify", "--root", str(tmp_path / "bare"), str(stick))
    assert code == 1 and "[P-213]" in text and "还没有安装信任密钥列表" in text, text
    assert "损坏" not in text and "--trust" in text
    code, text = cli(capsys, "verify", "--trust", str(tmp_path / "nope.json"), str(stick))
    assert code == 1 and "[P-213]" in text and "--trust" in text, text
    code, text = cli(capsys, "inspect", "--trust", str(tmp_path / "nope.json"), str(stick))
    assert code == 1 and "[P-213]" in text and "--trust" in text, text


def test_apply_on_a_box_without_its_trust_store_points_to_the_image_not_to_an_option(
    box: Box, make_stick: MakeStick, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``apply`` has no ``--trust``: the box's store comes with its image."""
    stick = make_stick(serial=100)
    (box.paths.image_trust_dir / "trust.json").unlink()
    root, socket = str(box.root), str(tmp_path / "none.sock")
    code, text = cli(capsys, "apply", "--root", root, "--api-socket", socket, str(stick))
    assert code == 1 and "[P-213]" in text, text
    assert "--trust" not in text and "系统镜像" in text and "技术支持" in text, text


# -- 6. --lang ---------------------------------------------------------------------------------


def test_provision_speaks_the_chosen_language_and_json_is_the_same(
    make_stick: MakeStick, the_office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    stick = str(make_stick(serial=100))
    trust = str(the_office.trust)
    code, english = cli(capsys, "--lang", "en", "provision", "verify", stick, "--trust", trust)
    assert code == 0 and english.startswith("Verified: serial 100") and not has_chinese(english)
    code, chinese = cli(capsys, "verify", stick, "--trust", trust)
    assert code == 0 and chinese.startswith("验证通过") and "Verified" not in chinese
    code, refused = cli(capsys, "--lang", "en", "provision", "verify", stick + "-x")
    assert code == 1 and "[P-100]" in refused and not has_chinese(refused), refused
    code, refused = cli(capsys, "verify", stick + "-x")
    assert code == 1 and refused.startswith("找不到U盘") and "No USB stick" not in refused
    en_json = cli(capsys, "--lang", "en", "provision", "inspect", stick, "--json", "--trust", trust)
    zh_json = cli(capsys, "inspect", stick, "--json", "--trust", trust)
    assert en_json == zh_json


def test_apply_result_follows_the_language(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = Outcome("refused", "P-208", detail="this box is qk-000000000000", box_id="qk-1")
    choose_lang(None)
    assert provision._show(argparse.Namespace(json=False), outcome) == 1
    chinese = capsys.readouterr().out
    assert chinese.startswith("这个配置包不是给本机的") and "This bundle" not in chinese
    main(["--lang", "en", "provision", "identity", "--root", str(box.root)])
    text = capsys.readouterr().out
    assert text.startswith("Box qk-") and not has_chinese(text)
