"""The ``rauc`` command, run as a subprocess, and its failures turned into typed errors.

RAUC does the work that must be right on a power cut (writing the inactive slot, switching the
boot slot); this module only asks it and reads its answers. Its error lines are stable phrases
of RAUC itself ("signature verification failed", "Compatible mismatch", ...), matched here in
one table, so a new RAUC wording shows up as :class:`InstallFailed` rather than a wrong claim.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.update.errors import (
    BundleCorrupt,
    BundleMissing,
    Incompatible,
    InstallFailed,
    SignatureUntrusted,
    UpdateBusy,
    UpdateError,
    UpdateUnavailable,
    VersionTooOld,
)
from appliance.update.versions import parse_version

SYSTEM_CONF = Path("/etc/rauc/system.conf")
RAUC_ENV = "QINGKA_RAUC"
CONF_ENV = "QINGKA_RAUC_CONF"
# RAUC's answers are a few KiB of JSON or text; more means something is wrong.
MAX_OUTPUT_BYTES = 256 * 1024
MAX_CONF_BYTES = 64 * 1024
INFO_TIMEOUT_S = 120.0
INSTALL_TIMEOUT_S = 30 * 60.0
STATUS_TIMEOUT_S = 30.0

# (phrase in RAUC's error output, error type), first match wins: the content check before the
# certificate check, since a damaged bundle fails "signature verification" too.
_FAILURES: tuple[tuple[str, type[UpdateError]], ...] = (
    ("No such file", BundleMissing),
    ("Invalid bundle format", BundleCorrupt),
    ("content verify error", BundleCorrupt),
    ("digest mismatch", BundleCorrupt),
    ("Failed to mount", BundleCorrupt),
    ("squashfs", BundleCorrupt),
    ("signature verification failed", SignatureUntrusted),
    ("Compatible mismatch", Incompatible),
    # A plain (unverified) bundle on a box that takes verity bundles only: made for a lab.
    ("not allowed", Incompatible),
    ("older than", VersionTooOld),
    # The box's pre-install handler (``qingka update check-bundle``) checks only the version.
    ("Pre-install handler", VersionTooOld),
    ("Already processing", UpdateBusy),
    ("was not provided by any .service", UpdateUnavailable),
    ("Could not connect", UpdateUnavailable),
    ("Failed to connect", UpdateUnavailable),
)


def classify(output: str) -> UpdateError:
    """Return the typed error RAUC's error ``output`` describes."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    detail = next(
        (line.removeprefix("LastError:").strip() for line in lines if "LastError" in line),
        lines[-1] if lines else "rauc failed without saying why",
    )
    for phrase, kind in _FAILURES:
        if phrase.lower() in output.lower():
            return kind(detail)
    return InstallFailed(detail)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass(frozen=True)
class BundleInfo:
    """What ``rauc info`` verified about a bundle."""

    compatible: str
    version: str
    images: tuple[str, ...]


@dataclass(frozen=True)
class SlotState:
    """One slot of ``rauc status``."""

    name: str
    bootname: str | None
    state: str
    boot_status: str | None
    bundle_version: str | None


@dataclass(frozen=True)
class Rauc:
    """How to run ``rauc``: the binary and another system.conf (tests, a lab machine).

    Both default to the environment (``QINGKA_RAUC``, ``QINGKA_RAUC_CONF``), then to RAUC's own.
    """

    binary: str = field(default_factory=lambda: os.environ.get(RAUC_ENV) or "rauc")
    conf: Path | None = field(default_factory=lambda: _env_path(CONF_ENV))

    @property
    def system_conf(self) -> Path:
        """Return the system configuration RAUC reads."""
        return self.conf or SYSTEM_CONF

    def _run(self, args: list[str], timeout: float) -> str:
        command = [self.binary]
        if self.conf is not None:
            command.append(f"--conf={self.conf}")
        command.extend(args)
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError as exc:
            raise UpdateUnavailable(f"the rauc command is not installed ({self.binary})") from exc
        except subprocess.TimeoutExpired as exc:
            raise InstallFailed(f"rauc {args[0]} did not finish within {timeout:.0f} s") from exc
        out = done.stdout[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
        err = done.stderr[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
        if done.returncode != 0:
            raise classify(err + "\n" + out)
        return out

    def compatible(self) -> str:
        """Return the ``compatible`` of the system configuration."""
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with self.system_conf.open("rb") as handle:
                raw = handle.read(MAX_CONF_BYTES + 1)
            if len(raw) > MAX_CONF_BYTES:
                raise UpdateUnavailable(f"{self.system_conf} is larger than {MAX_CONF_BYTES} bytes")
            parser.read_string(raw.decode("utf-8"))
            return parser.get("system", "compatible").strip()
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise UpdateUnavailable(f"cannot read {self.system_conf}: {exc}") from exc

    def info(self, bundle: Path) -> BundleInfo:
        """Verify ``bundle``'s signature against the keyring and return its manifest."""
        out = self._run(["info", "--output-format=json", str(bundle)], INFO_TIMEOUT_S)
        try:
            data = json.loads(out)
            images = tuple(name for image in data["images"] for name in image)
            info = BundleInfo(str(data["compatible"]), str(data["version"]), images)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise BundleCorrupt(f"rauc info gave an unreadable answer: {exc}") from exc
        parse_version(info.version)
        return info

    def install(self, bundle: Path, timeout: float = INSTALL_TIMEOUT_S) -> None:
        """Install ``bundle`` into the inactive slot (through the RAUC service)."""
        self._run(["install", str(bundle)], timeout)

    def slots(self) -> list[SlotState]:
        """Return every slot's state as ``rauc status`` reports it."""
        out = self._run(["status", "--detailed", "--output-format=json"], STATUS_TIMEOUT_S)
        try:
            data: dict[str, Any] = json.loads(out)
            result = []
            for entry in data["slots"]:
                for name, slot in entry.items():
                    bundle = (slot.get("slot_status") or {}).get("bundle") or {}
                    result.append(
                        SlotState(
                            name=name,
                            bootname=slot.get("bootname"),
                            state=str(slot.get("state")),
                            boot_status=slot.get("boot_status"),
                            bundle_version=bundle.get("version"),
                        )
                    )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UpdateUnavailable(f"rauc status gave an unreadable answer: {exc}") from exc
        return result

    def mark_good(self) -> None:
        """Mark the booted slot good: the boot loader keeps booting it."""
        self._run(["status", "mark-good", "booted"], STATUS_TIMEOUT_S)
