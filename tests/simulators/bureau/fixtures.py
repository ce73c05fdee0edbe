"""Pytest fixtures around a real bureau simulator process, shared by the bureau test packages.

Imported by each package's ``conftest.py``. One simulator process per package (and per xdist
worker) serves every test there; each test gets taxpayers of its own so tests never see each
other's uploads, and faults and the bureau clock are put back after every test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from appliance.bureau import BureauClient, RetryPolicy
from simulators.bureau import BureauProcess, spawn
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice

# Bureau time of the tests: inside November 2026's filing window (deadline 16 Nov), so the
# period to report and clear is October 2026.
ANCHOR = datetime(2026, 11, 5, 10, 0, 0)
PERIOD = 202610

# Catalog indices handed out to tests: 0..2 are the named demo taxpayers (1 is small-scale),
# every index from 3 on is a general taxpayer.
_general_indices = itertools.count(100)


@pytest.fixture(scope="session")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BureauProcess]:
    """A bureau simulator process on an ephemeral port, at bureau time :data:`ANCHOR`."""
    data_dir: Path = tmp_path_factory.mktemp("bureau")
    with spawn(data_dir, now=ANCHOR) as process:
        yield process


@pytest.fixture(autouse=True)
def _scenario_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Put faults and the clock back after each test that used the simulator."""
    yield
    if "bureau" in request.fixturenames:
        process: BureauProcess = request.getfixturevalue("bureau")
        process.admin.clear_faults()
        process.admin.set_clock(ANCHOR.isoformat())


@pytest.fixture
def general() -> SimTaxpayerDevice:
    """A general taxpayer (一般纳税人) no other test uses."""
    return SimTaxpayerDevice(next(_general_indices))


@pytest.fixture
def small(bureau: BureauProcess) -> SimTaxpayerDevice:
    """The small-scale taxpayer (catalog index 1), its bureau state reset."""
    device = SimTaxpayerDevice(1)
    bureau.admin.reset(device.taxpayer_id)
    return device


FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, deadline=10.0)


@pytest.fixture
def make_client(bureau: BureauProcess) -> Iterator[Callable[..., BureauClient]]:
    """Build clients for the simulator with short timeouts (overridable); closed afterwards."""
    made: list[BureauClient] = []

    def make(**overrides: object) -> BureauClient:
        settings: dict[str, object] = {
            "connect_timeout": 2.0,
            "read_timeout": 2.0,
            "attempt_timeout": 4.0,
            "retry": FAST_RETRY,
        }
        settings.update(overrides)
        client = BureauClient(bureau.config(**settings))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., BureauClient]) -> BureauClient:
    """A client with the test settings."""
    return make_client()
