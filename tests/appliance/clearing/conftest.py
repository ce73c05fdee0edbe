"""A rig for clearing-job tests: a simulated device (state on disk), the real bureau simulator
over HTTPS, a journal database and a backup store, all in the test's own folder."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.job import ClearingJob
from appliance.clearing.journal import Journal
from appliance.clearing.outcomes import Outcome
from appliance.clearing.pins import PinGuard
from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.device import open_backend
from simulators.device.usb_backend import SimBackend
from tests.simulators.bureau.fixtures import ANCHOR, FAST_RETRY, _scenario_restored, bureau
from tests.simulators.device.conftest import FrozenClock

__all__ = ["_scenario_restored", "bureau"]

# General taxpayers of these tests; the bureau tests take theirs from 100 on.
_indices = itertools.count(5000)


class Rig:
    """Everything one clearing needs, rebuilt on demand as after a restart."""

    def __init__(self, folder: Path, bureau: BureauProcess, scenario: str, **options: Any) -> None:
        self.folder = folder
        self.bureau = bureau
        self.index = int(options.pop("index", next(_indices)))
        self.taxpayer = catalog.taxpayer(self.index)
        self.clock = FrozenClock(ANCHOR)
        self.options = {
            "latency": "0",
            "now": ANCHOR.isoformat(),
            "index": str(self.index),
            "state": str(folder / "device.json"),
            **{k: str(v) for k, v in options.items()},
        }
        self.scenario = scenario
        self.backend: SimBackend = open_backend(scenario, self.options, host_clock=self.clock)
        self.db = Database(folder / "qingka.db")
        self.journal = Journal(self.db)
        self.pins = PinGuard(self.journal, folder)
        self.backups = BackupStore(folder)
        self.events: list[dict[str, Any]] = []

    def device(self) -> NisecDevice:
        """Open the device through the real driver and pyusb."""
        return open_device(
            f"usb://{self.backend.vid:04x}:{self.backend.pid:04x}", backend=self.backend
        )

    def restart_device(self, **options: Any) -> None:
        """Build a new simulator instance from the state file (a re-plug / power cycle)."""
        # Faults belong to the run that injected them, not to the device after a re-plug.
        self.options.pop("fault", None)
        self.options.update({k: str(v) for k, v in options.items()})
        self.backend = open_backend(self.scenario, self.options, host_clock=self.clock)

    def job(self, device: NisecDevice, *, pin: str = DEFAULT_PIN, **kwargs: Any) -> ClearingJob:
        """Return a job on ``device`` with a fresh bureau client."""
        bureau = BureauAdapter(
            self.bureau.config(
                retry=FAST_RETRY, connect_timeout=2.0, read_timeout=3.0, attempt_timeout=5.0
            )
        )
        kwargs.setdefault("expected_taxpayer", self.taxpayer.taxpayer_id)
        return ClearingJob(
            device,
            bureau,
            self.backups,
            self.journal,
            pins=self.pins,
            pin=pin,
            emit=self.events.append,
            **kwargs,
        )

    def run(self, **kwargs: Any) -> Outcome:
        """Open the device, run one job, close the device."""
        with self.device() as device:
            return self.job(device, **kwargs).run()

    def bureau_state(self) -> dict[str, Any]:
        """Return what the bureau holds about this taxpayer."""
        return self.bureau.admin.state(self.taxpayer.taxpayer_id)

    def kpjzsj(self) -> dict[str, int]:
        """Return the lock moment of every type, from the device state."""
        return {c: r["monitor"]["kpjzsj"] for c, r in self.backend.device.state["types"].items()}

    def close(self) -> None:
        """Close the database."""
        self.db.close()


@pytest.fixture
def rig(tmp_path: Path, bureau: BureauProcess) -> Iterator[Any]:
    """Return ``make(scenario="needs-clearing", **options)`` building rigs in this test's folder."""
    made: list[Rig] = []

    def make(scenario: str = "needs-clearing", **options: Any) -> Rig:
        folder = tmp_path / f"rig{len(made)}"
        folder.mkdir()
        built = Rig(folder, bureau, scenario, **options)
        made.append(built)
        return built

    yield make
    for built in made:
        built.close()
