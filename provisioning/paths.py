"""Where provisioning reads and writes on the box; every path can be moved under a root.

On the box (paths contract)::

    /etc/qingka -> /var/lib/qingka/config/current -> gen-0007/   the configuration
    /var/lib/qingka/keys/           box key pair and box id (0700)
    /var/lib/qingka/trust/          trust store after rotations
    /usr/share/qingka/trust/        trust store of the image (read-only root)
    /var/lib/qingka/provision/      anti-rollback state, lock, staging of the stick's files
    /var/lib/qingka/events/spool/   fleet events waiting for the publisher
    /run/qingka/provision.json      what the kiosk shows while and after provisioning
    /run/qingka/api.sock            the daemon's local API

``Paths.under(root)`` puts all of them below ``root`` (tests, a training box); the
``QINGKA_ROOT`` environment variable does the same for the command line.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass, replace
from pathlib import Path

DAEMON_USER = "qingka"


@dataclass(frozen=True)
class Paths:
    """Every location provisioning uses."""

    data_dir: Path = Path("/var/lib/qingka")
    image_trust_dir: Path = Path("/usr/share/qingka/trust")
    status_file: Path = Path("/run/qingka/provision.json")
    api_socket: Path = Path("/run/qingka/api.sock")
    etc_link: Path = Path("/etc/qingka")
    os_release: Path = Path("/etc/os-release")
    mount_base: Path = Path("/run/qingka-provision")

    @classmethod
    def under(cls, root: Path) -> Paths:
        """Return the box's paths below ``root``."""
        base = cls()

        def move(path: Path) -> Path:
            return root / path.relative_to("/")

        return cls(
            data_dir=move(base.data_dir),
            image_trust_dir=move(base.image_trust_dir),
            status_file=move(base.status_file),
            api_socket=move(base.api_socket),
            etc_link=move(base.etc_link),
            os_release=move(base.os_release),
            mount_base=move(base.mount_base),
        )

    @classmethod
    def from_env(cls, root: Path | None = None, api_socket: Path | None = None) -> Paths:
        """Return the paths for ``root`` (or ``QINGKA_ROOT``), with an optional API socket."""
        if root is None and os.environ.get("QINGKA_ROOT"):
            root = Path(os.environ["QINGKA_ROOT"])
        paths = cls.under(root) if root is not None else cls()
        return replace(paths, api_socket=api_socket) if api_socket is not None else paths

    @property
    def config_dir(self) -> Path:
        """Return the folder of configuration generations and the ``current`` link."""
        return self.data_dir / "config"

    @property
    def config_file(self) -> Path:
        """Return the daemon's configuration file as the daemon opens it (through ``current``)."""
        return self.config_dir / "current" / "qingka.toml"

    @property
    def keys_dir(self) -> Path:
        """Return the folder of the box's key pair."""
        return self.data_dir / "keys"

    @property
    def trust_dir(self) -> Path:
        """Return the folder of the trust store after rotations."""
        return self.data_dir / "trust"

    @property
    def state_dir(self) -> Path:
        """Return provisioning's own folder (state, lock, staging)."""
        return self.data_dir / "provision"

    @property
    def events_dir(self) -> Path:
        """Return the fleet event spool."""
        return self.data_dir / "events" / "spool"


@dataclass(frozen=True)
class Owners:
    """Who owns what is generated: the daemon's user and group, when running as root."""

    daemon: tuple[int, int] | None = None

    @classmethod
    def resolve(cls, user: str = DAEMON_USER) -> Owners:
        """Return the daemon's uid and gid if this is root and the user exists, else no owners.

        Without them (a test, a desktop) files keep the applying user as owner; the modes are
        the same either way.
        """
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return cls()
        return cls((entry.pw_uid, entry.pw_gid))

    def of(self, owner: str) -> tuple[int, int] | None:
        """Return (uid, gid) for ``owner``: "daemon", "root-group" (root:qingka) or "root"."""
        if self.daemon is None:
            return None
        if owner == "daemon":
            return self.daemon
        if owner == "root-group":
            return (0, self.daemon[1])
        return (0, 0)


def api_group(name: str = DAEMON_USER) -> str | None:
    """Return the group for the API socket if this machine has it (a training box may not)."""
    try:
        grp.getgrnam(name)
    except KeyError:
        return None
    return name
