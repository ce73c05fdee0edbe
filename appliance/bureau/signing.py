"""ECDSA P-256 / SHA-256 as the tax devices and the bureau use it: ``r || s`` signatures and
65-byte uncompressed public points, plus the exact bytes a device signs in the handshake."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

SIGNATURE_SIZE = 64
POINT_SIZE = 65
# A device signs summaries and handshakes with the same key. The handshake message starts with
# this tag, which no summary can start with (a summary starts with three ASCII digits), so a
# bureau cannot make a device sign a forged summary by choosing the challenge.
HANDSHAKE_TAG = b"QINGKA-HANDSHAKE/1\x00"
NONCE_SIZE = 32
CLIENT_NONCE_SIZE = 16


class SignatureError(ValueError):
    """A public key or signature that cannot even be checked."""


def public_key(point: bytes) -> ec.EllipticCurvePublicKey:
    """Return the P-256 public key of an uncompressed point."""
    if len(point) != POINT_SIZE or point[0] != 0x04:
        raise SignatureError(f"public key of {len(point)} bytes is not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise SignatureError(f"public key is not a P-256 point: {exc}") from None


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Return the ``r || s`` signature of ``data``."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """Tell whether ``signature`` (``r || s``) is ``key``'s signature of ``data``."""
    if len(signature) != SIGNATURE_SIZE:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (r and s):
        return False
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def handshake_message(
    nonce: bytes, client_nonce: bytes, taxpayer_id: str, device_no: str, cert_serial: str
) -> bytes:
    """Return the bytes the device signs to open a session: both nonces and who it is."""
    if len(nonce) != NONCE_SIZE or len(client_nonce) != CLIENT_NONCE_SIZE:
        raise SignatureError("handshake nonces of the wrong size")
    who = "\x00".join((taxpayer_id, device_no, cert_serial)).encode("ascii")
    return HANDSHAKE_TAG + nonce + client_nonce + who
