"""RAUC for real on this machine: two loop-device slots, a private D-Bus, the box's handlers.

The system configuration is the image's own (``image-build/files/rauc/system.conf``) with the
slot devices, paths and keyring pointed here, and plain bundles allowed: this kernel has no
device-mapper, so the image's verity bundles cannot be mounted here. The boot loader backend is
the image's tryboot script working on a directory standing in for the Pi's boot partition.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.image_build.rootfs import REPO, self_signed

FILES = REPO / "image-build" / "files" / "rauc"
DBUS_CONF = Path(__file__).parent / "data" / "dbus-system.conf"
QINGKA = Path(sys.executable).parent / "qingka"
COMPATIBLE = "qingka-box-rpi-arm64"
SLOT_BYTES = 48 * 1024 * 1024
START_TIMEOUT_S = 20.0


def run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    """Run ``command``; return its output; raise with its errors if it fails."""
    done = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, command))} exited {done.returncode}: "
            f"{done.stderr.decode(errors='replace')}"
        )
    return done.stdout.decode(errors="replace")


def make_ext4(path: Path, size: int, files: dict[str, bytes]) -> None:
    """Make an ext4 image of ``size`` bytes holding ``files``."""
    content = path.with_suffix(".content")
    content.mkdir()
    for name, data in files.items():
        (content / name).write_bytes(data)
    with path.open("wb") as handle:
        handle.truncate(size)
    run("mkfs.ext4", "-q", "-F", "-d", content, path)
    shutil.rmtree(content)


def read_file(device: Path, name: str) -> bytes:
    """Read ``name`` from the ext4 file system on ``device`` without mounting it."""
    done = subprocess.run(
        ["debugfs", "-R", f"cat /{name}", str(device)], capture_output=True, check=False
    )
    return done.stdout


def device_hash(device: Path) -> str:
    """Return the sha256 of a whole block device."""
    digest = hashlib.sha256()
    with device.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Signer:
    """A throwaway signing key and its self-signed certificate (RAUC's keyring)."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        key, cert = self_signed(name)
        self.key = directory / f"{name}.key.pem"
        self.cert = directory / f"{name}.cert.pem"
        self.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class RaucRig:
    """Two slots on loop devices, the RAUC service on a private bus, booted from A."""

    def __init__(self, directory: Path, running_version: str = "2026.1.0") -> None:
        self.dir = directory
        self.signer = Signer(directory / "keys", "fleet-signer")
        self.slot_files = [directory / "slot-a.img", directory / "slot-b.img"]
        make_ext4(self.slot_files[0], SLOT_BYTES, {"version": running_version.encode()})
        make_ext4(self.slot_files[1], SLOT_BYTES, {"version": b"empty"})
        self.devices: list[Path] = []
        for image in self.slot_files:
            self.devices.append(Path(run("losetup", "--show", "-f", image).strip()))
        self.bootfs = directory / "bootfs"
        self.bootfs.mkdir()
        self.cmdline = directory / "cmdline"
        self.tryboot_flag = directory / "tryboot"
        self.image_version = directory / "image-version"
        self.floor = directory / "data" / "rauc" / "version-floor"
        self.image_version.write_text(running_version + "\n")
        self.conf = directory / "system.conf"
        self._write_conf()
        self.bus = directory / "bus"
        self.dbus: subprocess.Popen[bytes] | None = None
        self.service: subprocess.Popen[bytes] | None = None
        self.service_log = directory / "rauc-service.log"
        self.booted = "A"

    def box_conf(self) -> Path:
        """Return the configuration as on the box: plain bundles refused."""
        conf = configparser.ConfigParser(interpolation=None)
        conf.optionxform = str  # type: ignore[assignment,method-assign]
        conf.read(self.conf)
        conf["system"]["bundle-formats"] = "-plain"
        path = self.dir / "box-system.conf"
        with path.open("w") as handle:
            conf.write(handle)
        return path

    def _write_conf(self) -> None:
        conf = configparser.ConfigParser(interpolation=None)
        conf.optionxform = str  # type: ignore[assignment,method-assign]
        conf.read(FILES / "system.conf")
        conf["system"]["mountprefix"] = str(self.dir / "mnt")
        conf["system"]["statusfile"] = str(self.dir / "data" / "rauc" / "slots.raucs")
        conf["system"]["bundle-formats"] = "plain"
        conf["keyring"]["path"] = str(self.signer.cert)
        conf["handlers"]["bootloader-custom-backend"] = str(FILES / "tryboot-backend")
        conf["handlers"]["pre-install"] = str(FILES / "pre-install")
        # The boot partitions (vfat children of each root) are left out: the root slots carry
        # the test, and the children follow their parent in RAUC's own slot selection.
        for section in [name for name in conf.sections() if name.startswith("slot.boot.")]:
            conf.remove_section(section)
        conf["slot.rootfs.0"]["device"] = str(self.devices[0])
        conf["slot.rootfs.1"]["device"] = str(self.devices[1])
        (self.dir / "mnt").mkdir(exist_ok=True)
        (self.dir / "data" / "rauc").mkdir(parents=True, exist_ok=True)
        with self.conf.open("w") as handle:
            conf.write(handle)

    @property
    def env(self) -> dict[str, str]:
        """Return the environment of RAUC, its handlers and the code under test."""
        return {
            **os.environ,
            "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.bus}",
            "QINGKA_RAUC_CONF": str(self.conf),
            "QINGKA_BOOTFS": str(self.bootfs),
            "QINGKA_CMDLINE": str(self.cmdline),
            "QINGKA_ACTIVE_SYSTEM": str(self.dir / "no-image-rota-slot-links"),
            "QINGKA_TRYBOOT_FLAG": str(self.tryboot_flag),
            "QINGKA_BIN": str(QINGKA),
            "QINGKA_IMAGE_VERSION_FILE": str(self.image_version),
            "QINGKA_UPDATE_FLOOR_FILE": str(self.floor),
        }

    def start(self, booted: str = "A", tryboot: bool = False) -> None:
        """Start the bus and the RAUC service as if the box had booted from ``booted``."""
        self.booted = booted
        self.cmdline.write_text(f"console=tty1 root=/dev/mmcblk0p5 rauc.slot={booted} ro\n")
        if tryboot:
            self.tryboot_flag.write_text("1\n")
        else:
            self.tryboot_flag.unlink(missing_ok=True)
        if self.dbus is None:
            self.dbus = subprocess.Popen(
                [
                    "dbus-daemon",
                    f"--config-file={DBUS_CONF}",
                    f"--address=unix:path={self.bus}",
                    "--nofork",
                    "--nopidfile",
                ],
                stdin=subprocess.DEVNULL,
            )
            self._wait(lambda: self.bus.exists(), "the private D-Bus")
        with self.service_log.open("ab") as log:
            self.service = subprocess.Popen(
                [
                    "rauc",
                    f"--conf={self.conf}",
                    f"--mount={self.dir / 'mnt'}",
                    "service",
                    f"--override-boot-slot={booted}",
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait(self._answers, "the RAUC service")

    def _answers(self) -> bool:
        done = subprocess.run(
            ["rauc", f"--conf={self.conf}", "status", "--output-format=json"],
            capture_output=True,
            env=self.env,
            check=False,
        )
        return done.returncode == 0

    def _wait(self, check: object, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (callable(check) and check()):
            if self.dbus is not None and self.dbus.poll() is not None:
                raise RuntimeError("dbus-daemon exited")
            if self.service is not None and self.service.poll() is not None:
                raise RuntimeError(f"rauc service exited: {self.service_log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.05)

    def stop_service(self, sig: int = signal.SIGTERM) -> None:
        """Stop (or with SIGKILL, kill) the RAUC service."""
        if self.service is not None and self.service.poll() is None:
            self.service.send_signal(sig)
            self.service.wait(timeout=20)
        self.service = None

    def bundle(
        self,
        version: str,
        *,
        signer: Signer | None = None,
        compatible: str = COMPATIBLE,
        payload: bytes = b"",
        bundle_format: str = "plain",
    ) -> Path:
        """Build a signed plain bundle whose root image says ``version`` (make-bundle.sh)."""
        signer = signer or self.signer
        name = f"{version}-{compatible}-{signer.cert.stem}-{len(payload)}-{bundle_format}"
        content = self.dir / f"content-{name}"
        content.mkdir()
        files = {"version": version.encode()}
        if payload:
            files["payload.bin"] = payload
        make_ext4(content / "rootfs.ext4", SLOT_BYTES, files)
        bundle = self.dir / f"{name}.raucb"
        run(
            REPO / "image-build" / "make-bundle.sh",
            "--rootfs",
            content / "rootfs.ext4",
            "--version",
            version,
            "--cert",
            signer.cert,
            "--key",
            signer.key,
            "--out",
            bundle,
            "--format",
            bundle_format,
            "--compatible",
            compatible,
        )
        shutil.rmtree(content)
        return bundle

    def autoboot(self) -> dict[str, str]:
        """Return autoboot.txt's boot partitions: {"all": N, "tryboot": M}."""
        path = self.bootfs / "autoboot.txt"
        if not path.exists():
            return {}
        parts: dict[str, str] = {}
        section = ""
        for line in path.read_text().splitlines():
            if line.startswith("["):
                section = line.strip("[]")
            elif line.startswith("boot_partition="):
                parts[section] = line.split("=", 1)[1]
        return parts

    def close(self) -> None:
        """Stop everything, unmount what a killed RAUC left mounted, detach the loop devices."""
        self.stop_service()
        if self.dbus is not None:
            self.dbus.terminate()
            self.dbus.wait(timeout=10)
        prefix = str(self.dir) + "/"
        for line in Path("/proc/mounts").read_text().splitlines():
            mountpoint = line.split()[1]
            if mountpoint.startswith(prefix):
                subprocess.run(["umount", "--lazy", mountpoint], check=False)
        listing = run("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE")
        for line in listing.splitlines():
            name, _, backing = line.strip().partition(" ")
            if backing.strip().startswith(prefix) or Path(name) in self.devices:
                subprocess.run(["losetup", "-d", name], check=False)
