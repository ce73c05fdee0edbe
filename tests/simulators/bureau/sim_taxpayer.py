"""A simulated taxpayer's device as the bureau sees it: identity, certificate, signing, summaries.

Built straight from ``simulators.catalog`` and the command table, so the bureau tests do not
depend on the device simulator's transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.bureau.signing import sign
from appliance.devices.models import Certificate, Identity, Summary
from appliance.protocol.commands import FAMILY_UKEY, SUMMARY_LAYOUT, signed_bytes
from simulators import catalog


@dataclass(frozen=True)
class SimTaxpayerDevice:
    """Simulated taxpayer number ``index`` and its one device."""

    index: int
    payer: catalog.SimTaxpayer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "payer", catalog.taxpayer(self.index))

    @property
    def taxpayer_id(self) -> str:
        return self.payer.taxpayer_id

    @property
    def point(self) -> bytes:
        return catalog.public_key_bytes(catalog.device_private_scalar(self.payer.device_no))

    @property
    def identity(self) -> Identity:
        return Identity(
            device_no=self.payer.device_no,
            taxpayer_id=self.payer.taxpayer_id,
            taxpayer_name=self.payer.name,
            region=self.payer.region,
            taxpayer_kind=self.payer.kind,
            family=FAMILY_UKEY,
            training=False,
            firmware="sim",
            cert_serial=catalog.cert_serial(self.point),
        )

    @property
    def certificate(self) -> Certificate:
        return Certificate(catalog.cert_serial(self.point), self.point)

    def sign(self, data: bytes) -> bytes:
        key = catalog.private_key(catalog.device_private_scalar(self.payer.device_no))
        return sign(key, data)

    def summary(self, type_code: str, period: int, **figures: int) -> Summary:
        """Return the signed summary of ``type_code`` for ``period``; figures override defaults."""
        year, month = divmod(period, 100)
        values: dict[str, Any] = {
            "type": type_code,
            "period": period,
            "bsqsrq": period * 100 + 1,
            "bszzrq": period * 100 + (28 if month == 2 else 30),
            "issued_count": 12,
            "issued_amount": 1_234_500,
            "issued_tax": 160_485,
            "negative_count": 1,
            "negative_amount": 10_000,
            "negative_tax": 1_300,
            "void_count": 0,
            "void_amount": 0,
            "stock_start": 100,
            "bought": 0,
            "returned": 0,
            "stock_end": 87,
            "device_no": self.payer.device_no,
            "taxpayer_id": self.payer.taxpayer_id,
        }
        values.update(figures)
        signed = signed_bytes(SUMMARY_LAYOUT, values)
        values["signature"] = self.sign(signed)
        raw = SUMMARY_LAYOUT.encode(values)
        assert year > 1900
        return Summary(type_code, period, values, raw, signed, values["signature"])
