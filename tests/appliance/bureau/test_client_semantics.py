"""The bureau client against the real simulator over HTTPS: every rule of DESIGN §2."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.bureau import BureauClient
from appliance.bureau.endpoints import EndpointTable
from appliance.bureau.errors import (
    CertificateLost,
    CertificateRevoked,
    CertificateUnknown,
    DeclarationMismatched,
    DeclarationMissing,
    HandshakeRejected,
    NoEndpoint,
    NotConnected,
    NotFilingPeriod,
    SessionExpired,
    SummaryConflict,
    SummaryPeriodRejected,
    SummaryRejected,
    WrongProvince,
)
from appliance.devices.models import Certificate, Summary
from simulators.bureau import BureauProcess
from tests.simulators.bureau.fixtures import PERIOD
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice


def _open(client: BureauClient, device: SimTaxpayerDevice) -> None:
    client.handshake(device.identity, device.certificate, device.sign)


def _requests(bureau: BureauProcess, service: str) -> int:
    return bureau.admin.stats().get(service, 0)


def test_handshake_upload_clear(client: BureauClient, general: SimTaxpayerDevice) -> None:
    session = client.handshake(general.identity, general.certificate, general.sign)
    assert session.taxpayer_kind == "general"
    assert session.url.endswith("/hubei/service")
    receipt = client.upload_summary(general.summary("007", PERIOD))
    assert receipt.receipt_no.startswith("SB20261105")
    assert (receipt.type_code, receipt.period, receipt.repeated) == ("007", PERIOD, False)
    data = client.request_clearing(PERIOD, ["007"])
    assert (data.taxpayer_id, data.device_no, data.period) == (
        general.taxpayer_id,
        general.identity.device_no,
        PERIOD,
    )
    assert data.types == ("007",)
    assert str(data.kpjzsj) == "2026-12-15 23:59:59"  # December 2026's deadline
    assert (str(data.bsqsrq), str(data.bszzrq)) == ("2026-11-01", "2026-11-30")


def test_company_info_tracks_the_period(client: BureauClient, general: SimTaxpayerDevice) -> None:
    _open(client, general)
    info = client.company_info()
    assert (info.period, str(info.deadline), info.declaration) == (PERIOD, "2026-11-16", "filed")
    assert info.authority == "国家税务总局湖北省税务局"
    assert (info.uploaded, info.cleared) == ([], [])
    client.upload_summary(general.summary("004", PERIOD))
    client.upload_summary(general.summary("007", PERIOD))
    client.request_clearing(PERIOD, ["004"])
    info = client.company_info()
    assert (info.uploaded, info.cleared) == (["004", "007"], ["004"])


def test_same_upload_same_receipt_even_in_a_new_session(
    make_client: Callable[..., BureauClient], general: SimTaxpayerDevice
) -> None:
    first = make_client()
    _open(first, general)
    receipt = first.upload_summary(general.summary("007", PERIOD))
    again = first.upload_summary(general.summary("007", PERIOD))
    assert again == receipt and again.repeated
    other = make_client()
    _open(other, general)
    assert other.upload_summary(general.summary("007", PERIOD)) == receipt


def test_different_content_for_an_accepted_period_is_refused_once(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    client.upload_summary(general.summary("007", PERIOD))
    before = _requests(bureau, "UPLOAD_SUMMARY")
    with pytest.raises(SummaryConflict) as caught:
        client.upload_summary(general.summary("007", PERIOD, issued_count=13))
    assert caught.value.code == "B-302" and caught.value.result_code == "3002"
    assert _requests(bureau, "UPLOAD_SUMMARY") == before + 1  # not retried


def test_summary_of_an_open_month_is_refused(
    client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    with pytest.raises(SummaryPeriodRejected):
        client.upload_summary(general.summary("007", 202611))


def test_summary_with_a_bad_signature_is_refused(
    client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    good = general.summary("007", PERIOD)
    forged_signature = bytes(64 - 1) + b"\x01"
    raw = good.raw[: -len(good.signature)] + forged_signature
    forged = Summary(good.type_code, good.period, good.fields, raw, good.signed, forged_signature)
    with pytest.raises(SummaryRejected):
        client.upload_summary(forged)


def test_summary_of_another_device_is_not_sent(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    before = _requests(bureau, "UPLOAD_SUMMARY")
    with pytest.raises(SummaryRejected):
        client.upload_summary(SimTaxpayerDevice(2).summary("007", PERIOD))
    assert _requests(bureau, "UPLOAD_SUMMARY") == before


def test_clearing_needs_an_upload(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    before = _requests(bureau, "REQUEST_CLEARING")
    with pytest.raises(NotFilingPeriod) as caught:
        client.request_clearing(PERIOD, ["007"])
    assert "无上报汇总信息或当前处于非征期" in caught.value.text("zh")[0]
    assert _requests(bureau, "REQUEST_CLEARING") == before + 1
    client.upload_summary(general.summary("007", PERIOD))
    with pytest.raises(NotFilingPeriod):  # 004 was never uploaded
        client.request_clearing(PERIOD, ["004", "007"])


@pytest.mark.parametrize("moment", ["2026-12-03T09:00:00", "2026-10-20T09:00:00"])
def test_clearing_outside_the_filing_month_is_refused(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice, moment: str
) -> None:
    _open(client, general)
    client.upload_summary(general.summary("007", PERIOD))
    bureau.admin.set_clock(moment)
    with pytest.raises(NotFilingPeriod):
        client.request_clearing(PERIOD, ["007"])


def test_late_clearing_in_the_filing_month_is_allowed(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    client.upload_summary(general.summary("007", PERIOD))
    bureau.admin.set_clock("2026-11-25T09:00:00")  # past the 16th: the device is locked
    assert client.request_clearing(PERIOD, ["007"]).kpjzsj.month == 12


def test_withdrawn_declaration_fails_the_comparison_without_retry(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    client.upload_summary(general.summary("007", PERIOD))
    bureau.admin.set_declaration(general.taxpayer_id, "missing", PERIOD)
    before = _requests(bureau, "REQUEST_CLEARING")
    with pytest.raises(DeclarationMissing) as caught:
        client.request_clearing(PERIOD, ["007"])
    assert "一窗式比对" in caught.value.text("zh")[0] and "一窗式比对" in str(caught.value)
    assert caught.value.code == "B-402"
    assert _requests(bureau, "REQUEST_CLEARING") == before + 1
    bureau.admin.set_declaration(general.taxpayer_id, "mismatched", PERIOD)
    with pytest.raises(DeclarationMismatched):
        client.request_clearing(PERIOD, ["007"])
    bureau.admin.set_declaration(general.taxpayer_id, "filed", PERIOD)
    assert client.request_clearing(PERIOD, ["007"]).period == PERIOD


def test_general_taxpayer_gets_the_same_clearing_again(
    client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    client.upload_summary(general.summary("007", PERIOD))
    first = client.request_clearing(PERIOD, ["007"])
    second = client.request_clearing(PERIOD, ["007"])
    assert second.raw == first.raw and second.reissued and not first.reissued


def test_small_scale_taxpayer_clears_without_declaration_and_again(
    bureau: BureauProcess, client: BureauClient, small: SimTaxpayerDevice
) -> None:
    bureau.admin.set_declaration(small.taxpayer_id, "missing", PERIOD)  # no effect: not needed
    session = client.handshake(small.identity, small.certificate, small.sign)
    assert session.taxpayer_kind == "small"
    client.upload_summary(small.summary("007", PERIOD))
    first = client.request_clearing(PERIOD, ["007"])
    second = client.request_clearing(PERIOD, ["007"])
    assert first.nonce != second.nonce and not second.reissued
    assert client.company_info().declaration == "not-required"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("revoked", CertificateRevoked, "B-102"),
        ("lost", CertificateLost, "B-101"),
        ("unknown", CertificateUnknown, "B-103"),
    ],
)
def test_certificate_status_fails_the_handshake_without_retry(
    bureau: BureauProcess,
    client: BureauClient,
    general: SimTaxpayerDevice,
    status: str,
    error: type[Exception],
    code: str,
) -> None:
    bureau.admin.set_certificate(general.taxpayer_id, status)
    before = _requests(bureau, "HANDSHAKE_HELLO")
    with pytest.raises(error) as caught:
        client.handshake(general.identity, general.certificate, general.sign)
    assert getattr(caught.value, "code", "") == code
    assert _requests(bureau, "HANDSHAKE_HELLO") == before + 1
    assert client.session is None


def test_revoked_message_is_plain(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    bureau.admin.set_certificate(general.taxpayer_id, "revoked")
    with pytest.raises(CertificateRevoked) as caught:
        client.handshake(general.identity, general.certificate, general.sign)
    assert caught.value.text("zh")[0] == "税控设备证书已作废，无法清卡"
    assert "revoked" in caught.value.text("en")[0]
    assert "证书已作废" in str(caught.value)


def test_revocation_after_the_handshake_stops_business_calls(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    bureau.admin.set_certificate(general.taxpayer_id, "revoked")
    with pytest.raises(CertificateRevoked):
        client.upload_summary(general.summary("007", PERIOD))


def test_a_foreign_certificate_is_unknown(client: BureauClient, general: SimTaxpayerDevice) -> None:
    stranger = SimTaxpayerDevice(2).certificate
    with pytest.raises(CertificateUnknown):
        client.handshake(general.identity, stranger, general.sign)


def test_a_wrong_signature_fails_the_handshake(
    client: BureauClient, general: SimTaxpayerDevice
) -> None:
    with pytest.raises(HandshakeRejected):
        client.handshake(general.identity, general.certificate, SimTaxpayerDevice(2).sign)


def test_an_expired_session_needs_a_new_handshake(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    assert bureau.admin.expire_sessions(general.taxpayer_id) == 1
    with pytest.raises(SessionExpired):
        client.company_info()
    _open(client, general)
    assert client.company_info().period == PERIOD


def test_calls_before_a_handshake_are_refused_locally(client: BureauClient) -> None:
    with pytest.raises(NotConnected):
        client.request_clearing(PERIOD, ["007"])


def test_the_endpoint_follows_the_region(
    bureau: BureauProcess, make_client: Callable[..., BureauClient], general: SimTaxpayerDevice
) -> None:
    beijing = bureau.ready.endpoints["11"]
    misrouted = make_client(endpoints=EndpointTable({"42": beijing}))
    with pytest.raises(WrongProvince):
        misrouted.handshake(general.identity, general.certificate, general.sign)
    nowhere = make_client(endpoints=EndpointTable({"11": beijing}))
    with pytest.raises(NoEndpoint):
        nowhere.handshake(general.identity, general.certificate, general.sign)


def test_certificate_model_round_trip(general: SimTaxpayerDevice) -> None:
    assert general.certificate == Certificate(general.identity.cert_serial, general.point)
