"""The NISEC/UKey driver against the device simulator, through the real pyusb code path."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from appliance.calendar.stage import Stage
from appliance.devices import errors as e
from appliance.devices.snapshot import read_snapshot
from appliance.protocol.commands import DEFAULT_PIN
from simulators import catalog
from tests.appliance.devices.conftest import OpenDriver
from tests.appliance.devices.trusting import trusting
from tests.simulators.device.clearing import blob, valid_blob, values_for


def test_identify_without_pin(driver: OpenDriver) -> None:
    device, backend = driver()
    identity = device.identify()
    expected = catalog.taxpayer(0)
    assert identity.taxpayer_id == expected.taxpayer_id
    assert identity.device_no == expected.device_no
    assert identity.taxpayer_name == expected.name
    assert identity.family_name == "税务UKey"
    assert identity.vendor == "税务UKey (NISEC)"
    assert backend.device.counters.get("verify_pin", 0) == 0


def test_snapshot_of_needs_clearing(driver: OpenDriver) -> None:
    device, _ = driver()
    snap = read_snapshot(device, trusting(device, DEFAULT_PIN))
    assert snap.clock == datetime(2026, 11, 5, 10, 0)
    assert [t.monitor.type_code for t in snap.types] == ["007", "026"]
    for t in snap.types:
        assert t.status.stage is Stage.NEEDS_REPORT
        assert t.status.lock_date == date(2026, 11, 16)  # official deadline of November 2026
        assert t.status.days_to_lock == 11
        assert (t.monitor.bsqsrq, t.monitor.bszzrq) == (date(2026, 10, 1), date(2026, 10, 31))


@pytest.mark.parametrize(
    ("scenario", "stage", "locked", "zombie"),
    [
        ("reported-not-cleared", Stage.REPORTED, False, False),
        ("already-cleared", Stage.CLEARED, False, False),
        ("locked", Stage.NEEDS_REPORT, True, False),
        ("zombie", Stage.NEEDS_REPORT, True, True),
        ("clock-drift", Stage.NEEDS_REPORT, False, False),
    ],
)
def test_scenario_stages(
    driver: OpenDriver, scenario: str, stage: Stage, locked: bool, zombie: bool
) -> None:
    device, _ = driver(scenario)
    for t in read_snapshot(device, trusting(device, DEFAULT_PIN)).types:
        assert (t.status.stage, t.status.locked, t.status.zombie) == (stage, locked, zombie)


def test_clock_drift_is_the_device_clock(driver: OpenDriver) -> None:
    device, _ = driver("clock-drift")
    clock = device.read_clock()
    assert clock != datetime(2026, 11, 5, 10, 0)
    assert abs((clock - datetime(2026, 11, 5, 10, 0)).total_seconds()) > 3600


def test_multi_type(driver: OpenDriver) -> None:
    device, _ = driver("multi-type")
    assert device.invoice_types() == ["004", "007", "026"]


def test_wrong_pin_is_sent_once_and_never_again(driver: OpenDriver) -> None:
    device, backend = driver("wrong-pin")
    with pytest.raises(e.PinRejected) as caught:
        device.verify_pin(DEFAULT_PIN)
    assert caught.value.tries_left == 2
    assert caught.value.code == "D-101"
    with pytest.raises(e.PinRejected):
        device.verify_pin(DEFAULT_PIN)
    with pytest.raises(e.PinRejected):
        read_snapshot(device, trusting(device, DEFAULT_PIN))
    assert backend.device.counters["verify_pin"] == 1
    assert backend.device.state["pin_tries_left"] == 2


def test_pin_locked(driver: OpenDriver) -> None:
    device, _ = driver("pin-locked")
    with pytest.raises(e.CertificateLocked):
        device.verify_pin(DEFAULT_PIN)


def test_commands_need_the_pin(driver: OpenDriver) -> None:
    device, _ = driver()
    with pytest.raises(e.PinRequired):
        device.monitor("026")


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("training", e.TrainingDevice),
        ("zombie", e.ZombieDevice),
        ("offline-pending", e.OfflineInvoicesPending),
        ("clock-error", e.ClockError),
        ("clock-factor", e.ClockError),
        ("already-cleared", e.NotReportTime),
    ],
)
def test_copy_tax_refusals(driver: OpenDriver, scenario: str, error: type[e.DeviceError]) -> None:
    device, _ = driver(scenario)
    device.verify_pin(DEFAULT_PIN)
    types = device.invoice_types()
    with pytest.raises(error):
        for code in types:
            device.copy_tax(code)


def test_busy_device(driver: OpenDriver) -> None:
    device, _ = driver("busy")
    with pytest.raises(e.DeviceBusy):
        device.identify()


def test_whole_clearing(driver: OpenDriver) -> None:
    device, backend = driver()
    device.verify_pin(DEFAULT_PIN)
    for code in device.invoice_types():
        result = device.copy_tax(code)
        assert result.period == 202610
        assert result.zxbsrq == date(2026, 11, 5)
        summary = device.read_summary(code)
        assert summary.period == 202610
        assert summary.raw.startswith(summary.signed)
        assert len(summary.signature) == 64
    data = valid_blob(backend.device.state)
    cleared = device.write_clearing(data)
    assert cleared.types == ("007", "026")
    assert cleared.kpjzsj == datetime(2026, 12, 15, 23, 59, 59)
    with pytest.raises(e.AlreadyCleared):
        device.write_clearing(data)
    with pytest.raises(e.NoSummaryData):
        device.read_summary("026")
    snap = read_snapshot(device, trusting(device, DEFAULT_PIN))
    assert all(t.status.stage is Stage.CLEARED for t in snap.types)


def test_forged_and_foreign_clearing_data(driver: OpenDriver) -> None:
    device, backend = driver()
    device.verify_pin(DEFAULT_PIN)
    for code in device.invoice_types():
        device.copy_tax(code)
    state = backend.device.state
    forged = blob(values_for(state), scalar=catalog.device_private_scalar("661900000009"))
    with pytest.raises(e.ClearingRejected, match="signature"):
        device.write_clearing(forged)
    foreign = blob(values_for(state, device_no=catalog.taxpayer(5).device_no))
    with pytest.raises(e.ClearingRejected, match="another device"):
        device.write_clearing(foreign)


def test_sign_and_certificate(driver: OpenDriver) -> None:
    device, _ = driver()
    device.verify_pin(DEFAULT_PIN)
    cert = device.certificate()
    signature = device.sign(b"challenge-123")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), cert.public_key)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    key.verify(encode_dss_signature(r, s), b"challenge-123", ec.ECDSA(hashes.SHA256()))
    assert cert.serial == catalog.cert_serial(cert.public_key)
