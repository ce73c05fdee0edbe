"""The simulated bureau's keys and its registry of device keys (from ``simulators.catalog``).

Deriving a key is an elliptic-curve multiplication; a fleet-scale run asks for the same few
thousand keys over and over, so they are cached.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.bureau.signing import public_key
from simulators import catalog


@lru_cache(maxsize=1)
def bureau_key() -> ec.EllipticCurvePrivateKey:
    """Return the key the bureau signs answers and clearing data with."""
    return catalog.private_key(catalog.bureau_private_scalar())


def bureau_public_point() -> bytes:
    """Return the bureau's public key as an uncompressed point (for client configuration)."""
    return catalog.public_key_bytes(catalog.bureau_private_scalar())


@lru_cache(maxsize=100_000)
def device_point(device_no: str) -> bytes:
    """Return the public point of a simulated device's certificate."""
    return catalog.public_key_bytes(catalog.device_private_scalar(device_no))


@lru_cache(maxsize=100_000)
def device_key(device_no: str) -> ec.EllipticCurvePublicKey:
    """Return the public key of a simulated device's certificate."""
    return public_key(device_point(device_no))
