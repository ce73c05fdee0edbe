"""Office signing keys (Ed25519) and the detached signature over a bundle's manifest.

The signature covers the manifest's exact bytes, and the manifest holds the SHA-256 and size of
every other file, so one 64-byte signature vouches for the whole bundle (the shape of a RAUC
manifest, without CMS: the trust store names raw keys, not certificates).

Signature file ``QINGKA/manifest.sig``::

    {"format": "qingka-sig/1", "key_id": "3f2a…(16 hex)", "signature": "<base64, 64 bytes>"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provisioning import fileops
from provisioning.errors import BadSignatureFile, SignatureInvalid, SigningKeyProblem
from provisioning.fields import Fields, load_json

SIGNATURE_FORMAT = "qingka-sig/1"
# A signature file is about 150 bytes; anything far larger is not one.
MAX_SIGNATURE_BYTES = 4096
# A PEM private key is about 120 bytes.
MAX_KEY_FILE_BYTES = 16 * 1024
KEY_ID = re.compile(r"[0-9a-f]{16}")


def key_id(public: Ed25519PublicKey) -> str:
    """Return the short id of a public key: the first 16 hex digits of SHA-256 of its bytes."""
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


def raw_public(public: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of a public key."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_text(text: str) -> Ed25519PublicKey:
    """Return the public key written as base64 of its 32 raw bytes; ``ValueError`` if not."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_text(public: Ed25519PublicKey) -> str:
    """Return a public key as base64 of its raw bytes."""
    return base64.b64encode(raw_public(public)).decode("ascii")


def generate() -> Ed25519PrivateKey:
    """Make a new signing key."""
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    """Return the private key as unencrypted PKCS#8 PEM (the file itself is mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private(path: Path) -> Ed25519PrivateKey:
    """Read a signing key file; refuse one that others may read."""
    try:
        info = path.stat()
        # Only a regular file's mode matters; anything else is refused for what it is below.
        if stat.S_ISREG(info.st_mode) and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SigningKeyProblem(f"{path} is mode {stat.S_IMODE(info.st_mode):04o}, not 0600")
        raw = fileops.read_regular(path, MAX_KEY_FILE_BYTES, SigningKeyProblem)
    except OSError as exc:
        raise SigningKeyProblem(f"{path}: {exc.strerror}") from None
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise SigningKeyProblem(f"{path} is too large to be a key")
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise SigningKeyProblem(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyProblem(f"{path} is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class Signature:
    """A detached signature and the id of the key that made it."""

    key_id: str
    signature: bytes

    def to_bytes(self) -> bytes:
        """Return the signature file's bytes."""
        return (
            json.dumps(
                {
                    "format": SIGNATURE_FORMAT,
                    "key_id": self.key_id,
                    "signature": base64.b64encode(self.signature).decode("ascii"),
                },
                indent=2,
            ).encode("utf-8")
            + b"\n"
        )


def sign(data: bytes, key: Ed25519PrivateKey) -> Signature:
    """Sign ``data`` (the manifest's bytes)."""
    return Signature(key_id(key.public_key()), key.sign(data))


def parse_signature(raw: bytes) -> Signature:
    """Read a signature file; :class:`BadSignatureFile` if it is not one."""
    fields = Fields(
        load_json(raw, MAX_SIGNATURE_BYTES, BadSignatureFile, "manifest.sig"),
        BadSignatureFile,
        "",
    )
    fields.only(("format", "key_id", "signature"))
    if fields.data.get("format") != SIGNATURE_FORMAT:
        raise fields.fail("format", f"must be {SIGNATURE_FORMAT!r}")
    kid = fields.text("key_id", 16, KEY_ID)
    try:
        signature = base64.b64decode(fields.text("signature", 200), validate=True)
    except (binascii.Error, ValueError):
        raise fields.fail("signature", "is not base64") from None
    if len(signature) != 64:
        raise fields.fail("signature", "is not 64 bytes")
    return Signature(kid, signature)


def check(data: bytes, signature: Signature, public: Ed25519PublicKey) -> None:
    """Raise :class:`SignatureInvalid` unless ``signature`` is ``public``'s over ``data``."""
    try:
        public.verify(signature.signature, data)
    except InvalidSignature:
        raise SignatureInvalid(f"key {signature.key_id}") from None


def write_private(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a new private key file, mode 0600, refusing to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem(key))
        handle.flush()
        os.fsync(handle.fileno())
