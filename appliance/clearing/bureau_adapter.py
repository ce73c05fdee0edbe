"""The bureau client as the clearing job sees it (:class:`~appliance.clearing.job.BureauPort`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.bureau.client import BureauClient
from appliance.bureau.config import BureauConfig
from appliance.devices.models import Certificate, Identity, Summary


class BureauAdapter:
    """One client per job: a session belongs to one device."""

    def __init__(self, config: BureauConfig) -> None:
        self.client = BureauClient(config)

    def handshake(
        self, identity: Identity, certificate: Certificate, sign: Callable[[bytes], bytes]
    ) -> None:
        """Open a session signed by the device."""
        self.client.handshake(identity, certificate, sign)

    def upload_summary(self, identity: Identity, summary: Summary) -> dict[str, Any]:
        """Upload one summary and return its receipt as JSON-ready data.

        Only what the bureau answers the same for a repeated upload is kept (not whether it had
        the upload already), so a resumed job stores the very same receipt file.
        """
        receipt = self.client.upload_summary(summary)
        return {
            "receipt_no": receipt.receipt_no,
            "taxpayer_id": receipt.taxpayer_id,
            "device_no": receipt.device_no,
            "type": receipt.type_code,
            "period": receipt.period,
            "summary_digest": receipt.summary_digest,
            "accepted_at": receipt.accepted_at.isoformat(),
            "business_id": receipt.business_id,
        }

    def request_clearing(
        self, identity: Identity, period: int, types: list[str], business_id: str
    ) -> bytes:
        """Return the checked clearing data, as it is to be written to the device."""
        return self.client.request_clearing(period, types, business_id).raw

    def close(self) -> None:
        """Close the connections."""
        self.client.close()
