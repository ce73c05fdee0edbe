"""Captures of a hostile device, and hostile capture files, replay to typed errors only.

A capture file comes from outside (a technician's USB stick), so the replay transport is held to
the same rule as a device: whatever the file says, the driver returns or raises a DeviceError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.devices import errors as e
from appliance.devices.capture import CapturePipe
from appliance.devices.ids import lookup
from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device
from appliance.devices.usb_pipe import UsbPipe
from appliance.protocol.commands import DEFAULT_PIN
from simulators.device import descriptors as d
from simulators.device import open_backend
from tests.appliance.devices.hostile import ROOMY, HostileBackend, Misbehaviour
from tests.simulators.device.conftest import ANCHOR, FrozenClock, OpenSim

URL = f"usb://{d.VENDOR_ID:04x}:{d.PRODUCT_ID:04x}"


def _read(device: NisecDevice) -> list[object]:
    """Return what each operation gave: its value, or the name of its error."""
    results: list[object] = []
    for operation in (
        device.identify,
        device.read_clock,
        device.invoice_types,
        lambda: device.verify_pin(DEFAULT_PIN),
        lambda: device.monitor("026"),
    ):
        try:
            results.append(operation())
        except e.DeviceError as error:
            results.append(type(error).__name__)
    return results


def _capture(sim: Any, path: Path, misbehaviour: Misbehaviour) -> list[object]:
    backend = HostileBackend(sim, misbehaviour)
    pipe = UsbPipe.open(d.VENDOR_ID, d.PRODUCT_ID, backend=backend, name=URL)
    known = lookup(d.VENDOR_ID, d.PRODUCT_ID, pipe.descriptor.manufacturer)
    device = NisecDevice(CapturePipe(pipe, path, URL), URL, known, deadlines=ROOMY)
    try:
        return _read(device)
    finally:
        device.close()


@pytest.mark.parametrize(
    "misbehaviour",
    [
        Misbehaviour(stall_in=True),
        Misbehaviour(stall_out=True),
        Misbehaviour(stall_in=True, stall_control=True),
        Misbehaviour(residue_extra=7),
        Misbehaviour(dates={"read_clock": ("clock", "20260231100000")}),
    ],
)
def test_a_hostile_exchange_replays_to_the_same_typed_errors(
    open_sim: OpenSim, tmp_path: Path, misbehaviour: Misbehaviour
) -> None:
    capture = tmp_path / "hostile.jsonl"
    live = _capture(open_sim(), capture, misbehaviour)
    assert any(isinstance(result, str) for result in live)
    with open_device(f"replay://{capture}") as device:
        assert _read(device) == live


@pytest.mark.parametrize(
    "descriptor",
    [
        {"vid": "1432", "pid": 2000, "manufacturer": "x", "product": "", "serial": ""},
        {"vid": 5170, "pid": 2000, "manufacturer": 5, "product": "", "serial": ""},
        {"vid": 5170, "pid": 2000, "manufacturer": None, "product": "", "serial": ""},
        {"vid": 70000, "pid": 2000, "manufacturer": "", "product": "", "serial": ""},
        {"vid": True, "pid": 2000, "manufacturer": "", "product": "", "serial": ""},
        {"vid": 5170, "pid": 2000, "manufacturer": "", "product": ""},
        ["not", "a", "dict"],
    ],
)
def test_a_capture_with_a_wrong_descriptor_is_refused_typed(
    tmp_path: Path, descriptor: object
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"op": "open", "descriptor": descriptor}) + "\n")
    with pytest.raises(e.ProtocolError):
        open_device(f"replay://{path}")


# An honest capture is recorded once; hypothesis then rewrites its records.
_HONEST: list[dict[str, Any]] = []


def _honest_records(tmp_path: Path) -> list[dict[str, Any]]:
    if not _HONEST:
        sim = open_backend(
            "needs-clearing", {"latency": "0", "now": ANCHOR.isoformat()}, host_clock=FrozenClock()
        )
        path = tmp_path / "honest.jsonl"
        _capture(sim, path, Misbehaviour())
        _HONEST.extend(json.loads(line) for line in path.read_text().splitlines())
    return [dict(record) for record in _HONEST]


EDITS = st.lists(
    st.tuples(
        st.integers(0, 200),
        st.one_of(
            st.tuples(st.just("hex"), st.binary(max_size=40).map(bytes.hex)),
            st.tuples(
                st.just("error"),
                st.sampled_from(["stall", "timeout", "gone", "busy", "protocol", "weird", 7]),
            ),
            st.tuples(st.just("drop"), st.none()),
            st.tuples(st.just("repeat"), st.none()),
            st.tuples(st.just("op"), st.sampled_from(["in", "out", "clear", "reset", "close"])),
            st.tuples(st.just("endpoint"), st.sampled_from(["in", "out", "up", None, 3])),
        ),
    ),
    max_size=12,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(EDITS)
def test_an_edited_capture_replays_to_values_or_typed_errors(
    tmp_path: Path, edits: list[tuple[int, tuple[str, Any]]]
) -> None:
    records = _honest_records(tmp_path)
    for position, (kind, value) in edits:
        index = 1 + position % (len(records) - 1)
        if kind == "drop" and len(records) > 2:
            del records[index]
        elif kind == "repeat":
            records.insert(index, dict(records[index]))
        elif kind not in ("drop", "repeat"):
            records[index][kind] = value
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    with open_device(f"replay://{path}") as device:
        _read(device)  # every operation returns or raises a DeviceError
