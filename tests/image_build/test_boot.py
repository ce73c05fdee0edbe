"""The box booted under real systemd: Debian root file system + install.sh + systemd-nspawn --boot.

One test boots one container and runs every check on it as a subtest (so the whole boot stays
on one xdist worker, and one failed check does not hide the others): the daemon must reach READY
against a simulated device, feed its watchdog, come back after kill -9 and after a hang, the
kiosk must start, the root must be read-only, the units must verify. Timings (cold or cached
root file system, install, boot to READY) are printed and written to
``.cache/boot-test/timings.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from simulators.bureau import keys
from tests.image_build import rootfs
from tests.image_build.container import Container

BOX = Path(__file__).parent / "box"
UNITS = ("qingka-daemon.service", "qingka-kiosk.service", "qingka-mark-good.service")
DAEMON = "qingka-daemon.service"
KIOSK = "qingka-kiosk.service"
VERSION = "2026.1.0"
QINGKA = "/opt/qingka/bin/qingka"
TEST_WATCHDOG_S = 3.0
# What each step took (seconds), and whether the root file system was built or cached.
Timings = dict[str, float | str]

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        shutil.which("mmdebstrap") is None or shutil.which("systemd-nspawn") is None,
        reason="mmdebstrap or systemd-nspawn is not installed (tools/system-packages.txt)",
    ),
]


def _owner(root: Path, name: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"no user {name} in the image")


def _data_partition(root: Path, data: Path) -> None:
    """Lay out the data partition as provisioning leaves it: a configuration generation."""
    generation = data / "config" / "gen-1"
    generation.mkdir(parents=True)
    shutil.copy(BOX / "qingka.toml", generation / "qingka.toml")
    _, ca = rootfs.self_signed("bureau test CA")
    (generation / "bureau-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (generation / "bureau-key.hex").write_text(keys.bureau_public_point().hex() + "\n")
    (data / "config" / "current").symlink_to("gen-1")
    uid, gid = _owner(root, "qingka")
    os.chown(data, uid, gid)
    (data / "sim").mkdir()
    os.chown(data / "sim", uid, gid)


def _drop_in(root: Path, unit: str, source: Path) -> None:
    directory = root / "etc/systemd/system" / f"{unit}.d"
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, directory / source.name)


@contextlib.contextmanager
def booted_box(work: Path, timings: Timings) -> Iterator[Container]:
    """Build, install and boot the box in ``work``; halt and remove it afterwards."""
    started = time.monotonic()
    tarball, built = rootfs.rootfs_tarball()
    timings["rootfs"] = "cold" if built is not None else "cached"
    timings["rootfs_s"] = round(time.monotonic() - started, 1)
    root = work / "root"
    step = time.monotonic()
    rootfs.extract(tarball, root)
    timings["extract_s"] = round(time.monotonic() - step, 1)
    step = time.monotonic()
    rootfs.build_wheels(work / "wheels")
    timings["wheels_s"] = round(time.monotonic() - step, 1)
    rootfs.make_trust(work / "trust")
    step = time.monotonic()
    rootfs.install(root, work / "wheels", work / "trust", VERSION)
    timings["install_s"] = round(time.monotonic() - step, 1)
    _drop_in(root, KIOSK, BOX / "kiosk-offscreen.conf")
    _drop_in(root, DAEMON, BOX / "daemon-fast-watchdog.conf")
    data = work / "data"
    data.mkdir()
    _data_partition(root, data)
    container = Container(root, data, work / "console.log", f"qingka-boot-{os.getpid()}")
    try:
        container.start()
        timings["boot_to_systemd_s"] = round(time.monotonic() - container.started, 1)
        container.wait_for(
            "the daemon to be READY",
            lambda: container.show(DAEMON, "ActiveState") == "active",
            60,
        )
        timings["boot_to_ready_s"] = round(time.monotonic() - container.started, 1)
        yield container
    finally:
        container.stop()
        rootfs.remove_tree(root)
        timings["total_s"] = round(time.monotonic() - started, 1)
        report = rootfs.cache_dir() / "timings.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(timings, indent=2) + "\n")
        print(f"\nboot test timings: {json.dumps(timings)}")


def _restarts(box: Container) -> int:
    return int(box.show(DAEMON, "NRestarts"))


def _main_pid(box: Container) -> int:
    return int(box.show(DAEMON, "MainPID"))


def check_daemon_is_ready_against_the_simulated_device(box: Container, timings: Timings) -> None:
    assert box.show(DAEMON, "Type") == "notify"
    assert box.show(DAEMON, "SubState") == "running"
    out = box.run("/opt/qingka/bin/qingka", "status", "--json")
    status = json.loads(out)
    urls = [device["url"] for device in status["devices"]]
    assert any(url.startswith("sim://needs-clearing") for url in urls), status
    # The simulated device keeps its state on the data partition, written by the daemon's user.
    assert box.run("stat", "-c", "%U", "/var/lib/qingka/sim/device.json").strip() == "qingka"


def check_health_check_as_the_daemon_user(box: Container, timings: Timings) -> None:
    out = box.run("runuser", "-u", "qingka", "--", QINGKA, "update", "health-check")
    assert "/var/lib/qingka writable" in out
    # Not booted from an A/B slot (no slot links, no rauc.slot=): there is nothing to mark.
    assert box.show("qingka-mark-good.service", "ConditionResult") == "no"


def check_watchdog_is_fed(box: Container, timings: Timings) -> None:
    assert box.show(DAEMON, "WatchdogUSec") == f"{TEST_WATCHDOG_S:.0f}s"
    restarts, pid = _restarts(box), _main_pid(box)
    first = box.show(DAEMON, "WatchdogTimestampMonotonic")
    time.sleep(TEST_WATCHDOG_S * 3)
    assert box.show(DAEMON, "WatchdogTimestampMonotonic") != first
    assert (_restarts(box), _main_pid(box)) == (restarts, pid)


def check_a_hung_daemon_is_killed_by_the_watchdog_and_restarted(
    box: Container, timings: Timings
) -> None:
    restarts, pid = _restarts(box), _main_pid(box)
    box.run("sh", "-c", f"kill -STOP {pid}")
    took = box.wait_for(
        "a watchdog restart",
        lambda: _restarts(box) > restarts and box.show(DAEMON, "ActiveState") == "active",
        TEST_WATCHDOG_S * 6 + 20,
    )
    timings["hang_to_ready_again_s"] = round(took, 1)
    assert _main_pid(box) != pid
    assert "watchdog" in box.journal(DAEMON, 200).lower()


def check_kill_9_is_followed_by_a_restart(box: Container, timings: Timings) -> None:
    restarts, pid = _restarts(box), _main_pid(box)
    box.run("sh", "-c", f"kill -9 {pid}")
    took = box.wait_for(
        "the daemon to come back",
        lambda: _restarts(box) > restarts and box.show(DAEMON, "ActiveState") == "active",
        30,
    )
    timings["kill9_to_ready_again_s"] = round(took, 1)
    assert _main_pid(box) != pid
    box.run("runuser", "-u", "qingka", "--", QINGKA, "update", "health-check")


def check_kiosk_runs_as_its_own_user(box: Container, timings: Timings) -> None:
    box.wait_for("the kiosk", lambda: box.show(KIOSK, "ActiveState") == "active", 30)
    time.sleep(3)
    assert box.show(KIOSK, "ActiveState") == "active", box.journal(KIOSK)
    assert box.show(KIOSK, "NRestarts") == "0", box.journal(KIOSK)
    pid = box.show(KIOSK, "MainPID")
    assert box.run("stat", "-c", "%U", f"/proc/{pid}").strip() == "qingka-kiosk"
    groups = box.run("id", "-nG", "qingka-kiosk").split()
    assert {"qingka", "input", "video", "render"} <= set(groups)


def check_qingka_version(box: Container, timings: Timings) -> None:
    out = box.run("/opt/qingka/bin/qingka", "--version")
    assert out.startswith("qingka ")
    assert VERSION_RE.search(out)


VERSION_RE = re.compile(r"\b\d+\.\d+\.\d+\b")


def check_root_is_read_only_and_configuration_is_on_the_data_partition(
    box: Container, timings: Timings
) -> None:
    probe = box.run("touch", "/usr/qingka-probe", check=False, stderr=True)
    assert "Read-only file system" in probe
    assert box.run("readlink", "-f", "/etc/qingka").strip() == "/var/lib/qingka/config/gen-1"
    assert box.run("cat", "/usr/lib/qingka/image-version").strip() == VERSION
    assert box.run("ls", "/usr/share/qingka/trust").split() == ["fleet-test.pem", "rauc-ca.pem"]


def check_no_unit_failed_on_the_read_only_root(box: Container, timings: Timings) -> None:
    assert box.run("systemctl", "--failed", "--no-legend", "--plain").strip() == ""
    assert box.run("systemctl", "is-system-running", check=False).strip() == "running"


def check_units_verify_clean_and_the_daemon_is_hardened(box: Container, timings: Timings) -> None:
    for unit in (*UNITS, "qingka-provision@sdb1.service", "rauc.service"):
        out = box.run("systemd-analyze", "verify", unit, check=False, stderr=True)
        assert out.strip() == "", f"{unit}: {out}"
    out = box.run("systemd-analyze", "security", "--offline=true", DAEMON, check=False)
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert level is not None, out
    assert float(level.group(1)) <= 2.5


def _udev_test(root: Path, device: str) -> str:
    """Run ``udevadm test`` for ``device`` with the image's rules, in a private /dev and /run."""
    script = (
        f"mount --rbind /sys {root}/sys && mount -t proc proc {root}/proc"
        f" && mount -t tmpfs tmpfs {root}/dev && mount -t tmpfs tmpfs {root}/run"
        f" && cp -a {device} {root}/dev/"
        f" && chroot {root} udevadm test --action=add /sys/class/block/{Path(device).name}"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        check=False,
    )
    return done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")


def check_a_stick_labelled_qingka_starts_provisioning(box: Container, timings: Timings) -> None:
    check_stick(box, "QINGKA", starts=True)
    check_stick(box, "PHOTOS", starts=False)


def check_stick(box: Container, label: str, *, starts: bool) -> None:
    image = box.data.parent / f"stick-{label}.img"
    with image.open("wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", label, str(image)], check=True)
    device = subprocess.run(
        ["losetup", "--show", "-f", str(image)], capture_output=True, check=True, text=True
    ).stdout.strip()
    try:
        out = _udev_test(box.root, device)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)
    assert f"ID_FS_LABEL={label}" in out, out
    wanted = f"SYSTEMD_WANTS=qingka-provision@{Path(device).name}.service"
    assert (wanted in out) == starts, out


CHECKS = (
    check_daemon_is_ready_against_the_simulated_device,
    check_health_check_as_the_daemon_user,
    check_watchdog_is_fed,
    check_a_hung_daemon_is_killed_by_the_watchdog_and_restarted,
    check_kill_9_is_followed_by_a_restart,
    check_kiosk_runs_as_its_own_user,
    check_qingka_version,
    check_root_is_read_only_and_configuration_is_on_the_data_partition,
    check_no_unit_failed_on_the_read_only_root,
    check_units_verify_clean_and_the_daemon_is_hardened,
    check_a_stick_labelled_qingka_starts_provisioning,
)


def test_the_installed_box_boots(tmp_path: Path, subtests: pytest.Subtests) -> None:
    timings: Timings = {}
    with booted_box(tmp_path, timings) as box:
        for check in CHECKS:
            with subtests.test(msg=check.__name__.removeprefix("check_").replace("_", " ")):
                check(box, timings)
