"""ECDSA over NIST P-256 with SHA-256, in pure Python for MicroPython (no ``hmac``, no C crypto).

Signatures are ``r || s`` (64 bytes), public keys uncompressed points ``04 || X || Y`` (65 bytes),
private keys plain ints. The nonce is deterministic (RFC 6979), so a device signs the same
summary with the same bytes every time, and there is no random source to trust on a Pico.

Points are kept in Jacobian coordinates (X, Y, Z standing for X/Z², Y/Z³) so a scalar
multiplication needs one modular inversion instead of one per step; with a 4-bit window a
signature takes well under a second on the MicroPython unix port. This code is not constant
time: it signs simulation keys only.
"""

import hashlib

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5

SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 65
_INFINITY = (0, 1, 0)
_WINDOW = 4


class InvalidKey(ValueError):
    """A private scalar or public point that is not on P-256."""


def _inverse(value: int, modulus: int) -> int:
    # Extended Euclid: MicroPython ports do not all build three-argument pow().
    low = value % modulus
    if low == 0:
        raise ZeroDivisionError("no inverse of 0")
    high = modulus
    low_coef, high_coef = 1, 0
    while low > 1:
        ratio = high // low
        low_coef, high_coef = high_coef - low_coef * ratio, low_coef
        low, high = high - low * ratio, low
    return low_coef % modulus


def _double(point: tuple[int, int, int]) -> tuple[int, int, int]:
    x, y, z = point
    if z == 0 or y == 0:
        return _INFINITY
    yy = y * y % P
    s = 4 * x * yy % P
    zz = z * z % P
    # a = -3 lets 3x² + a·z⁴ factor as 3(x - z²)(x + z²).
    m = 3 * (x - zz) * (x + zz) % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y * z % P
    return (x3, y3, z3)


def _add(one: tuple[int, int, int], two: tuple[int, int, int]) -> tuple[int, int, int]:
    x1, y1, z1 = one
    x2, y2, z2 = two
    if z1 == 0:
        return two
    if z2 == 0:
        return one
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    if h == 0:
        return _double(one) if r == 0 else _INFINITY
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    z3 = h * z1 * z2 % P
    return (x3, y3, z3)


def _multiply(scalar: int, point: tuple[int, int, int]) -> tuple[int, int, int]:
    """Return scalar·point (Jacobian in, Jacobian out) with a fixed 4-bit window."""
    table = [_INFINITY, point]
    for _ in range(2, 1 << _WINDOW):
        table.append(_add(table[-1], point))
    result = _INFINITY
    # Scalars are below n < 2**256 (MicroPython ints have no bit_length()).
    shift = 256
    while shift > 0 and not scalar >> (shift - _WINDOW):
        shift -= _WINDOW
    while shift > 0:
        shift -= _WINDOW
        for _ in range(_WINDOW):
            result = _double(result)
        digit = (scalar >> shift) & ((1 << _WINDOW) - 1)
        if digit:
            result = _add(result, table[digit])
    return result


def _affine(point: tuple[int, int, int]) -> tuple[int, int]:
    x, y, z = point
    if z == 0:
        raise InvalidKey("point at infinity")
    zi = _inverse(z, P)
    zi2 = zi * zi % P
    return (x * zi2 % P, y * zi2 * zi % P)


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _int32(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _bytes32(value: int) -> bytes:
    return value.to_bytes(32, "big")


def public_key(scalar: int) -> bytes:
    """Return the 65-byte uncompressed public point of a private scalar."""
    if not 0 < scalar < N:
        raise InvalidKey("private scalar outside 1..n-1")
    x, y = _affine(_multiply(scalar, (GX, GY, 1)))
    return b"\x04" + _bytes32(x) + _bytes32(y)


def _decode_point(raw: bytes) -> tuple[int, int, int]:
    if len(raw) != PUBLIC_KEY_SIZE or raw[0] != 4:
        raise InvalidKey("public key is not a 65-byte uncompressed point")
    x = _int32(raw[1:33])
    y = _int32(raw[33:65])
    if not _on_curve(x, y):
        raise InvalidKey("public key is not on P-256")
    return (x, y, 1)


def _hmac(key: bytes, message: bytes) -> bytes:
    # HMAC-SHA256 (RFC 2104) by hand: MicroPython has no hmac module. Keys here are 32 bytes,
    # below the 64-byte block, so they are only padded, never hashed first.
    block = key + bytes(64 - len(key))
    inner = bytearray(64)
    outer = bytearray(64)
    for i in range(64):
        inner[i] = block[i] ^ 0x36
        outer[i] = block[i] ^ 0x5C
    digest = hashlib.sha256(bytes(inner) + message).digest()
    return hashlib.sha256(bytes(outer) + digest).digest()


class _Nonces:
    """The RFC 6979 nonce candidates (section 3.2) for a key and a SHA-256 digest."""

    __slots__ = ("_k", "_v")

    def __init__(self, scalar: int, digest: bytes) -> None:
        # qlen = hlen = 256: bits2int is a plain conversion, bits2octets one reduction mod n.
        seed = _bytes32(scalar) + _bytes32(_int32(digest) % N)
        v = b"\x01" * 32
        k = _hmac(b"\x00" * 32, v + b"\x00" + seed)
        v = _hmac(k, v)
        k = _hmac(k, v + b"\x01" + seed)
        self._k = k
        self._v = _hmac(k, v)

    def next(self) -> int:
        """Return the next candidate in 1..n-1."""
        while True:
            self._v = _hmac(self._k, self._v)
            candidate = _int32(self._v)
            # Step h.3: whatever happens to the candidate, the next one comes from a new K, V.
            self._k = _hmac(self._k, self._v + b"\x00")
            self._v = _hmac(self._k, self._v)
            if 0 < candidate < N:
                return candidate


def sign(scalar: int, message: bytes) -> bytes:
    """Return the ECDSA-SHA256 signature ``r || s`` of ``message`` under a private scalar."""
    if not 0 < scalar < N:
        raise InvalidKey("private scalar outside 1..n-1")
    digest = hashlib.sha256(message).digest()
    z = _int32(digest)
    nonces = _Nonces(scalar, digest)
    while True:
        k = nonces.next()
        x, _ = _affine(_multiply(k, (GX, GY, 1)))
        r = x % N
        if r == 0:
            continue
        s = _inverse(k, N) * (z + r * scalar) % N
        if s:
            return _bytes32(r) + _bytes32(s)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Tell whether ``signature`` (``r || s``) of ``message`` verifies with a 65-byte public key."""
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        point = _decode_point(public)
    except InvalidKey:
        return False
    r = _int32(signature[:32])
    s = _int32(signature[32:])
    if not (0 < r < N and 0 < s < N):
        return False
    z = _int32(hashlib.sha256(message).digest())
    w = _inverse(s, N)
    total = _add(_multiply(z * w % N, (GX, GY, 1)), _multiply(r * w % N, point))
    if total[2] == 0:
        return False
    x, _ = _affine(total)
    return bool(x % N == r)
