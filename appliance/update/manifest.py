"""Read a RAUC bundle's manifest (``manifest.raucm``, INI) for its compatible and version.

The pre-install check reads it from the mounted bundle: RAUC has verified the signature by then,
but the check still caps what it reads and refuses a manifest it cannot make sense of.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from appliance.update.errors import BadRequest, BundleCorrupt
from appliance.update.versions import parse_version

MANIFEST_NAME = "manifest.raucm"
# A manifest is a few hundred bytes: one section per image.
MAX_MANIFEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class Manifest:
    """What the update section of a manifest says."""

    compatible: str
    version: str


def parse_manifest(text: str) -> Manifest:
    """Return the manifest in ``text``; :class:`BundleCorrupt` if it is not one."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
        compatible = parser.get("update", "compatible").strip()
        version = parser.get("update", "version").strip()
    except (configparser.Error, ValueError) as exc:
        raise BundleCorrupt(f"the bundle manifest is not readable: {exc}") from exc
    if not compatible:
        raise BundleCorrupt("the bundle manifest names no compatible")
    try:
        parse_version(version)
    except BadRequest as exc:
        raise BundleCorrupt(f"the bundle manifest's {exc.detail}") from exc
    return Manifest(compatible, version)


def read_manifest(bundle_dir: Path) -> Manifest:
    """Return the manifest of the bundle mounted at ``bundle_dir``."""
    path = bundle_dir / MANIFEST_NAME
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise BundleCorrupt(f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BundleCorrupt(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        return parse_manifest(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BundleCorrupt(f"{path} is not UTF-8") from exc
