"""Every injected fault ends in a typed error or a transparent recovery, never a wrong answer."""

from __future__ import annotations

import pytest

from appliance.devices import errors as e
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from tests.appliance.devices.conftest import OpenDriver
from tests.simulators.device.clearing import valid_blob


def test_corrupted_check_byte_is_resent(driver: OpenDriver) -> None:
    device, backend = driver(fault="corrupt-check:identify")
    assert device.identify().device_no == "661900000000"
    assert backend.device.counters["identify"] == 2


def test_persistent_check_corruption_is_a_protocol_error(driver: OpenDriver) -> None:
    device, _ = driver(fault="corrupt-check:identify*5")
    with pytest.raises(e.ProtocolError):
        device.identify()


def test_garbled_answer_to_a_read_is_asked_again(driver: OpenDriver) -> None:
    device, backend = driver(fault="corrupt-response:read_clock")
    device.read_clock()
    assert backend.device.counters["read_clock"] == 2


def test_garbled_answer_to_a_pin_is_not_resent(driver: OpenDriver) -> None:
    device, backend = driver(fault="corrupt-response:verify_pin")
    with pytest.raises(e.ProtocolError):
        device.verify_pin(DEFAULT_PIN)
    assert backend.device.counters["verify_pin"] == 1


def test_unplug_mid_transfer_then_replug(driver: OpenDriver) -> None:
    device, backend = driver(fault="unplug:copy_tax")
    device.verify_pin(DEFAULT_PIN)
    with pytest.raises(e.DeviceGone):
        device.copy_tax("026")
    device.close()
    backend.replug()
    again = open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)
    with again:
        again.verify_pin(DEFAULT_PIN)
        assert again.copy_tax("026").period == 202610


def test_unplug_during_write_back_applies_nothing(driver: OpenDriver) -> None:
    device, backend = driver(fault="unplug:write_clearing")
    device.verify_pin(DEFAULT_PIN)
    for code in device.invoice_types():
        device.copy_tax(code)
    with pytest.raises(e.DeviceGone):
        device.write_clearing(valid_blob(backend.device.state))
    assert backend.device.state["types"]["026"]["monitor"]["kpjzsj"] == 20261116235959


def test_unplug_after_write_back_then_repeat_is_already_cleared(driver: OpenDriver) -> None:
    device, backend = driver(fault="unplug-after:write_clearing")
    device.verify_pin(DEFAULT_PIN)
    for code in device.invoice_types():
        device.copy_tax(code)
    data = valid_blob(backend.device.state)
    with pytest.raises(e.DeviceGone):
        device.write_clearing(data)
    backend.replug()
    again = open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)
    with again:
        again.verify_pin(DEFAULT_PIN)
        with pytest.raises(e.AlreadyCleared):
            again.write_clearing(data)


def test_stalled_endpoint_is_recovered(driver: OpenDriver) -> None:
    device, _ = driver(fault="stall:read_clock")
    assert device.read_clock().year == 2026


def test_timeout(driver: OpenDriver) -> None:
    device, _ = driver(fault="timeout:identify")
    with pytest.raises(e.DeviceTimeout):
        device.identify()


def test_busy_command(driver: OpenDriver) -> None:
    device, _ = driver(fault="busy:read_clock")
    with pytest.raises(e.DeviceBusy):
        device.read_clock()
    assert device.read_clock().year == 2026


def test_interface_held_by_another_program(driver: OpenDriver) -> None:
    with pytest.raises(e.DeviceBusy):
        driver(fault="claim-busy")


def test_transient_errors_are_the_retryable_ones() -> None:
    for kind in (e.DeviceGone, e.DeviceBusy, e.DeviceTimeout, e.ProtocolError):
        assert issubclass(kind, e.TRANSIENT_ERRORS)
    for kind in (e.PinRejected, e.CertificateLocked, e.ZombieDevice, e.TrainingDevice):
        assert not issubclass(kind, e.TRANSIENT_ERRORS)
