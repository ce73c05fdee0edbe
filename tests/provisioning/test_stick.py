"""The stick reader against hostile folders: links, special files, names, counts, sizes, FAT."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning import bundle, inspection, trust
from provisioning.errors import (
    NotRegularFile,
    ProvisionError,
    StickError,
    TooLarge,
    TooManyFiles,
    UnsafePath,
)
from provisioning.manifest import FileEntry
from provisioning.stick import Limits, Stick
from tests.provisioning.conftest import Box, MakeStick, Office, snapshot


def bundle_dir(root: Path) -> Path:
    folder = root / "QINGKA" / "bundle"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_listing_of_plain_files(tmp_path: Path) -> None:
    folder = bundle_dir(tmp_path)
    (folder / "config.json").write_text("{}")
    (folder / "sub").mkdir()
    (folder / "sub" / "a.pem").write_text("x" * 10)
    assert Stick(tmp_path).listing() == {"config.json": 2, "sub/a.pem": 10}


@pytest.mark.parametrize(
    "make",
    ["symlink-file", "symlink-dir", "fifo", "socket", "char-device", "block-device"],
)
def test_special_files_in_the_bundle_are_refused(tmp_path: Path, make: str) -> None:
    folder = bundle_dir(tmp_path)
    target = folder / "config.json"
    if make == "symlink-file":
        target.symlink_to("/etc/passwd")
    elif make == "symlink-dir":
        (folder / "sub").symlink_to("/etc")
    elif make == "fifo":
        os.mkfifo(target)
    elif make == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
        server.close()
    else:
        kind = stat.S_IFCHR if make == "char-device" else stat.S_IFBLK
        os.mknod(target, 0o600 | kind, os.makedev(1, 3))
    with pytest.raises(NotRegularFile):
        Stick(tmp_path).listing()


def test_a_fifo_or_link_as_manifest_never_blocks_and_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "QINGKA"
    folder.mkdir()
    os.mkfifo(folder / "manifest.json")
    with pytest.raises(NotRegularFile):
        Stick(tmp_path).read_top("manifest.json", 1000)
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to("/etc/hostname")
    with pytest.raises(NotRegularFile):
        Stick(tmp_path).read_top("manifest.json", 1000)


def test_qingka_folder_as_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    (real / "bundle").mkdir(parents=True)
    (tmp_path / "stick").mkdir()
    (tmp_path / "stick" / "QINGKA").symlink_to(real)
    with pytest.raises(NotRegularFile):
        Stick(tmp_path / "stick").read_top("manifest.json", 100)


@pytest.mark.parametrize("name", [".hidden", "a b.json", "名字.json", "-x", "a\\b", "x" * 70])
def test_names_that_are_not_allowed(tmp_path: Path, name: str) -> None:
    (bundle_dir(tmp_path) / name).write_text("x")
    with pytest.raises(UnsafePath):
        Stick(tmp_path).listing()


def test_names_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    folder = bundle_dir(tmp_path)
    (folder / "Config.json").write_text("x")
    (folder / "config.json").write_text("y")
    with pytest.raises(UnsafePath, match="case"):
        Stick(tmp_path).listing()


def test_too_deep_is_refused(tmp_path: Path) -> None:
    deep = bundle_dir(tmp_path) / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "f").write_text("x")
    with pytest.raises(UnsafePath):
        Stick(tmp_path).listing()


def test_too_many_files_and_entries(tmp_path: Path) -> None:
    folder = bundle_dir(tmp_path)
    for number in range(65):
        (folder / f"f{number}").write_text("x")
    with pytest.raises(TooManyFiles):
        Stick(tmp_path).listing()
    for number in range(65):
        (folder / f"f{number}").unlink()
    for number in range(300):
        (folder / f"d{number}").mkdir()
    with pytest.raises(TooManyFiles):
        Stick(tmp_path).listing()


def test_oversized_files_are_refused_before_reading(tmp_path: Path) -> None:
    folder = tmp_path / "QINGKA"
    folder.mkdir()
    with (folder / "manifest.json").open("wb") as handle:
        handle.truncate(1 << 30)  # sparse: refused by its size, never read
    with pytest.raises(TooLarge):
        Stick(tmp_path).read_top("manifest.json", 64 * 1024)
    with (bundle_dir(tmp_path) / "config.json").open("wb") as handle:
        handle.truncate(300 * 1024)
    entry = FileEntry("config.json", 300 * 1024, "0" * 64)
    with pytest.raises(TooLarge):
        Stick(tmp_path, Limits(cap=bundle.cap)).check_listing((entry,))


def test_writes_never_follow_a_link_out_of_the_stick(tmp_path: Path) -> None:
    outside = tmp_path / "box-etc"
    outside.mkdir()
    stick = tmp_path / "stick"
    (stick / "QINGKA").mkdir(parents=True)
    (stick / "QINGKA" / "reports").symlink_to(outside)
    with pytest.raises(NotRegularFile):
        Stick(stick).write(("reports",), "r.json", b"{}")
    assert list(outside.iterdir()) == []


def test_a_listed_file_changed_on_the_stick_is_caught_while_copying(tmp_path: Path) -> None:
    folder = bundle_dir(tmp_path)
    (folder / "config.json").write_bytes(b"abcd")
    entry = FileEntry("config.json", 4, hashlib.sha256(b"abce").hexdigest())
    with pytest.raises(ProvisionError) as caught:
        Stick(tmp_path).copy_file(entry, tmp_path / "copy")
    assert caught.value.code == "P-206"


KINDS = st.sampled_from(["file", "dir", "link", "fifo", "big"])
NAMES = st.text(alphabet="abAB.-_/ 名\\x0", min_size=1, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=st.lists(st.tuples(NAMES, KINDS), max_size=12))
def test_fuzz_any_tree_lists_safely_or_refuses_with_a_stick_error(
    tmp_path_factory: pytest.TempPathFactory, tree: list[tuple[str, str]]
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    folder = bundle_dir(root)
    for name, kind in tree:
        path = folder / name.strip("/")
        if not name.strip("/") or path.exists() or path.is_symlink():
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                path.write_bytes(b"x")
            elif kind == "big":
                path.write_bytes(b"x" * 5000)
            elif kind == "dir":
                path.mkdir()
            elif kind == "link":
                path.symlink_to("/etc")
            else:
                os.mkfifo(path)
        except OSError:
            continue  # a name the test filesystem itself refuses
    stick = Stick(root, Limits(max_files=5, cap=lambda p: 1000))
    try:
        found = stick.listing()
    except StickError:
        return
    for path, size in found.items():
        assert ".." not in path.split("/") and not path.startswith("/")
        target = folder / path
        assert target.is_file() and not target.is_symlink() and target.stat().st_size == size
    assert len(found) <= 5


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("mcopy") is None, reason="mtools is in tools/system-packages.txt")
def test_a_bundle_survives_a_fat_stick(
    box: Box, make_stick: MakeStick, the_office: Office, tmp_path: Path
) -> None:
    """Copied onto a FAT image and back with mtools (this kernel mounts no vfat): still valid."""
    stick = make_stick(serial=100)
    image = tmp_path / "fat.img"
    run("mkfs.vfat", "-C", "-n", "QINGKA", str(image), "8192")
    run("mcopy", "-s", "-i", str(image), str(stick / "QINGKA"), "::/")
    listing = subprocess.run(
        ["mdir", "-/", "-b", "-i", str(image), "::/QINGKA"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "manifest.json" in listing and "config.json" in listing
    back = tmp_path / "from-fat"
    back.mkdir()
    run("mcopy", "-s", "-n", "-i", str(image), "::/QINGKA", str(back))
    store = trust.read_file(the_office.trust)
    assert store is not None
    assert inspection.verify(back, store, box.identity().box_id)["serial"] == 100
    outcome = box.applier().apply(back)
    assert outcome.result == "applied"
    # The report goes back onto the FAT image as a FAT stick would take it.
    run("mcopy", "-s", "-n", "-i", str(image), str(back / "QINGKA" / "reports"), "::/QINGKA")
    names = subprocess.run(
        ["mdir", "-b", "-i", str(image), "::/QINGKA/reports"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert names.count(".json") == 1 and names.count(".txt") == 1


def test_refusal_of_a_link_in_a_bundle_leaves_the_box_untouched(
    box: Box, make_stick: MakeStick
) -> None:
    stick = make_stick(serial=100)
    config = stick / "QINGKA" / "bundle" / "calendar.json"
    config.unlink()
    config.symlink_to("/etc/hostname")
    before = snapshot(box.paths)
    outcome = box.applier().apply(stick)
    assert outcome.code == "P-103"
    assert snapshot(box.paths) == before
