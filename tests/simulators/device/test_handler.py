"""The command processor's gates, in their documented order, straight through Handler.handle."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.protocol import cdb, commands, sense
from simulators.device.core.handler import Handler, sense_for
from tests.simulators.device.devices import core_device, vendor


def run(handler: Handler, name: str, values: dict[str, Any] | None = None) -> Any:
    block, out, _ = vendor(name, values)
    result = handler.handle(block, out)
    if isinstance(result, sense.Sense):
        return result
    return commands.decode_response(commands.command(name), result)


def status(result: Any) -> int:
    return result.status if isinstance(result, sense.Sense) else sense.SW_OK


def opened(scenario: str = "needs-clearing", pin: str | None = "88888888") -> Handler:
    _, handler, _ = core_device(scenario)
    run(handler, "open_session")
    run(handler, "select_app", {"aid": commands.APPLICATION_ID})
    if pin is not None:
        assert status(run(handler, "verify_pin", {"pin": pin})) == sense.SW_OK
    return handler


def test_unknown_op_is_refused_and_counted() -> None:
    _, handler, _ = core_device()
    result = handler.handle(cdb.encode_vendor_cdb(0x7F), b"")
    assert isinstance(result, sense.Sense)
    assert result.status == sense.SW_UNKNOWN_OP
    assert result.key == sense.KEY_ILLEGAL_REQUEST
    assert handler.handle(b"\x12\x00\x00\x00\x24\x00", b"") == sense_for(sense.SW_UNKNOWN_OP)
    assert handler.counters == {"unknown": 2}


def test_commands_before_the_session_answer_no_session() -> None:
    _, handler, _ = core_device()
    assert status(run(handler, "identify")) == sense.SW_NO_SESSION
    run(handler, "open_session")
    assert status(run(handler, "identify")) == sense.SW_NO_SESSION  # application not selected
    assert status(run(handler, "select_app", {"aid": "OTHERAPP"})) == sense.SW_TYPE_NOT_FOUND
    assert status(run(handler, "select_app", {"aid": commands.APPLICATION_ID})) == sense.SW_OK
    assert run(handler, "identify")["device_no"] == "661900000000"
    run(handler, "close_session")
    assert status(run(handler, "list_types")) == sense.SW_NO_SESSION


def test_pin_commands_need_a_verified_pin() -> None:
    handler = opened(pin=None)
    for name, values in (
        ("select_type", {"type": "026"}),
        ("read_monitor", None),
        ("copy_tax", None),
        ("read_summary", None),
        ("write_clearing", {"data": b"x"}),
        ("sign", {"challenge": b"x"}),
    ):
        assert status(run(handler, name, values)) == sense.SW_PIN_REQUIRED, name
    assert run(handler, "read_clock")["clock"] == 20261105100000  # no PIN needed


def test_bad_check_byte_runs_nothing() -> None:
    handler = opened()
    block, out, _ = vendor("verify_pin", {"pin": "00000000"})
    bad = bytearray(block)
    bad[8] ^= 0x01
    result = handler.handle(bytes(bad), out)
    assert status(result) == sense.SW_BAD_CHECK
    assert handler.state["pin_tries_left"] == 5  # the wrong PIN was not tried
    assert handler.counters["verify_pin"] == 2  # but it was received


def test_data_out_length_other_than_the_cdb_says_is_refused() -> None:
    handler = opened()
    block, out, _ = vendor("select_type", {"type": "026"})
    assert status(handler.handle(block, out + b"\x00")) == sense.SW_WRONG_LENGTH


def test_a_request_too_short_for_its_layout_is_refused() -> None:
    handler = opened()
    short = b"026"[:2]
    block = cdb.encode_vendor_cdb(commands.command("select_type").op, short, 2)
    assert status(handler.handle(block, short)) == sense.SW_WRONG_LENGTH


def test_type_selection_and_monitor() -> None:
    handler = opened()
    assert status(run(handler, "read_monitor")) == sense.SW_CONDITIONS
    assert status(run(handler, "copy_tax")) == sense.SW_CONDITIONS
    assert status(run(handler, "select_type", {"type": "004"})) == sense.SW_TYPE_NOT_FOUND
    run(handler, "select_type", {"type": "026"})
    monitor = run(handler, "read_monitor")
    assert monitor["type"] == "026"
    assert monitor["kpjzsj"] == 20261116235959


def test_sign_caps_the_challenge() -> None:
    handler = opened()
    assert len(run(handler, "sign", {"challenge": bytes(256)})["signature"]) == 64
    assert status(run(handler, "sign", {"challenge": bytes(257)})) == sense.SW_WRONG_LENGTH


def test_busy_answers_everything_busy() -> None:
    _, handler, _ = core_device("busy")
    for name in ("open_session", "identify", "close_session"):
        result = run(handler, name)
        assert status(result) == sense.SW_BUSY
        assert result.key == sense.KEY_NOT_READY


def test_forced_status_answers_one_command() -> None:
    handler = opened()
    handler.force_status(sense.SW_BUSY)
    assert status(run(handler, "read_clock")) == sense.SW_BUSY
    assert status(run(handler, "read_clock")) == sense.SW_OK


@pytest.mark.parametrize(
    ("status_word", "key"),
    [
        (sense.SW_PIN_WRONG | 3, sense.KEY_DATA_PROTECT),
        (sense.SW_CLEARING_FORGED, sense.KEY_DATA_PROTECT),
        (sense.SW_NOT_REPORT_TIME, sense.KEY_ABORTED),
        (sense.SW_CLOCK_ERROR, sense.KEY_HARDWARE_ERROR),
        (sense.SW_BUSY, sense.KEY_NOT_READY),
    ],
)
def test_sense_keys(status_word: int, key: int) -> None:
    assert sense_for(status_word).key == key


def test_a_fault_of_ours_reads_as_an_internal_error() -> None:
    handler = opened()
    del handler.state["types"]["026"]["monitor"]["kpjzsj"]
    run(handler, "select_type", {"type": "026"})
    assert status(run(handler, "read_monitor")) == sense.SW_INTERNAL
