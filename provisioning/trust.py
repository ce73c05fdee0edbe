"""The trust store: which office keys may sign bundles, and which are revoked.

The image ships one at ``/usr/share/qingka/trust/trust.json`` (read-only root). Rotations
arrive in bundles and are kept at ``/var/lib/qingka/trust/trust.json``. The box uses the newer
of the two by ``version`` and always the union of both revocation lists, so a newer image can
add revocations and nothing on the data partition can take one back.

A new store from a bundle is taken only when (:func:`check_update`): the bundle was signed by a
key the current store trusts, its version is higher, it keeps every revocation of the current
store, it trusts no revoked key, and it still trusts at least one key. Format::

    {"format": "qingka-trust/1", "version": 2,
     "keys": [{"id": "3f2a…", "public_key": "<base64 32 bytes>", "name": "office 2026"}],
     "revoked": ["9c01…"]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provisioning import fileops, signing
from provisioning.errors import (
    BadTrustStore,
    NoTrustStore,
    ProvisionError,
    RevokedKey,
    TrustUpdateRefused,
    UnknownKey,
)
from provisioning.fields import Fields, load_json

TRUST_FORMAT = "qingka-trust/1"
TRUST_FILE = "trust.json"
MAX_TRUST_BYTES = 64 * 1024
MAX_KEYS = 32
MAX_REVOKED = 1024
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,80}")


@dataclass(frozen=True)
class TrustedKey:
    """One office signing key."""

    id: str
    public: Ed25519PublicKey
    name: str


@dataclass(frozen=True)
class TrustStore:
    """Trusted keys by id, the revoked ids, and the store's version."""

    version: int
    keys: dict[str, TrustedKey] = field(default_factory=dict)
    revoked: frozenset[str] = frozenset()

    def key_for(self, kid: str) -> TrustedKey:
        """Return the trusted key ``kid``; :class:`RevokedKey` or :class:`UnknownKey` if none."""
        if kid in self.revoked:
            raise RevokedKey(f"key {kid}")
        key = self.keys.get(kid)
        if key is None:
            raise UnknownKey(f"key {kid}")
        return key

    def verify(self, data: bytes, signature: signing.Signature) -> str:
        """Check ``signature`` over ``data`` with a trusted key; return the key's id."""
        signing.check(data, signature, self.key_for(signature.key_id).public)
        return signature.key_id

    def to_bytes(self) -> bytes:
        """Return the store as its file's bytes."""
        data = {
            "format": TRUST_FORMAT,
            "version": self.version,
            "keys": [
                {"id": k.id, "public_key": signing.public_text(k.public), "name": k.name}
                for k in sorted(self.keys.values(), key=lambda k: k.id)
            ],
            "revoked": sorted(self.revoked),
        }
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"

    def with_key(self, public: Ed25519PublicKey, name: str) -> TrustStore:
        """Return a newer store that also trusts ``public``."""
        kid = signing.key_id(public)
        keys = {**self.keys, kid: TrustedKey(kid, public, name)}
        return TrustStore(self.version + 1, keys, self.revoked)

    def without(self, kid: str) -> TrustStore:
        """Return a newer store that revokes ``kid``."""
        keys = {k: v for k, v in self.keys.items() if k != kid}
        return TrustStore(self.version + 1, keys, self.revoked | {kid})


def parse(raw: bytes, error: type[ProvisionError] = BadTrustStore) -> TrustStore:
    """Read a trust store; ``error`` names what is wrong."""
    fields = Fields(load_json(raw, MAX_TRUST_BYTES, error, TRUST_FILE), error, "trust")
    fields.only(("format", "version", "keys", "revoked"))
    if fields.data.get("format") != TRUST_FORMAT:
        raise fields.fail("format", f"must be {TRUST_FORMAT!r}")
    version = fields.integer("version", 1, 2**53)
    keys: dict[str, TrustedKey] = {}
    for entry in fields.items("keys", MAX_KEYS):
        entry.only(("id", "public_key", "name"))
        kid = entry.text("id", 16, signing.KEY_ID)
        try:
            public = signing.public_from_text(entry.text("public_key", 64))
        except ValueError as exc:
            raise entry.fail("public_key", str(exc)) from None
        if signing.key_id(public) != kid:
            raise entry.fail("id", "does not belong to the public key")
        if kid in keys:
            raise entry.fail("id", "appears twice")
        keys[kid] = TrustedKey(kid, public, entry.text("name", 80, _NAME))
    revoked = frozenset(fields.texts("revoked", MAX_REVOKED, 16, signing.KEY_ID))
    if revoked & set(keys):
        raise fields.fail("revoked", "names a key the store also trusts")
    return TrustStore(version, keys, revoked)


def read_file(path: Path) -> TrustStore | None:
    """Read the store at ``path``; ``None`` if there is no such file."""
    try:
        raw = fileops.read_regular(path, MAX_TRUST_BYTES, BadTrustStore)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadTrustStore(f"{path}: {exc.strerror}") from None
    return parse(raw)


def effective(image_dir: Path, data_dir: Path) -> TrustStore:
    """Return the store the box goes by: the newer one, with both revocation lists."""
    image = read_file(image_dir / TRUST_FILE)
    if image is None:
        raise NoTrustStore(f"{image_dir / TRUST_FILE} is missing")
    data = read_file(data_dir / TRUST_FILE)
    chosen = data if data is not None and data.version >= image.version else image
    revoked = image.revoked | (data.revoked if data is not None else frozenset())
    keys = {kid: key for kid, key in chosen.keys.items() if kid not in revoked}
    return TrustStore(chosen.version, keys, revoked)


def check_update(current: TrustStore, new: TrustStore, signer: str) -> None:
    """Raise :class:`TrustUpdateRefused` unless ``new`` may replace ``current``."""
    if signer not in current.keys or signer in current.revoked:
        raise TrustUpdateRefused(f"key {signer} is not a current key")
    if new.version <= current.version:
        raise TrustUpdateRefused(f"version {new.version} is not above {current.version}")
    lost = current.revoked - new.revoked
    if lost:
        raise TrustUpdateRefused(f"it takes back the revocation of {sorted(lost)[0]}")
    if set(new.keys) & current.revoked:
        raise TrustUpdateRefused("it trusts a revoked key again")
    if not new.keys:
        raise TrustUpdateRefused("it trusts no key at all")


def save(data_dir: Path, store: TrustStore) -> None:
    """Write ``store`` as the box's current trust store, atomically and durably."""
    fileops.make_dirs(data_dir, 0o755)
    fileops.replace_file(data_dir / TRUST_FILE, store.to_bytes(), 0o644)
