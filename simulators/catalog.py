"""The simulated taxpayers and their keys, known to both the device and the bureau simulator.

In the real world the bureau issued every tax device and so knows its certificate; here both
simulators derive the same facts from a taxpayer's index. The keys are simulation keys, derived
from fixed labels: they protect nothing and must never be used outside simulation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.protocol.commands import KIND_GENERAL, KIND_SMALL
from appliance.taxpayer import check_character

# Order of the P-256 group: private scalars live in 1 .. n-1.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MAX_INDEX = 99_999

_NAMES = {
    0: ("武汉江汉示范商贸有限公司", "420103", KIND_GENERAL),
    1: ("武昌区便民小卖部", "420106", KIND_SMALL),
    2: ("汉阳区示范餐饮有限公司", "420105", KIND_GENERAL),
}


@dataclass(frozen=True)
class SimTaxpayer:
    """One simulated taxpayer with its one device."""

    index: int
    taxpayer_id: str
    name: str
    region: str
    kind: int
    device_no: str


def taxpayer(index: int) -> SimTaxpayer:
    """Return simulated taxpayer number ``index`` (0 is the demo's)."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"simulated taxpayer index {index} outside 0..{MAX_INDEX}")
    name, region, kind = _NAMES.get(index, (f"模拟商户{index:05d}号", "420100", KIND_GENERAL))
    prefix = "91" if kind == KIND_GENERAL else "92"
    first17 = f"{prefix}{region}MA{index:07d}"
    return SimTaxpayer(
        index=index,
        taxpayer_id=first17 + check_character(first17),
        name=name,
        region=region,
        kind=kind,
        device_no=f"6619{index:08d}",
    )


def lookup(taxpayer_id: str) -> SimTaxpayer | None:
    """Return the simulated taxpayer with this ID, or ``None``."""
    if len(taxpayer_id) != 18 or taxpayer_id[8:10] != "MA" or not taxpayer_id[10:17].isdigit():
        return None
    index = int(taxpayer_id[10:17])
    if index > MAX_INDEX:
        return None
    found = taxpayer(index)
    return found if found.taxpayer_id == taxpayer_id else None


def _scalar(label: bytes) -> int:
    return (
        int.from_bytes(hashlib.sha256(b"qingka-sim/" + label).digest(), "big") % (P256_ORDER - 1)
        + 1
    )


def device_private_scalar(device_no: str) -> int:
    """Return the private key scalar of a simulated device."""
    return _scalar(b"device/" + device_no.encode())


def bureau_private_scalar() -> int:
    """Return the private key scalar the simulated bureau signs clearing data with."""
    return _scalar(b"bureau/clearing")


def private_key(scalar: int) -> ec.EllipticCurvePrivateKey:
    """Return the P-256 private key of ``scalar``."""
    return ec.derive_private_key(scalar, ec.SECP256R1())


def public_key_bytes(scalar: int) -> bytes:
    """Return the uncompressed public point (65 bytes, 0x04 || X || Y) of ``scalar``."""
    return (
        private_key(scalar).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )


def cert_serial(public_key: bytes) -> str:
    """Return the 16-character certificate serial number of a public key."""
    return hashlib.sha256(public_key).hexdigest()[:16].upper()
