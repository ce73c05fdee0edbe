"""A capture of a real exchange replays to identical results; a different driver run diverges."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.devices import errors as e
from appliance.devices.capture import MAX_LINE_BYTES, load_capture
from appliance.devices.snapshot import read_snapshot
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from tests.appliance.devices.trusting import trusting
from tests.simulators.device.conftest import OpenSim


def _capture(open_sim: OpenSim, path: Path, scenario: str = "needs-clearing", **opts: str) -> dict:
    backend = open_sim(scenario, **opts)
    with open_device(
        f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend, capture=path
    ) as device:
        return read_snapshot(device, trusting(device, DEFAULT_PIN)).to_json()


def test_replay_gives_identical_results(open_sim: OpenSim, tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    live = _capture(open_sim, capture)
    records = [json.loads(line) for line in capture.read_text().splitlines()]
    assert records[0]["op"] == "open"
    assert records[-1]["op"] == "close"
    assert {r["op"] for r in records[1:-1]} == {"out", "in"}
    assert all("t" in r for r in records[1:])
    with open_device(f"replay://{capture}") as device:
        replayed = read_snapshot(device, trusting(device, DEFAULT_PIN)).to_json()
    assert device.pipe.finished  # type: ignore[attr-defined]
    live.pop("url")
    replayed.pop("url")
    assert replayed == live


def test_recorded_errors_replay_as_errors(open_sim: OpenSim, tmp_path: Path) -> None:
    capture = tmp_path / "wrong-pin.jsonl"
    with pytest.raises(e.PinRejected):
        _capture(open_sim, capture, "wrong-pin")
    with open_device(f"replay://{capture}") as device, pytest.raises(e.PinRejected) as caught:
        read_snapshot(device, trusting(device, DEFAULT_PIN))
    assert caught.value.tries_left == 2


def test_stall_and_recovery_replay(open_sim: OpenSim, tmp_path: Path) -> None:
    capture = tmp_path / "stall.jsonl"
    live = _capture(open_sim, capture, fault="stall:read_clock")
    assert any(
        json.loads(line).get("error") == "stall" for line in capture.read_text().splitlines()
    )
    with open_device(f"replay://{capture}") as device:
        assert (
            read_snapshot(device, trusting(device, DEFAULT_PIN)).clock.isoformat() == live["clock"]
        )


def test_a_different_driver_run_diverges(open_sim: OpenSim, tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    _capture(open_sim, capture)
    with (
        open_device(f"replay://{capture}") as device,
        pytest.raises(e.ProtocolError, match="diverged"),
    ):
        device.identify()
        device.verify_pin("12345678")  # the capture holds 88888888


def test_replay_runs_out(open_sim: OpenSim, tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    _capture(open_sim, capture)
    lines = capture.read_text().splitlines()
    # Cut the session's close (its CBW, data, CSW and the close record): the snapshot is all.
    capture.write_text("\n".join(lines[:-4]) + "\n")
    with open_device(f"replay://{capture}") as device:
        read_snapshot(device, trusting(device, DEFAULT_PIN))
        with pytest.raises(e.ProtocolError, match="ran out"):
            device.read_clock()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json\n",
        b'{"op": "out", "hex": "00"}\n',
        b'{"op": "open", "descriptor": {}}\n{"op": "teleport"}\n',
        b'{"op": "open", "descriptor": {}}\n{"op": "in", "hex": "zz"}\n',
        b'{"op": "open"}\n' + b"x" * (MAX_LINE_BYTES + 1) + b"\n",
        b"[1, 2]\n",
    ],
)
def test_bad_capture_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(e.ProtocolError):
        open_device(f"replay://{path}")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_random_capture_bytes_fail_typed(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "random.jsonl"
    path.write_bytes(content)
    with contextlib.suppress(e.DeviceError):
        load_capture(path)
