"""A daemon that cannot start says why in one sentence naming the path, with a meaningful code.

Under systemd the daemon is restarted after it exits, so the exit code says what kind of problem
it was: 2 a configuration or a path to fix, 5 another process holds the box, 4 the data folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from appliance.box import take_ownership
from tests.appliance.daemon.certs import write_ca

QINGKA = Path(sys.executable).parent / "qingka"
KEY = "04" + "11" * 64


def config(folder: Path, socket_path: str = "api.sock", data: str = "data") -> Path:
    write_ca(folder / "ca.pem")
    path = folder / "qingka.toml"
    path.write_text(
        f'data_dir = "{data}"\n[api]\nsocket = "{socket_path}"\n'
        f'[bureau]\nbase_url = "https://b.example"\nca_bundle = "ca.pem"\npublic_key = "{KEY}"\n'
    )
    return path


def daemon(path: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    """Run ``qingka daemon``; one that does start (or hangs) fails on the timeout."""
    return subprocess.run(
        [str(QINGKA), "daemon", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "QINGKA_LANG": lang, "NOTIFY_SOCKET": ""},
        check=False,
    )


def test_a_configuration_without_the_bureau_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "qingka.toml"
    path.write_text('data_dir = "data"\n[api]\nsocket = "api.sock"\n')
    result = daemon(path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bureau: is missing" in result.stderr


def test_a_fifo_as_the_configuration_exits_2_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    result = daemon(tmp_path / "fifo")
    assert result.returncode == 2
    assert "not a regular file" in result.stderr


def test_a_socket_path_holding_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "api.sock").write_text("keep me")
    result = daemon(config(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'api.sock'} exists and is not a socket" in result.stderr
    assert (tmp_path / "api.sock").read_text() == "keep me"


def test_a_missing_socket_folder_is_named_chinese_first(tmp_path: Path) -> None:
    result = daemon(config(tmp_path, "gone/api.sock"), lang="zh")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"文件夹 {tmp_path / 'gone'} 不存在" in result.stderr
    assert "[C-001]" in result.stderr
    english = daemon(config(tmp_path, "gone/api.sock"))
    assert f"its folder {tmp_path / 'gone'} does not exist" in english.stderr


def test_a_box_another_process_owns_exits_5(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    owner = take_ownership(tmp_path / "data")
    try:
        result = daemon(config(tmp_path))
    finally:
        os.close(owner)
    assert result.returncode == 5
    assert "Traceback" not in result.stderr
    assert f"Another QingKa process (process {os.getpid()})" in result.stderr
    assert "[C-010]" in result.stderr
    assert not (tmp_path / "api.sock").exists()


def test_a_socket_another_daemon_listens_on_exits_5(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "api.sock"))
    listener.listen(1)
    try:
        result = daemon(config(tmp_path))
    finally:
        listener.close()
    assert result.returncode == 5
    assert "Traceback" not in result.stderr
    assert f"Another QingKa daemon is listening on {tmp_path / 'api.sock'}" in result.stderr


def test_a_data_folder_it_cannot_use_exits_4(tmp_path: Path) -> None:
    (tmp_path / "data" / ".owner").mkdir(parents=True)  # the owner lock cannot be a file there
    result = daemon(config(tmp_path))
    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert f"({tmp_path / 'data' / '.owner'})" in result.stderr
    assert "[S-" in result.stderr
