"""What the bureau client hands back: the session, receipts and verified clearing data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class BureauSession:
    """A session opened by a handshake, bound to one taxpayer and device."""

    session_id: str
    taxpayer_id: str
    device_no: str
    url: str  # the service URL of the taxpayer's tax authority
    taxpayer_kind: str  # "general" or "small", as the bureau knows the taxpayer
    expires_at: float  # monotonic seconds


@dataclass(frozen=True)
class Receipt:
    """The bureau's receipt for one uploaded summary.

    Uploading the same summary again yields an equal receipt; ``repeated`` only tells whether
    the bureau had it already, so it takes no part in equality.
    """

    receipt_no: str
    taxpayer_id: str
    device_no: str
    type_code: str
    period: int
    summary_digest: str
    accepted_at: datetime
    business_id: str
    repeated: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class ClearingData:
    """Clearing data checked by the box: signed by the bureau and bound to what was asked.

    ``raw`` is what gets written to the device, unchanged.
    """

    raw: bytes = field(repr=False)
    taxpayer_id: str
    device_no: str
    period: int
    types: tuple[str, ...]
    kpjzsj: datetime
    bsqsrq: date
    bszzrq: date
    issued_at: datetime
    nonce: bytes = field(repr=False)
    reissued: bool = field(default=False, compare=False)
