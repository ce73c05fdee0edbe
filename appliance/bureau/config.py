"""What the bureau client needs to know: where, whom to trust, how long to wait, how hard to try."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from appliance.bureau.endpoints import EndpointTable
from appliance.bureau.envelope import MAX_ENVELOPE
from appliance.bureau.retry import RetryPolicy
from appliance.bureau.signing import POINT_SIZE


@dataclass(frozen=True)
class BureauConfig:
    """Settings of one :class:`~appliance.bureau.client.BureauClient` (seconds, bytes)."""

    endpoints: EndpointTable
    ca_bundle: Path  # the CA certificates the bureau's TLS certificate must chain to
    bureau_public_key: bytes  # uncompressed P-256 point: answers and clearing data are signed
    connect_timeout: float = 5.0
    read_timeout: float = 15.0  # longest silence while waiting for or reading an answer
    attempt_timeout: float = 30.0  # one attempt from request to the answer's last byte
    max_response_bytes: int = MAX_ENVELOPE
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    service_path: str = "service"  # appended to the endpoint's base URL

    def __post_init__(self) -> None:
        if len(self.bureau_public_key) != POINT_SIZE:
            raise ValueError("bureau public key must be a 65-byte uncompressed P-256 point")
        if min(self.connect_timeout, self.read_timeout, self.attempt_timeout) <= 0:
            raise ValueError("bureau timeouts must be positive")
        if self.max_response_bytes <= 0:
            raise ValueError("response size cap must be positive")
