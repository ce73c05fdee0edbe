"""Provisioning on a data partition that loses, at a power cut, everything not synced.

The box's data partition is the power-cut file system (bench.powerfs). What provisioning told
the technician (enrolled: here is my key; applied: this configuration is in effect) must hold
after the worst cut right afterwards, and a cut at any change of an apply leaves the old
configuration or the new one, whole, never a rollback of the anti-replay serial.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.daemon.config import load_config
from bench.powerfs.client import PowerFs, power_cut
from provisioning import identity, state
from provisioning.generations import ConfigStore
from tests.provisioning.conftest import Box, MakeStick

REPO = Path(__file__).resolve().parents[2]
WORST = 0.0


@pytest.fixture
def powered(box: Box, tmp_path: Path) -> Iterator[PowerFs]:
    """The box's data partition on the power-cut file system."""
    with PowerFs(box.paths.data_dir, log=tmp_path / "powerfs.log") as fs:
        yield fs


def test_the_key_a_box_gave_out_survives_a_power_cut(box: Box, powered: PowerFs) -> None:
    made = box.identity()
    powered.cut(seed=1, keep=WORST)
    kept = identity.load(box.paths.keys_dir)
    assert kept is not None, "the box lost the key its enrollment request carried"
    assert kept.public_text == made.public_text


def test_an_applied_configuration_survives_a_power_cut_right_after(
    box: Box, powered: PowerFs, make_stick: MakeStick
) -> None:
    stick = make_stick(serial=100)
    outcome = box.applier().apply(stick)
    assert outcome.result == "applied", outcome
    powered.cut(seed=2, keep=WORST)
    assert box.current() == "gen-0001"
    assert load_config(box.paths.config_file).devices
    assert state.last_serial(box.paths.state_dir, {}) == 100
    assert list(box.paths.events_dir.iterdir()), "the fleet event of the apply was lost"
    # The same stick again is a replay now.
    assert box.applier().apply(stick).code == "P-210"


def apply_process(stick: Path, root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.power_apply", str(stick), "--root", str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_a_power_cut_at_any_change_of_an_apply_leaves_old_or_new_whole(
    box: Box, powered: PowerFs, make_stick: MakeStick
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    assert box.applier().apply(make_stick(serial=100)).result == "applied"
    store = ConfigStore(box.paths.config_dir)
    for serial in range(200, 205):
        stick = make_stick(serial=serial)
        process = apply_process(stick, box.root)
        powered.arm(rng.randint(1, 90))
        where = powered.wait_trip(30)
        if where is not None:
            power_cut(powered, [process], rng.randrange(2**30), rng.choice([0.0, 0.5]), True)
        process.communicate()
        current = store.current()
        assert current is not None, f"seed {seed}, cut at {where}: no configuration"
        serial_now = store.meta(current).get("serial")
        assert serial_now in (serial - 1 if serial > 200 else 100, serial), (seed, where)
        load_config(box.paths.config_file)  # whole: the daemon loads it
        assert state.last_serial(box.paths.state_dir, store.meta(current)) == serial_now
        # The technician plugs the stick again: it ends applied, or is already in effect.
        again = apply_process(stick, box.root)
        out, _ = again.communicate()
        result = json.loads(out.strip().splitlines()[-1])
        assert result["result"] == "applied" or result["code"] == "P-210", (seed, where, result)
        current = store.current()
        assert current is not None and store.meta(current).get("serial") == serial


def test_a_stick_copy_a_cut_left_behind_is_removed_by_the_next_apply(
    box: Box, make_stick: MakeStick
) -> None:
    # What a cut after the switch leaves: the copy of an applied stick, its serial recorded,
    # so that stick is never applied (nor its copy removed) again.
    leftover = box.paths.state_dir / "staging-90"
    leftover.mkdir(parents=True)
    (leftover / "secrets.sealed").write_bytes(b"sealed to this box")
    assert box.applier().apply(make_stick(serial=100)).result == "applied"
    assert sorted(path.name for path in box.paths.state_dir.iterdir()) == ["lock", "state.json"]
