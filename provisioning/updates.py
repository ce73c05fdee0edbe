"""Handing a RAUC update bundle from the stick to the box's update module.

The update module (``appliance.update.install_bundle(path)``: install into the inactive slot,
switch with tryboot, mark good after the health check) belongs to the installation work. This
module is the one place provisioning calls it, so a box image without it says so in the report
instead of failing the whole apply: the configuration is applied first, the update after.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Installer = Callable[[Path], None]


@dataclass(frozen=True)
class UpdateResult:
    """What came of handing over the update bundle."""

    installed: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        """Return it for the report."""
        return {"installed": self.installed, "detail": self.detail}


def default_installer() -> Installer | None:
    """Return ``appliance.update.install_bundle`` if this image has it, else ``None``."""
    try:
        module = importlib.import_module("appliance.update")
    except ImportError:
        return None
    install = getattr(module, "install_bundle", None)
    return install if callable(install) else None


def install(path: Path, installer: Installer | None) -> UpdateResult:
    """Install the staged update bundle at ``path``; never raises."""
    if installer is None:
        return UpdateResult(False, "this box image has no update module")
    try:
        installer(path)
    except Exception as exc:  # noqa: BLE001 - any failure of the update is reported, not raised
        return UpdateResult(False, f"{type(exc).__name__}: {exc}"[:300])
    return UpdateResult(True, "installed into the inactive slot")
