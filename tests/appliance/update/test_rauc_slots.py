"""Installing bundles with the real RAUC into loop-device slots, through ``install_bundle``.

A good bundle lands in the inactive slot and is tried once; a bundle signed by another key, a
damaged one, one for another product and an older one are refused with the slots and the boot
order untouched; killing RAUC in the middle of writing leaves the booted slot as it was.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.update import install_bundle
from appliance.update.errors import (
    BundleCorrupt,
    BundleMissing,
    Incompatible,
    SignatureUntrusted,
    VersionTooOld,
)
from appliance.update.rauc import Rauc
from tests.appliance.update.rauc_rig import (
    COMPATIBLE,
    FILES,
    QINGKA,
    RaucRig,
    Signer,
    device_hash,
    read_file,
)

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        any(
            shutil.which(tool) is None for tool in ("rauc", "dbus-daemon", "losetup", "mksquashfs")
        ),
        reason="rauc, dbus-daemon, losetup or mksquashfs is not installed",
    ),
]


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaucRig]:
    box = RaucRig(tmp_path)
    try:
        box.start()
        for key, value in box.env.items():
            if key.startswith(("QINGKA_", "DBUS_")):
                monkeypatch.setenv(key, value)
        yield box
    finally:
        box.close()


def _untouched(rig: RaucRig, slot_a: str) -> None:
    assert device_hash(rig.devices[0]) == slot_a
    assert read_file(rig.devices[1], "version") == b"empty"
    assert rig.autoboot().get("tryboot", "2") == "2"


def test_a_good_bundle_goes_to_the_inactive_slot_and_is_tried_once(rig: RaucRig) -> None:
    slot_a = device_hash(rig.devices[0])
    result = install_bundle(rig.bundle("2026.2.0"))
    assert (result.slot, result.bootname, result.version) == ("rootfs.1", "B", "2026.2.0")
    assert read_file(rig.devices[1], "version") == b"2026.2.0"
    assert device_hash(rig.devices[0]) == slot_a
    # A stays what boots normally; B is what the next "reboot '0 tryboot'" starts.
    assert rig.autoboot() == {"all": "2", "tryboot": "3"}


def test_the_tried_slot_is_kept_only_once_marked_good(rig: RaucRig) -> None:
    install_bundle(rig.bundle("2026.2.0"))
    # The box reboots with tryboot into B, the new software runs and its health check passed.
    rig.stop_service()
    rig.image_version.write_text("2026.2.0\n")
    rig.start(booted="B", tryboot=True)
    done = subprocess.run(
        [str(QINGKA), "update", "mark-good", "--no-check"],
        env=rig.env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert rig.autoboot() == {"all": "3", "tryboot": "3"}
    assert rig.floor.read_text().strip() == "2026.2.0"
    # From now on the version A still holds is refused, even though it is a valid bundle.
    with pytest.raises(VersionTooOld):
        install_bundle(rig.bundle("2026.1.5"))


def test_a_trial_that_is_not_marked_good_falls_back(rig: RaucRig) -> None:
    install_bundle(rig.bundle("2026.2.0"))
    rig.stop_service()
    rig.start(booted="B", tryboot=True)
    # The new software never got healthy: no daemon answers, so nothing marks B good...
    done = subprocess.run(
        [str(QINGKA), "update", "mark-good", "--socket", str(rig.dir / "no-daemon.sock")],
        env={**rig.env, "QINGKA_LANG": "en"},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1
    assert "[U-301]" in done.stderr.decode()
    # ... and the next plain reboot starts what [all] names: still A.
    assert rig.autoboot()["all"] == "2"
    # Marking the tried slot bad (what a failed start does) drops the trial as well.
    subprocess.run(
        ["rauc", f"--conf={rig.conf}", "status", "mark-bad", "booted"], env=rig.env, check=True
    )
    assert rig.autoboot() == {"all": "2", "tryboot": "2"}


@pytest.mark.parametrize(
    ("make", "error"),
    [
        ("other_key", SignatureUntrusted),
        ("corrupt", BundleCorrupt),
        ("incompatible", Incompatible),
        ("older", VersionTooOld),
        ("missing", BundleMissing),
    ],
)
def test_bad_bundles_are_refused_and_nothing_changes(
    rig: RaucRig, make: str, error: type[Exception]
) -> None:
    slot_a = device_hash(rig.devices[0])
    if make == "other_key":
        bundle = rig.bundle("2026.2.0", signer=Signer(rig.dir / "other", "someone-else"))
    elif make == "corrupt":
        bundle = rig.bundle("2026.2.0")
        data = bytearray(bundle.read_bytes())
        for offset in range(4096, 4096 + 64):
            data[offset] ^= 0xFF
        bundle.write_bytes(bytes(data))
    elif make == "incompatible":
        bundle = rig.bundle("2026.2.0", compatible="someone-elses-box")
    elif make == "older":
        bundle = rig.bundle("2025.12.0")
    else:
        bundle = rig.dir / "no-such.raucb"
    with pytest.raises(error) as caught:
        install_bundle(bundle)
    assert caught.value.code.startswith("U-")
    _untouched(rig, slot_a)


def test_rauc_itself_refuses_an_older_bundle_through_the_pre_install_handler(rig: RaucRig) -> None:
    slot_a = device_hash(rig.devices[0])
    bundle = rig.bundle("2025.12.0")
    done = subprocess.run(
        ["rauc", f"--conf={rig.conf}", "install", str(bundle)],
        env=rig.env,
        capture_output=True,
        check=False,
    )
    assert done.returncode != 0
    assert "Pre-install handler error" in done.stdout.decode()
    # The handler said why, in RAUC's log.
    assert "older than 2026.1.0" in rig.service_log.read_text()
    _untouched(rig, slot_a)


def test_kill_9_while_writing_leaves_the_booted_slot_untouched(rig: RaucRig) -> None:
    slot_a = device_hash(rig.devices[0])
    payload = random.Random(11).randbytes(32 * 1024 * 1024)
    bundle = rig.bundle("2026.2.0", payload=payload)
    stat = Path(f"/sys/block/{rig.devices[1].name}/stat")
    written_before = int(stat.read_text().split()[6])
    installer = threading.Thread(
        target=subprocess.run,
        args=(["rauc", f"--conf={rig.conf}", "install", str(bundle)],),
        kwargs={"env": rig.env, "capture_output": True, "check": False},
    )
    installer.start()
    deadline = time.monotonic() + 60
    while int(stat.read_text().split()[6]) == written_before:
        assert time.monotonic() < deadline, "RAUC never started writing slot B"
        time.sleep(0.002)
    assert rig.service is not None
    os.kill(rig.service.pid, signal.SIGKILL)
    rig.service.wait(timeout=10)
    rig.service = None
    installer.join(timeout=30)
    # Killed before the install finished: the boot order was never switched, B (marked
    # non-bootable before RAUC wrote to it) stays bad, and A is bit for bit what it was.
    assert rig.autoboot().get("all", "2") == "2"
    assert rig.autoboot().get("tryboot", "2") == "2"
    backend = subprocess.run(
        [str(FILES / "tryboot-backend"), "get-state", "B"],
        env=rig.env,
        capture_output=True,
        check=True,
    )
    assert backend.stdout.decode().strip() == "bad"
    assert device_hash(rig.devices[0]) == slot_a
    # The box goes on: a restarted service installs the same bundle whole.
    rig.start()
    result = install_bundle(bundle)
    assert result.slot == "rootfs.1"
    assert read_file(rig.devices[1], "payload.bin") == payload


def test_the_box_takes_verity_bundles_and_refuses_plain_ones(rig: RaucRig) -> None:
    box = Rauc(conf=rig.box_conf())
    info = box.info(rig.bundle("2026.2.0", bundle_format="verity"))
    assert (info.version, info.compatible, info.images) == ("2026.2.0", COMPATIBLE, ("rootfs",))
    with pytest.raises(Incompatible, match="not allowed"):
        box.info(rig.bundle("2026.2.0"))
