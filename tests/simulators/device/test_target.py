"""The bulk-only target, byte for byte: normal exchanges, failures, and a host that misbehaves."""

from __future__ import annotations

import pytest

from appliance.protocol import bot, cdb, commands, sense
from simulators.device.core import target as t
from tests.simulators.device.devices import cbw, core_device, vendor


def csw(raw: bytes) -> bot.Csw:
    return bot.decode_csw(raw)


def test_command_with_data_in_then_csw() -> None:
    _, _, target = core_device()
    block, _, allocation = vendor("open_session")
    assert target.bulk_out(cbw(block, allocation, tag=41)) == bot.CBW_SIZE
    data = target.bulk_in(allocation)
    assert data == commands.encode_response(commands.command("open_session"), {"session": 1})
    assert csw(target.bulk_in(64)) == bot.Csw(41, allocation - len(data), bot.CSW_PASSED)
    assert target.phase == t.IDLE


def test_data_out_may_come_in_pieces() -> None:
    _, _, target = core_device()
    for name, values in (("open_session", None), ("select_app", {"aid": "NISECTAX"})):
        block, out, allocation = vendor(name, values)
        target.bulk_out(cbw(block, allocation))
        for byte in out:
            assert target.phase == t.DATA_OUT
            target.bulk_out(bytes((byte,)))
        target.bulk_in(allocation)
        assert csw(target.bulk_in(13)).status == bot.CSW_PASSED


def test_failed_command_sends_an_empty_data_phase_then_sense() -> None:
    _, _, target = core_device()
    block, _, allocation = vendor("identify")  # no session yet
    target.bulk_out(cbw(block, allocation, tag=5))
    assert target.bulk_in(allocation) == b""
    assert csw(target.bulk_in(13)) == bot.Csw(5, allocation, bot.CSW_FAILED)
    target.bulk_out(cbw(cdb.encode_request_sense(), sense.SENSE_SIZE, tag=6))
    raw = target.bulk_in(sense.SENSE_SIZE)
    assert len(raw) == 18
    assert raw[0] == 0x70 and raw[7] == 10
    assert sense.decode_sense(raw) == sense.Sense(sense.KEY_NOT_READY, sense.SW_NO_SESSION)
    assert csw(target.bulk_in(13)) == bot.Csw(6, 0, bot.CSW_PASSED)
    # Reported once: asking again reads "no sense".
    target.bulk_out(cbw(cdb.encode_request_sense(), sense.SENSE_SIZE, tag=7))
    assert sense.decode_sense(target.bulk_in(18)).status == sense.SW_OK
    target.bulk_in(13)
    assert target.handler.counters == {"identify": 1, "request_sense": 2}


def test_request_sense_honours_a_short_allocation() -> None:
    _, _, target = core_device()
    block, _, allocation = vendor("identify")
    target.bulk_out(cbw(block, allocation))
    target.bulk_in(allocation)
    target.bulk_in(13)
    target.bulk_out(cbw(cdb.encode_request_sense(14), 18))
    assert len(target.bulk_in(18)) == 14
    assert csw(target.bulk_in(13)).residue == 4


def test_no_data_phase_when_the_host_allocates_none() -> None:
    _, _, target = core_device()
    block = cdb.encode_vendor_cdb(commands.command("close_session").op)
    target.bulk_out(cbw(block, 0, tag=9))
    # The 2-byte trailer did not fit in a 0-byte data phase: the device reports a phase error.
    assert csw(target.bulk_in(13)) == bot.Csw(9, 0, bot.CSW_PHASE_ERROR)


def test_a_response_longer_than_the_transfer_is_cut_with_a_phase_error() -> None:
    _, _, target = core_device()
    block, _, _ = vendor("open_session")
    target.bulk_out(cbw(block, 3))
    assert len(target.bulk_in(64)) == 3
    assert csw(target.bulk_in(13)) == bot.Csw(7, 0, bot.CSW_PHASE_ERROR)


def test_more_data_out_than_announced_is_a_phase_error_and_runs_nothing() -> None:
    _, handler, target = core_device()
    block, out, allocation = vendor("select_app", {"aid": "NISECTAX"})
    target.bulk_out(cbw(block, allocation))
    target.bulk_out(out + b"!")
    assert target.bulk_in(allocation) == b""
    assert csw(target.bulk_in(13)).status == bot.CSW_PHASE_ERROR
    assert "select_app" not in handler.counters


def test_data_in_can_be_read_in_chunks() -> None:
    state, _, target = core_device()
    block, _, allocation = vendor("open_session")
    target.bulk_out(cbw(block, allocation))
    target.bulk_in(allocation)
    target.bulk_in(13)
    # identify needs select_app first
    block, out, allocation = vendor("select_app", {"aid": "NISECTAX"})
    target.bulk_out(cbw(block, allocation))
    target.bulk_out(out)
    target.bulk_in(allocation)
    target.bulk_in(13)
    block, _, allocation = vendor("identify")
    target.bulk_out(cbw(block, allocation))
    pieces = []
    while target.phase == t.DATA_IN:
        pieces.append(target.bulk_in(16))
    body = b"".join(pieces)
    assert commands.decode_response(commands.command("identify"), body)["region"] == "420103"
    assert all(len(piece) == 16 for piece in pieces[:-1])
    assert csw(target.bulk_in(13)).residue == allocation - len(body)
    assert state["identity"]["region"] == "420103"


@pytest.mark.parametrize(
    "garbage",
    [b"", b"USBC", b"USBS" + bytes(27), bytes(31), cbw(b"\xfe", 0) + b"\x00"],
)
def test_garbage_cbw_halts_both_endpoints_until_reset(garbage: bytes) -> None:
    _, _, target = core_device()
    target.bulk_out(garbage)
    assert target.phase == t.HALTED
    with pytest.raises(t.Stall):
        target.bulk_in(13)
    with pytest.raises(t.Stall):
        target.bulk_out(cbw(vendor("open_session")[0], 6))
    target.clear_halt(True)
    target.clear_halt(False)
    with pytest.raises(t.Stall):
        target.bulk_in(13)
    target.reset()
    block, _, allocation = vendor("open_session")
    target.bulk_out(cbw(block, allocation))
    assert target.bulk_in(allocation)


def test_reading_with_nothing_pending_is_not_answered() -> None:
    _, _, target = core_device()
    with pytest.raises(t.NotReady):
        target.bulk_in(64)
    block, _, allocation = vendor("select_app", {"aid": "NISECTAX"})
    target.bulk_out(cbw(block, allocation))
    with pytest.raises(t.NotReady):  # the data OUT never came
        target.bulk_in(64)


def test_a_csw_does_not_fit_a_short_buffer() -> None:
    _, _, target = core_device()
    block, _, allocation = vendor("open_session")
    target.bulk_out(cbw(block, allocation, tag=3))
    target.bulk_in(allocation)
    with pytest.raises(t.Overflow):
        target.bulk_in(12)
    assert csw(target.bulk_in(13)).tag == 3


def test_a_new_cbw_drops_a_pending_answer() -> None:
    _, _, target = core_device()
    block, _, allocation = vendor("open_session")
    target.bulk_out(cbw(block, allocation, tag=1))
    target.bulk_out(cbw(block, allocation, tag=2))
    data = target.bulk_in(allocation)
    assert commands.decode_response(commands.command("open_session"), data) == {"session": 2}
    assert csw(target.bulk_in(13)).tag == 2


def test_stalled_in_endpoint_skips_the_data_after_clear_halt() -> None:
    _, handler, target = core_device()
    block, _, allocation = vendor("open_session")
    target.bulk_out(cbw(block, allocation, tag=4))
    target.stall_in()
    with pytest.raises(t.Stall):
        target.bulk_in(allocation)
    target.clear_halt(True)
    assert csw(target.bulk_in(13)) == bot.Csw(4, allocation, bot.CSW_PASSED)
    assert handler.counters["open_session"] == 1
