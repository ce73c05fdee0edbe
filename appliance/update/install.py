"""Install a bundle from a local path: check it, hand it to RAUC, say which slot took it.

The checks before RAUC (signature and manifest through ``rauc info``, the product, the
anti-rollback floor) give a refused bundle its plain reason at once; RAUC and its pre-install
handler check the same again when installing, so nothing here is the only guard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from appliance.update import floor
from appliance.update.errors import BundleMissing, Incompatible, InstallFailed
from appliance.update.rauc import INSTALL_TIMEOUT_S, Rauc


@dataclass(frozen=True)
class InstallResult:
    """A bundle written to the inactive slot, which boots next (on trial until marked good)."""

    bundle: Path
    version: str
    compatible: str
    slot: str
    bootname: str | None
    duration_s: float

    def to_json(self) -> dict[str, object]:
        """Return the result as plain JSON values."""
        return {
            "bundle": str(self.bundle),
            "version": self.version,
            "compatible": self.compatible,
            "slot": self.slot,
            "bootname": self.bootname,
            "duration_s": round(self.duration_s, 1),
        }


def install_bundle(
    path: Path, *, rauc: Rauc | None = None, timeout: float = INSTALL_TIMEOUT_S
) -> InstallResult:
    """Install the RAUC bundle at ``path`` into the inactive slot and return what was done.

    Raises a :class:`~appliance.update.errors.UpdateError`: :class:`BundleMissing`, a
    :class:`BundleRejected` (untrusted signature, damaged, another product, older version),
    :class:`UpdateBusy`, :class:`UpdateUnavailable` or :class:`InstallFailed`. On any of them
    the booted slot is untouched and the boot order unchanged.
    """
    rauc = rauc or Rauc()
    started = time.monotonic()
    if not path.is_file():
        raise BundleMissing(f"no bundle at {path}")
    info = rauc.info(path)
    expected = rauc.compatible()
    if info.compatible != expected:
        raise Incompatible(f"the bundle is for {info.compatible!r}, this box is {expected!r}")
    floor.check_not_older(info.version)
    rauc.install(path, timeout)
    slots = {slot.name: slot for slot in rauc.slots()}
    written = [
        slot
        for slot in slots.values()
        if slot.bundle_version == info.version and slot.state != "booted"
    ]
    if not written:
        raise InstallFailed("rauc reported success but no inactive slot holds the new version")
    return InstallResult(
        bundle=path,
        version=info.version,
        compatible=info.compatible,
        slot=written[0].name,
        bootname=written[0].bootname,
        duration_s=time.monotonic() - started,
    )
