"""Pure-Python P-256 agrees with OpenSSL (cryptography) byte for byte, and with RFC 6979."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.device.core import ec_native, p256, signer

# RFC 6979 appendix A.2.5: ECDSA, 256 bits (prime field), SHA-256.
RFC_KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC_PUBLIC = bytes.fromhex(
    "04"
    "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
)
RFC_SIGNATURES = {
    b"sample": "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
    "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
    b"test": "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
    "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
}
SCALARS = st.integers(1, p256.N - 1)
MESSAGES = st.binary(max_size=300)


def openssl_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except Exception:
        return False
    return True


def test_rfc6979_vectors() -> None:
    assert p256.public_key(RFC_KEY) == RFC_PUBLIC
    assert ec_native.public_key(RFC_KEY) == RFC_PUBLIC
    for message, expected in RFC_SIGNATURES.items():
        assert p256.sign(RFC_KEY, message).hex().upper() == expected
        assert ec_native.sign(RFC_KEY, message).hex().upper() == expected
        assert p256.verify(RFC_PUBLIC, message, bytes.fromhex(expected))


def test_cpython_signs_with_openssl() -> None:
    assert signer.sign is ec_native.sign
    assert signer.verify is ec_native.verify


@settings(max_examples=40, deadline=None)
@given(SCALARS, MESSAGES)
def test_pure_and_openssl_make_the_same_signature(scalar: int, message: bytes) -> None:
    public = ec_native.public_key(scalar)
    assert p256.public_key(scalar) == public
    pure = p256.sign(scalar, message)
    assert pure == ec_native.sign(scalar, message)
    assert openssl_verify(public, message, pure)
    assert ec_native.verify(public, message, pure)


@settings(max_examples=40, deadline=None)
@given(SCALARS, MESSAGES, st.data())
def test_pure_verify_accepts_openssl_and_refuses_tampering(
    scalar: int, message: bytes, data: st.DataObject
) -> None:
    public = ec_native.public_key(scalar)
    key = ec.derive_private_key(scalar, ec.SECP256R1())
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))  # random nonce
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert p256.verify(public, message, signature)
    index = data.draw(st.integers(0, 63))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(signature)
    tampered[index] ^= flip
    assert not p256.verify(public, message, bytes(tampered))
    assert not ec_native.verify(public, message, bytes(tampered))
    assert not p256.verify(public, message + b"x", signature)


def test_garbage_keys_and_signatures_are_refused_not_raised() -> None:
    message = b"summary"
    signature = p256.sign(RFC_KEY, message)
    for public in (b"", b"\x04" + bytes(64), b"\x02" + RFC_PUBLIC[1:33], RFC_PUBLIC[:-1] + b"\x00"):
        assert not p256.verify(public, message, signature)
        assert not ec_native.verify(public, message, signature)
    for bad in (b"", bytes(64), b"\xff" * 64, signature[:63]):
        assert not p256.verify(RFC_PUBLIC, message, bad)
        assert not ec_native.verify(RFC_PUBLIC, message, bad)
