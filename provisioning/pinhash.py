"""Kiosk PIN hashes: the operator and technician PINs leave the office only as salted scrypt.

Format: ``scrypt$<log2 n>$<r>$<p>$<salt hex>$<hash hex>``. A 4–12 digit PIN is weak whatever
the hash, so the hash is still treated as a secret (sealed in the bundle, 0640 on the box); the
hash only keeps the PIN itself off the stick and out of the configuration file.
:func:`verify_pin` is what the kiosk calls.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

# n = 2**14, r = 8: about 16 MiB and a few tens of milliseconds on a Raspberry Pi per check.
LOG2_N = 14
R = 8
P = 1
# scrypt needs 128 * r * n bytes: 32 MiB at the largest parameters accepted below.
_MAXMEM = 64 * 1024 * 1024
_FORMAT = re.compile(r"scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([0-9a-f]{32})\$([0-9a-f]{64})")
PIN = re.compile(r"\d{4,12}")


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """Return the stored form of ``pin`` (4 to 12 digits), with a random salt unless given.

    The office derives the salt from the box id and the PIN's role, so the same PIN gives the
    same hash in the next bundle and the kiosk is not restarted for nothing.
    """
    if not PIN.fullmatch(pin):
        raise ValueError("a PIN is 4 to 12 digits")
    salt = salt if salt is not None else os.urandom(16)
    if len(salt) != 16:
        raise ValueError("the salt is 16 bytes")
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**LOG2_N, r=R, p=P, dklen=32)
    return f"scrypt${LOG2_N}${R}${P}${salt.hex()}${digest.hex()}"


def is_pin_hash(text: str) -> bool:
    """Tell whether ``text`` has the stored form, with parameters a box can afford."""
    match = _FORMAT.fullmatch(text)
    return match is not None and _affordable(int(match[1]), int(match[2]), int(match[3]))


def _affordable(log2_n: int, r: int, p: int) -> bool:
    # Bounds keep a hostile hash from making the kiosk spend gigabytes or minutes on one check.
    return 10 <= log2_n <= 15 and 1 <= r <= 8 and 1 <= p <= 4


def verify_pin(pin: str, stored: str) -> bool:
    """Tell whether ``pin`` matches ``stored`` (constant time in the hash comparison)."""
    match = _FORMAT.fullmatch(stored)
    if match is None or not PIN.fullmatch(pin):
        return False
    log2_n, r, p = int(match[1]), int(match[2]), int(match[3])
    if not _affordable(log2_n, r, p):
        return False
    digest = hashlib.scrypt(
        pin.encode(), salt=bytes.fromhex(match[4]), n=2**log2_n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )
    return hmac.compare_digest(digest.hex(), match[5])
