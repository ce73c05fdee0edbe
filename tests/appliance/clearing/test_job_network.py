"""Connections that break in the middle of an answer, during upload and during the clearing
request: a relay between the box and the bureau resets or stalls them (tests/appliance/bureau
/proxy.py). The job ends done once the network behaves, with no duplicate at the bureau."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from appliance.bureau.endpoints import EndpointTable
from appliance.bureau.retry import RetryPolicy
from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.job import ClearingJob
from appliance.clearing.outcomes import OutcomeKind
from appliance.protocol.commands import DEFAULT_PIN
from simulators.bureau import BureauProcess
from tests.appliance.bureau.proxy import FaultProxy


@pytest.fixture
def proxy(bureau: BureauProcess) -> Iterator[FaultProxy]:
    parts = urlsplit(bureau.ready.url)
    relay = FaultProxy((parts.hostname or "127.0.0.1", parts.port or 443))
    yield relay
    relay.close()


def run_through(r: Any, proxy: FaultProxy, faults: dict[str, list[tuple[str, int]]]) -> Any:
    """Run a job through the proxy, injecting ``faults`` when the job enters a step."""
    config = r.bureau.config(
        endpoints=EndpointTable.per_authority(f"https://127.0.0.1:{proxy.port}"),
        connect_timeout=1.0,
        read_timeout=0.5,
        attempt_timeout=1.0,
        retry=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, deadline=6.0),
    )

    def emit(event: dict[str, Any]) -> None:
        r.events.append(event)
        for kind, count in faults.get(event.get("step", ""), []):
            proxy.inject(kind, count)

    with r.device() as device:
        job = ClearingJob(
            device,
            BureauAdapter(config),
            r.backups,
            r.journal,
            pins=r.pins,
            pin=DEFAULT_PIN,
            expected_taxpayer=r.taxpayer.taxpayer_id,
            emit=emit,
        )
        return job.run()


def test_resets_and_stalls_mid_answer_are_survived(rig: Any, proxy: FaultProxy) -> None:
    r = rig()
    outcome = run_through(
        r,
        proxy,
        {
            "upload": [("reset", 2), ("blackhole", 1)],
            "clear-request": [("reset", 1), ("blackhole", 1), ("refuse", 1)],
        },
    )
    assert outcome.kind is OutcomeKind.DONE, outcome
    state = r.bureau_state()
    assert len(state["uploads"]) == 2
    assert state["clearings"] == 1


def test_a_network_that_stays_down_is_retry_later_then_done(rig: Any, proxy: FaultProxy) -> None:
    r = rig()
    outcome = run_through(r, proxy, {"clear-request": [("reset", 1000), ("refuse", 1000)]})
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.code == "B-007"
    proxy.close()
    assert r.run().kind is OutcomeKind.DONE
    assert r.bureau_state()["clearings"] == 1
