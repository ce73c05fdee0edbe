"""The box's own identity: a box id and an X25519 key pair, made once on first use.

Secrets in a bundle are encrypted to this key, so only this box can read them and a lost stick
leaks nothing. The private key never leaves ``/var/lib/qingka/keys/`` (directory 0700, file
0600, root's); the public key travels to the office in the enrollment request and in every
report.

The box id is ``qk-`` and 12 hex digits derived from the board's serial number (or the machine
id), so the same hardware gets the same id after its data partition is wiped; a box with
neither gets a random one. Once written it never changes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from provisioning import fileops
from provisioning.errors import BoxKeyProblem
from provisioning.manifest import BOX_ID

KEY_FILE = "box.key"
ID_FILE = "box-id"
# Where a Raspberry Pi tells its serial number, then every systemd machine's id.
ID_SOURCES = (Path("/proc/device-tree/serial-number"), Path("/etc/machine-id"))
_MAX_SOURCE_BYTES = 4096


def public_key_text(public: X25519PublicKey) -> str:
    """Return a public key as base64 of its 32 raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_id(public: X25519PublicKey) -> str:
    """Return the short fingerprint a technician reads aloud to the office (16 hex digits)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_from_text(text: str) -> X25519PublicKey:
    """Return the X25519 public key written as base64; ``ValueError`` if it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class BoxIdentity:
    """The box id and key pair; ``new`` tells whether they were made just now."""

    box_id: str
    private: X25519PrivateKey
    new: bool = False

    @property
    def public(self) -> X25519PublicKey:
        """Return the public key."""
        return self.private.public_key()

    @property
    def public_text(self) -> str:
        """Return the public key as base64."""
        return public_key_text(self.public)

    @property
    def key_id(self) -> str:
        """Return the public key's fingerprint."""
        return public_key_id(self.public)


def derive_box_id(sources: Sequence[Path] = ID_SOURCES) -> str:
    """Return a box id from the first readable hardware or machine id, else a random one."""
    for source in sources:
        try:
            with source.open("rb") as handle:
                raw = handle.read(_MAX_SOURCE_BYTES).strip(b"\x00\n\t ")
        except OSError:
            continue
        if raw:
            return "qk-" + hashlib.sha256(b"qingka-box-id\x00" + raw).hexdigest()[:12]
    return "qk-" + secrets.token_hex(6)


def _read_private(path: Path) -> bytes:
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise BoxKeyProblem(f"{path} is not a regular file")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BoxKeyProblem(f"{path} is mode {stat.S_IMODE(info.st_mode):04o}, not 0600")
    with path.open("rb") as handle:
        return handle.read(64)


def load(keys_dir: Path) -> BoxIdentity | None:
    """Return the box's identity, or ``None`` if none was made yet."""
    key_path, id_path = keys_dir / KEY_FILE, keys_dir / ID_FILE
    try:
        raw = _read_private(key_path)
        box_id = id_path.read_text("ascii").strip()[:32]
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BoxKeyProblem(f"{keys_dir}: {exc}") from None
    if len(raw) != 32:
        raise BoxKeyProblem(f"{key_path} does not hold a 32-byte key")
    if not BOX_ID.fullmatch(box_id):
        raise BoxKeyProblem(f"{id_path} does not hold a box id")
    return BoxIdentity(box_id, X25519PrivateKey.from_private_bytes(raw))


def load_or_create(keys_dir: Path, sources: Sequence[Path] = ID_SOURCES) -> BoxIdentity:
    """Return the box's identity, making the key pair and the id on first use."""
    found = load(keys_dir)
    if found is not None:
        return found
    try:
        # Synced into the data partition: a key given out in a request must outlive a power cut.
        fileops.make_dirs(keys_dir, 0o700)
        keys_dir.chmod(0o700)
        private = X25519PrivateKey.generate()
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        # The id first: a key file without an id would be read as "no identity" and replaced.
        id_path = keys_dir / ID_FILE
        box_id = derive_box_id(sources)
        if id_path.exists():
            box_id = id_path.read_text("ascii").strip()[:32]
        else:
            fileops.replace_file(id_path, box_id.encode("ascii") + b"\n", 0o644)
        fileops.replace_file(keys_dir / KEY_FILE, raw, 0o600)
    except OSError as exc:
        raise BoxKeyProblem(f"{keys_dir}: {exc.strerror}") from None
    if not BOX_ID.fullmatch(box_id):
        raise BoxKeyProblem(f"{id_path} does not hold a box id")
    return BoxIdentity(box_id, private, new=True)
