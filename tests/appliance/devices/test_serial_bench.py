"""The real serial transport and driver, end to end, against the bench device firmware."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from appliance.calendar.stage import Stage
from appliance.devices import errors as e
from appliance.devices.snapshot import read_snapshot
from appliance.devices.urls import open_device
from appliance.protocol import serial_frame as sf
from appliance.protocol.commands import DEFAULT_PIN
from tests.appliance.devices.bench_device import bench_device
from tests.appliance.devices.trusting import trusting
from tests.simulators.device.clearing import valid_blob

QINGKA = Path(sys.executable).parent / "qingka"


def make_state(tmp_path: Path, scenario: str = "needs-clearing") -> Path:
    state = tmp_path / "state.json"
    subprocess.run(
        [
            str(QINGKA),
            "sim",
            "device",
            scenario,
            "--state",
            str(state),
            "--now",
            "2026-11-05T10:00",
        ],
        check=True,
        capture_output=True,
    )
    return state


def test_snapshot_and_whole_clearing_over_serial(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    with bench_device(state) as port, open_device(f"serial://{port}") as device:
        assert device.pipe.descriptor.vid_pid == "1432:07d0"
        snap = read_snapshot(device, trusting(device, DEFAULT_PIN))
        assert snap.identity.device_no == "661900000000"
        assert [t.status.stage for t in snap.types] == [Stage.NEEDS_REPORT] * 2
        for code in device.invoice_types():
            assert device.copy_tax(code).period == 202610
            assert len(device.read_summary(code).signature) == 64
        data = valid_blob(json.loads(state.read_text()))
        assert device.write_clearing(data).types == ("007", "026")
        with pytest.raises(e.AlreadyCleared):
            device.write_clearing(data)
        assert all(
            t.status.stage is Stage.CLEARED
            for t in read_snapshot(device, trusting(device, DEFAULT_PIN)).types
        )
    # The firmware kept its state in the file: a restarted bench device is still cleared.
    with bench_device(state) as port, open_device(f"serial://{port}") as device:
        assert all(
            t.status.stage is Stage.CLEARED
            for t in read_snapshot(device, trusting(device, DEFAULT_PIN)).types
        )


def test_wrong_pin_over_serial(tmp_path: Path) -> None:
    state = make_state(tmp_path, "wrong-pin")
    with bench_device(state) as port, open_device(f"serial://{port}") as device:
        with pytest.raises(e.PinRejected) as caught:
            device.verify_pin(DEFAULT_PIN)
        assert caught.value.tries_left == 2
        with pytest.raises(e.PinRejected):
            device.verify_pin(DEFAULT_PIN)
    assert json.loads(state.read_text())["pin_tries_left"] == 2


def test_line_noise_and_lost_replies_are_survived(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    with bench_device(state) as port:
        with serial.Serial(port, timeout=2) as raw:
            raw.write(b"\x00\xa5garbage\xa5\x5a\x99")  # noise, a false start, a bad kind
            hello = sf.encode_frame(sf.Frame(sf.KIND_HELLO, 7))
            raw.write(hello)
            first = raw.read(200)
            raw.write(hello)  # the same request again: the same answer, acted on once
            second = raw.read(len(first))
            assert first == second
            assert sf.decode_frame(first)[0].kind == sf.KIND_DESCRIPTOR
        with open_device(f"serial://{port}") as device:
            assert device.identify().device_no == "661900000000"


def test_no_bench_device_on_the_port(tmp_path: Path) -> None:
    with pytest.raises(e.DeviceGone):
        open_device(f"serial://{tmp_path}/no-such-tty")
