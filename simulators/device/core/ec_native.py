"""ECDSA P-256 / SHA-256 through ``cryptography`` (OpenSSL): the fast path on CPython.

Same interface and same bytes as :mod:`simulators.device.core.p256` (deterministic RFC 6979
nonces), so the two are interchangeable; importing this module fails on MicroPython, which is how
:mod:`simulators.device.core.signer` picks the pure implementation there.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_CURVE = ec.SECP256R1()
_SIGNING = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_VERIFYING = ec.ECDSA(hashes.SHA256())
_KEYS: dict[int, ec.EllipticCurvePrivateKey] = {}
# A device holds one key and the bureau one; the cache only saves re-deriving them per command.
_MAX_CACHED = 64


def _private(scalar: int) -> ec.EllipticCurvePrivateKey:
    key = _KEYS.get(scalar)
    if key is None:
        if len(_KEYS) >= _MAX_CACHED:
            _KEYS.clear()
        key = _KEYS[scalar] = ec.derive_private_key(scalar, _CURVE)
    return key


def public_key(scalar: int) -> bytes:
    """Return the 65-byte uncompressed public point of a private scalar."""
    return _private(scalar).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def sign(scalar: int, message: bytes) -> bytes:
    """Return the ECDSA-SHA256 signature ``r || s`` of ``message`` under a private scalar."""
    r, s = decode_dss_signature(_private(scalar).sign(message, _SIGNING))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Tell whether ``signature`` (``r || s``) of ``message`` verifies with a 65-byte public key."""
    if len(signature) != 64:
        return False
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, bytes(public))
    except ValueError:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, bytes(message), _VERIFYING)
    except InvalidSignature:
        return False
    return True
