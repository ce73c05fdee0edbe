"""The guarded opener: a regular file opens; a FIFO, a device or a folder is refused at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.jsonfile import (
    JsonFileError,
    NotRegularFile,
    check_writable_target,
    load_capped,
    open_regular,
    open_regular_for_writing,
)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_a_regular_file_opens_and_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"a": 1}')
    with open_regular(path) as handle:
        assert handle.read() == b'{"a": 1}'
    assert load_capped(path, 100, "table") == {"a": 1}
    with pytest.raises(JsonFileError, match="larger than 3 bytes"):
        load_capped(path, 3, "table")


def test_a_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    # /etc/qingka is a symlink to the current configuration generation.
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with open_regular(tmp_path / "link") as handle:
        assert handle.read() == b"x"


def test_a_fifo_is_refused_for_reading_and_writing_without_blocking(fifo: Path) -> None:
    # Without the guard both calls block in open() until another process opens the FIFO.
    with pytest.raises(NotRegularFile, match="FIFO"):
        open_regular(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):
        load_capped(fifo, 100, "table")
    with pytest.raises(NotRegularFile, match="FIFO"):
        open_regular_for_writing(fifo)


def test_a_device_and_a_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotRegularFile, match="device"):
        open_regular(Path("/dev/zero"))
    with pytest.raises(IsADirectoryError, match="folder"):
        open_regular(tmp_path)
    with pytest.raises(IsADirectoryError, match="folder"):
        open_regular_for_writing(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "none")


def test_writing_needs_the_folder_and_replaces_the_content(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"its folder .*none does not exist"):
        check_writable_target(tmp_path / "none" / "x.jsonl")
    path = tmp_path / "x.jsonl"
    path.write_text("old content, longer\n")
    with open_regular_for_writing(path) as handle:
        handle.write(b"new\n")
    assert path.read_text() == "new\n"
