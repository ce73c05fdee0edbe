"""The bureau's filing rules: company info, summary uploads and clearing requests (DESIGN §2).

- A summary is accepted once per (taxpayer, device, period, type); the same content again gets
  the same receipt, other content is refused.
- Clearing for period P is possible only in the month after P, and only for types whose
  summary of P is on file; otherwise 无上报汇总信息或当前处于非征期.
- General taxpayers (一般纳税人) also need a declaration of P matching the summaries
  (一窗式比对); they get one clearing per period and types, asked again they get the same
  data back. Small-scale taxpayers need no declaration and get fresh data at every request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.bureau import codes, messages
from appliance.bureau.endpoints import authority_name, authority_prefix
from appliance.bureau.ids import summary_digest
from appliance.bureau.signing import verify
from appliance.calendar.filing import FilingCalendar
from appliance.clock import month_of, period_index, previous_month
from appliance.protocol.commands import KIND_GENERAL, SUMMARY_LAYOUT, signed_bytes
from appliance.protocol.errors import ProtocolError
from simulators.bureau import keys
from simulators.bureau.clearing import issue_clearing_data
from simulators.bureau.refusal import Refusal
from simulators.bureau.store import Store
from simulators.catalog import SimTaxpayer


class Filing:
    """Applies the filing rules against the store, at the bureau's current time."""

    def __init__(self, store: Store, calendar: FilingCalendar) -> None:
        self.store = store
        self.calendar = calendar

    def declaration(self, taxpayer: SimTaxpayer, period: int) -> str:
        """Return the declaration status that counts for ``period``."""
        if taxpayer.kind != KIND_GENERAL:
            return "not-required"
        # General taxpayers default to a filed, matching declaration so the happy path works;
        # the admin API withdraws or spoils it per period.
        return self.store.declaration(taxpayer.taxpayer_id, period) or "filed"

    def company_info(self, taxpayer: SimTaxpayer, now: datetime) -> messages.CompanyInfo:
        """Return what the bureau holds about the taxpayer this month."""
        year, month = previous_month(now.year, now.month)
        period = year * 100 + month
        return messages.CompanyInfo(
            name=taxpayer.name,
            region=taxpayer.region,
            taxpayer_kind="general" if taxpayer.kind == KIND_GENERAL else "small",
            authority=authority_name(authority_prefix(taxpayer.region)),
            cert_status=self.store.cert_status(taxpayer.taxpayer_id),
            period=period,
            deadline=self.calendar.deadline(now.year, now.month),
            declaration=self.declaration(taxpayer, period),
            uploaded=self.store.uploaded_types(taxpayer.taxpayer_id, taxpayer.device_no, period),
            cleared=self.store.cleared_types(taxpayer.taxpayer_id, taxpayer.device_no, period),
        )

    def upload(
        self, taxpayer: SimTaxpayer, upload: messages.SummaryUpload, now: datetime
    ) -> messages.Receipt:
        """Accept a summary (or recognise it) and return its receipt."""
        try:
            fields: dict[str, Any] = SUMMARY_LAYOUT.decode(upload.summary)
        except ProtocolError as exc:
            raise Refusal(codes.ILLEGAL_MESSAGE, f"summary does not decode: {exc}") from None
        if (fields["type"], fields["period"]) != (upload.type_code, upload.period):
            raise Refusal(codes.ILLEGAL_MESSAGE, "summary type or period differs from the message")
        if (fields["taxpayer_id"], fields["device_no"]) != (
            taxpayer.taxpayer_id,
            taxpayer.device_no,
        ):
            raise Refusal(codes.SUMMARY_SIGNATURE, "summary is another device's")
        signed = signed_bytes(SUMMARY_LAYOUT, fields)
        if not verify(keys.device_key(taxpayer.device_no), signed, fields["signature"]):
            raise Refusal(codes.SUMMARY_SIGNATURE)
        if period_index(upload.period) >= period_index(month_of(now)):
            raise Refusal(codes.SUMMARY_PERIOD, f"period {upload.period} is not closed yet")
        digest = summary_digest(signed)
        found, new = self.store.accept_upload(
            taxpayer.taxpayer_id,
            taxpayer.device_no,
            upload.period,
            upload.type_code,
            digest,
            upload.summary,
            now.replace(microsecond=0),
        )
        if found.digest != digest:
            raise Refusal(codes.SUMMARY_CONFLICT, f"receipt {found.receipt_no} is on file")
        return messages.Receipt(
            found.receipt_no, found.type_code, found.period, digest, found.accepted_at, not new
        )

    def clear(
        self, taxpayer: SimTaxpayer, request: messages.ClearingRequest, now: datetime
    ) -> messages.ClearingAnswer:
        """Issue (or re-issue) clearing data, or refuse with the real reason."""
        types = sorted(request.types)
        if not types:
            raise Refusal(codes.ILLEGAL_MESSAGE, "no invoice type to clear")
        if period_index(request.period) + 1 != period_index(month_of(now)):
            raise Refusal(codes.NO_SUMMARY_OR_NOT_FILING, f"period {request.period} not open")
        uploaded = set(
            self.store.uploaded_types(taxpayer.taxpayer_id, taxpayer.device_no, request.period)
        )
        missing = [code for code in types if code not in uploaded]
        if missing:
            raise Refusal(codes.NO_SUMMARY_OR_NOT_FILING, f"no summary of {','.join(missing)}")
        declaration = self.declaration(taxpayer, request.period)
        if declaration == "missing":
            raise Refusal(codes.DECLARATION_MISSING)
        if declaration == "mismatched":
            raise Refusal(codes.DECLARATION_MISMATCH)
        who = (taxpayer.taxpayer_id, taxpayer.device_no, request.period)
        with self.store.lock:
            if taxpayer.kind == KIND_GENERAL:
                earlier = self.store.clearing(*who, types)
                if earlier is not None:
                    return messages.ClearingAnswer(earlier, reissued=True)
            data = issue_clearing_data(keys.bureau_key(), self.calendar, now, *who, types)
            self.store.add_clearing(*who, types, data, now)
        return messages.ClearingAnswer(data, reissued=False)
