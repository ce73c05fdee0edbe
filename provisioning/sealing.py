"""Secrets sealed to one box's public key: X25519 + HKDF-SHA256 + ChaCha20-Poly1305.

A sealed blob is ``b"QKS1" + ephemeral public key (32) + nonce (12) + ciphertext and tag``.
The key is derived from a fresh ephemeral key and the box's key, so only the box can open it.
The associated data binds the blob to its place: the box id, the bundle serial and the file
name, so a blob cut from one bundle and pasted into another, or into another file, does not
open. Nothing here is specific to PINs: the caller decides what is secret.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provisioning.errors import SecretUnreadable

MAGIC = b"QKS1"
_INFO = b"qingka-sealed-secret/1"
_HEADER = len(MAGIC) + 32 + 12
_TAG = 16


def associated_data(box_id: str, serial: int, name: str) -> bytes:
    """Return what a sealed file is bound to: which box, which bundle, which file."""
    return f"qingka\x00{box_id}\x00{serial}\x00{name}".encode()


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_INFO
    ).derive(shared)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal(recipient: X25519PublicKey, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of ``recipient``'s private key reads it."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = _raw(ephemeral.public_key())
    key = _key(ephemeral.exchange(recipient), ephemeral_raw, _raw(recipient))
    nonce = os.urandom(12)
    return MAGIC + ephemeral_raw + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def open_sealed(private: X25519PrivateKey, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a sealed blob; :class:`SecretUnreadable` if it is not for this key and place."""
    if len(blob) < _HEADER + _TAG or not blob.startswith(MAGIC):
        raise SecretUnreadable("not a sealed file")
    ephemeral_raw = blob[4:36]
    nonce = blob[36:48]
    try:
        ephemeral = X25519PublicKey.from_public_bytes(ephemeral_raw)
        shared = private.exchange(ephemeral)
    except ValueError:
        # A crafted all-zero point gives no shared secret.
        raise SecretUnreadable("bad ephemeral key") from None
    key = _key(shared, ephemeral_raw, _raw(private.public_key()))
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, blob[_HEADER:], aad)
    except InvalidTag:
        raise SecretUnreadable("sealed for another box or another bundle") from None
