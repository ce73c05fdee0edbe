"""Global business ids (全局业务流水号): how the bureau recognises a message it has seen.

An upload's id is derived from what it carries, so the upload a crash interrupted is sent again
with the same id and the bureau answers with the receipt it already gave. Other calls take a
fresh random id per call, reused by that call's retries.
"""

from __future__ import annotations

import hashlib
import secrets


def summary_digest(signed: bytes) -> str:
    """Return the SHA-256 of a summary's signed content (its fields before the signature), hex.

    The signature is left out: a device may sign the same content differently each time it is
    read, and it is the content the bureau must not accept twice with different figures.
    """
    return hashlib.sha256(signed).hexdigest()


def upload_business_id(
    taxpayer_id: str, device_no: str, period: int, type_code: str, digest: str
) -> str:
    """Return the business id of uploading this summary: same inputs, same id."""
    key = "\x00".join(("upload/1", taxpayer_id, device_no, str(period), type_code, digest))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def clearing_business_id(job_id: int, device_no: str, period: int) -> str:
    """Return a clearing request's id for a job that journaled none: same job, same id."""
    key = "\x00".join(("clear/1", str(job_id), device_no, str(period)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def random_business_id() -> str:
    """Return a fresh business id (128 random bits, hex)."""
    return secrets.token_hex(16)
