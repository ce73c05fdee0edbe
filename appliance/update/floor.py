"""Anti-rollback: the version the box runs and the lowest version it may still install.

The running image's version is a file of the read-only root, written by the image build. The
floor lives on the data partition and is raised to the running version each time a slot is
marked good, so once a newer version proved itself, the older slot's version cannot come back
through a bundle either (``qingka update check-bundle`` refuses it; RAUC runs that check as its
pre-install handler).
"""

from __future__ import annotations

import os
from pathlib import Path

from appliance.update.errors import BadRequest, UpdateError, VersionTooOld
from appliance.update.versions import MAX_VERSION_LENGTH, is_older, parse_version

IMAGE_VERSION_FILE = Path("/usr/lib/qingka/image-version")
FLOOR_FILE = Path("/var/lib/qingka/rauc/version-floor")
IMAGE_VERSION_ENV = "QINGKA_IMAGE_VERSION_FILE"
FLOOR_ENV = "QINGKA_UPDATE_FLOOR_FILE"


def image_version_file() -> Path:
    """Return where the running image's version is (``QINGKA_IMAGE_VERSION_FILE`` overrides)."""
    return Path(os.environ.get(IMAGE_VERSION_ENV) or IMAGE_VERSION_FILE)


def floor_file() -> Path:
    """Return where the anti-rollback floor is kept (``QINGKA_UPDATE_FLOOR_FILE`` overrides)."""
    return Path(os.environ.get(FLOOR_ENV) or FLOOR_FILE)


def read_version(path: Path) -> str | None:
    """Return the version in ``path``, None if there is no such file; BadRequest if garbage."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_VERSION_LENGTH + 2)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UpdateError(f"cannot read {path}: {exc.strerror}") from exc
    text = raw.decode("ascii", "replace").strip()
    parse_version(text)
    return text


def minimum_version() -> str | None:
    """Return the lowest version the box accepts: the running one or the floor, if higher."""
    versions = [v for v in (read_version(image_version_file()), read_version(floor_file())) if v]
    if not versions:
        return None
    return max(versions, key=parse_version)


def raise_floor(version: str) -> bool:
    """Raise the floor to ``version`` (never lower it); return whether it changed."""
    parse_version(version)
    path = floor_file()
    current = read_version(path)
    if current is not None and not is_older(current, version):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    with temporary.open("w", encoding="ascii") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return True


def check_not_older(version: str) -> None:
    """Raise :class:`VersionTooOld` if ``version`` is below :func:`minimum_version`."""
    try:
        minimum = minimum_version()
    except BadRequest as exc:
        raise UpdateError(f"the box's own version record is damaged: {exc.detail}") from exc
    if minimum is not None and is_older(version, minimum):
        raise VersionTooOld(f"bundle version {version} is older than {minimum}, which the box runs")
