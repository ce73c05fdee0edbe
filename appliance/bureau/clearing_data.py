"""The box's own check of clearing data before it goes anywhere near the device.

The device checks the data too (docs/clearing-data.md), but a device refusing it is a poor way
to learn the bureau answered for another taxpayer, device, period or set of types. The box
checks the same bindings, plus the bureau's signature, and refuses anything that fails.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.bureau.errors import ClearingDataRejected
from appliance.bureau.models import ClearingData
from appliance.bureau.signing import verify
from appliance.clock import ClockError, month_window, period_after
from appliance.devices.models import to_date, to_datetime
from appliance.protocol.commands import CLEARING_DATA_VERSION, CLEARING_LAYOUT, signed_bytes
from appliance.protocol.errors import ProtocolError


def check_clearing_data(
    raw: bytes,
    bureau_key: ec.EllipticCurvePublicKey,
    taxpayer_id: str,
    device_no: str,
    period: int,
    types: tuple[str, ...],
    reissued: bool = False,
) -> ClearingData:
    """Decode ``raw`` and check it is the bureau's clearing data for exactly what was asked."""
    try:
        fields: dict[str, Any] = CLEARING_LAYOUT.decode(raw)
    except ProtocolError as exc:
        raise ClearingDataRejected(f"clearing data does not decode: {exc}") from exc
    if fields["version"] != CLEARING_DATA_VERSION:
        raise ClearingDataRejected(f"clearing data version {fields['version']} is not supported")
    if not verify(bureau_key, signed_bytes(CLEARING_LAYOUT, fields), fields["signature"]):
        raise ClearingDataRejected("clearing data is not signed by the bureau")
    bound = {
        "taxpayer": (fields["taxpayer_id"], taxpayer_id),
        "device": (fields["device_no"], device_no),
        "period": (fields["period"], period),
        "types": (tuple(sorted(fields["types"])), tuple(sorted(types))),
    }
    for name, (got, asked) in bound.items():
        if got != asked:
            raise ClearingDataRejected(f"clearing data for {name} {got!r}, asked for {asked!r}")
    try:
        kpjzsj = to_datetime(fields["kpjzsj"])
        bsqsrq = to_date(fields["bsqsrq"])
        bszzrq = to_date(fields["bszzrq"])
        issued_at = to_datetime(fields["issued_at"])
    except ValueError as exc:
        raise ClearingDataRejected(f"clearing data holds an impossible date: {exc}") from exc
    try:
        window = month_window(period_after(period))
    except ClockError as exc:
        raise ClearingDataRejected(f"clearing data for an impossible period: {exc}") from exc
    if (bsqsrq, bszzrq) != window:
        raise ClearingDataRejected(f"clearing data window {bsqsrq}..{bszzrq} is not {window}")
    if kpjzsj is None or issued_at is None or kpjzsj.date() <= window[1]:
        raise ClearingDataRejected(f"clearing data lock moment {kpjzsj} is not a later month")
    return ClearingData(
        raw=raw,
        taxpayer_id=fields["taxpayer_id"],
        device_no=fields["device_no"],
        period=period,
        types=tuple(fields["types"]),
        kpjzsj=kpjzsj,
        bsqsrq=window[0],
        bszzrq=window[1],
        issued_at=issued_at,
        nonce=fields["nonce"],
        reissued=reissued,
    )
