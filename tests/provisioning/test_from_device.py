"""``from-device`` on a real block device: an ext4 stick image on a loop device."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.apply import Applier
from provisioning.device import from_device, mount_options
from provisioning.report import Outcome
from tests.appliance.storage.smallfs import loop_available
from tests.provisioning.conftest import Box, MakeStick

pytestmark = pytest.mark.skipif(not loop_available(), reason="needs root and loop devices")


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def loop_stick(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Yield (make device from a stick folder, image) and detach the loop device after."""
    devices: list[str] = []

    def attach(folder: Path) -> Path:
        image = tmp_path / f"stick-{len(devices)}.img"
        with image.open("wb") as handle:
            handle.truncate(16 * 1024 * 1024)
        run("mkfs.ext4", "-q", "-F", "-L", "QINGKA", "-d", str(folder), str(image))
        device = run("losetup", "--find", "--show", str(image)).strip()
        devices.append(device)
        return Path(device)

    yield attach  # type: ignore[misc]
    for device in devices:
        subprocess.run(["losetup", "-d", device], capture_output=True, timeout=30)


def image_listing(device: Path, folder: str) -> str:
    return run("debugfs", "-R", f"ls -l {folder}", str(device))


class Watching(Applier):
    """An applier that notes whether the stick was read-only while the bundle was read."""

    read_only: bool | None = None

    def apply(self, stick_root: Path) -> Outcome:
        self.read_only = bool(os.statvfs(stick_root).f_flag & os.ST_RDONLY)
        return super().apply(stick_root)


def test_mounts_read_only_applies_reports_and_unmounts(
    box: Box, make_stick: MakeStick, loop_stick: object, tmp_path: Path
) -> None:
    device = loop_stick(make_stick(serial=100))  # type: ignore[operator]
    base = box.applier()
    applier = Watching(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    outcome = from_device(device, applier)
    assert outcome.result == "applied", outcome
    assert applier.read_only is True
    assert box.current() == "gen-0001"
    mounted = run("findmnt", "-rn", "-o", "SOURCE").split()
    assert str(device) not in mounted
    assert not (box.paths.mount_base / device.name).exists()
    listing = image_listing(device, "/QINGKA/reports")
    assert listing.count(".json") == 1 and listing.count(".txt") == 1


def test_an_empty_stick_gets_the_enrollment_request(
    box: Box, loop_stick: object, tmp_path: Path
) -> None:
    folder = tmp_path / "empty"
    (folder / "QINGKA").mkdir(parents=True)
    device = loop_stick(folder)  # type: ignore[operator]
    outcome = from_device(device, box.applier())
    assert outcome.result == "enrolled"
    assert f"{outcome.box_id}.json" in image_listing(device, "/QINGKA/enroll")


def test_unmounts_even_when_the_apply_crashes(
    box: Box, make_stick: MakeStick, loop_stick: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = loop_stick(make_stick(serial=100))  # type: ignore[operator]
    applier = box.applier()

    def crash(root: Path) -> Outcome:
        raise RuntimeError("power dip")

    monkeypatch.setattr(applier, "apply", crash)
    with pytest.raises(RuntimeError):
        from_device(device, applier)
    assert str(device) not in run("findmnt", "-rn", "-o", "SOURCE").split()


def test_what_is_not_a_stick_is_not_mounted(box: Box, tmp_path: Path) -> None:
    plain = tmp_path / "not-a-device"
    plain.write_bytes(b"\0" * 4096)
    outcome = from_device(plain, box.applier())
    assert (outcome.result, outcome.code) == ("refused", "P-403")
    status = box.paths.status_file.read_text()
    assert "P-403" in status
    for path in ("/dev/../etc/passwd", "/dev/null"):
        assert from_device(Path(path), box.applier()).code == "P-403"


def test_mount_options() -> None:
    assert mount_options("ext4") == "ro,nosuid,nodev,noexec"
    assert "umask=0077" in mount_options("vfat") and "flush" in mount_options("vfat")
