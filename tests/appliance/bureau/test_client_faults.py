"""The bureau client against every fault the simulator and a TCP proxy can inject.

Transient faults are retried and end in the same result as a clean call: an upload the bureau
processed before its answer was lost is recognised (``repeated``) and gets the same receipt.
Faults that last longer than the retry policy end in BureauUnavailable, within its deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from appliance.bureau import BureauClient, EndpointTable, RetryPolicy
from appliance.bureau.errors import (
    BureauTimeout,
    BureauUnavailable,
    CommunicationError,
    GarbledResponse,
    NetworkError,
    ServerError,
    TlsError,
    UntrustedResponse,
)
from simulators.bureau import BureauProcess
from simulators.bureau.tls import ensure_tls
from tests.appliance.bureau.proxy import FaultProxy
from tests.simulators.bureau.fixtures import PERIOD
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice

UPLOAD = "UPLOAD_SUMMARY"


def _open(client: BureauClient, device: SimTaxpayerDevice) -> None:
    client.handshake(device.identity, device.certificate, device.sign)


def _upload_through(
    bureau: BureauProcess, client: BureauClient, device: SimTaxpayerDevice, **fault: object
) -> tuple[int, int]:
    """Upload with a fault on the first upload request; return (attempts, requests) it took."""
    _open(client, device)
    bureau.admin.add_fault(service=UPLOAD, **fault)  # type: ignore[arg-type]
    attempts, seen = client.attempts, bureau.admin.stats().get(UPLOAD, 0)
    receipt = client.upload_summary(device.summary("007", PERIOD))
    clean = client.upload_summary(device.summary("007", PERIOD))
    assert receipt == clean
    return client.attempts - attempts - 1, bureau.admin.stats()[UPLOAD] - seen - 1


def test_latency_is_waited_out(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    started = time.monotonic()
    assert _upload_through(bureau, client, general, kind="latency", latency_ms=300) == (1, 1)
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("http-error", {"status": 503}),
        ("http-error", {"status": 502}),
        ("comm-error", {}),
        ("reset", {}),
        ("truncate", {}),
        ("garble", {}),
        ("trickle", {"chunk": 64, "interval_ms": 300}),
        ("blackhole", {"hold_s": 5.0}),
    ],
)
def test_transient_fault_is_retried_once(
    bureau: BureauProcess,
    make_client: Callable[..., BureauClient],
    general: SimTaxpayerDevice,
    kind: str,
    extra: dict[str, object],
) -> None:
    client = make_client(read_timeout=0.5, attempt_timeout=1.0)
    assert _upload_through(bureau, client, general, kind=kind, **extra) == (2, 2)


@pytest.mark.parametrize("kind", ["reset", "truncate", "garble", "blackhole"])
def test_an_answer_lost_after_processing_meets_the_same_receipt(
    bureau: BureauProcess,
    make_client: Callable[..., BureauClient],
    general: SimTaxpayerDevice,
    kind: str,
) -> None:
    client = make_client(read_timeout=0.5, attempt_timeout=1.0)
    _open(client, general)
    bureau.admin.add_fault(kind, service=UPLOAD, hold_s=2.0)
    receipt = client.upload_summary(general.summary("007", PERIOD))
    assert receipt.repeated  # the first, lost answer was an acceptance
    assert len(bureau.admin.state(general.taxpayer_id)["uploads"]) == 1


def test_unprocessed_faults_leave_nothing_behind(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice
) -> None:
    _open(client, general)
    bureau.admin.add_fault("http-error", service=UPLOAD)
    bureau.admin.add_fault("comm-error", service=UPLOAD)
    assert not client.upload_summary(general.summary("007", PERIOD)).repeated


@pytest.mark.parametrize(
    ("kind", "last"),
    [
        ("http-error", ServerError),
        ("comm-error", CommunicationError),
        ("garble", GarbledResponse),
        ("truncate", NetworkError),
    ],
)
def test_a_lasting_fault_ends_in_unavailable(
    bureau: BureauProcess,
    client: BureauClient,
    general: SimTaxpayerDevice,
    kind: str,
    last: type[Exception],
) -> None:
    _open(client, general)
    bureau.admin.add_fault(kind, count=-1, service=UPLOAD)
    with pytest.raises(BureauUnavailable) as caught:
        client.upload_summary(general.summary("007", PERIOD))
    assert isinstance(caught.value.last, last)
    assert caught.value.attempts == 4 and caught.value.code == "B-007"


def test_the_overall_deadline_bounds_a_silent_bureau(
    bureau: BureauProcess, make_client: Callable[..., BureauClient], general: SimTaxpayerDevice
) -> None:
    policy = RetryPolicy(max_attempts=50, base_delay=0.05, max_delay=0.1, deadline=1.5)
    client = make_client(read_timeout=0.4, attempt_timeout=1.0, retry=policy)
    _open(client, general)
    bureau.admin.add_fault("blackhole", count=-1, service=UPLOAD, hold_s=10.0)
    started = time.monotonic()
    with pytest.raises(BureauUnavailable) as caught:
        client.upload_summary(general.summary("007", PERIOD))
    # 50 attempts into a 10 s black hole would take minutes: the 1.5 s deadline stopped them.
    assert time.monotonic() - started < 8
    assert caught.value.attempts < 10
    assert isinstance(caught.value.last, BureauTimeout)


@pytest.mark.parametrize("service", ["HANDSHAKE_HELLO", "HANDSHAKE_AUTH"])
def test_a_lost_handshake_answer_is_recovered(
    bureau: BureauProcess, client: BureauClient, general: SimTaxpayerDevice, service: str
) -> None:
    bureau.admin.add_fault("reset", service=service)
    before = client.attempts
    _open(client, general)  # AUTH retried under the same business id: the stored session
    assert client.attempts - before == 3
    assert client.company_info().period == PERIOD


def test_a_lost_clearing_answer_brings_the_same_data(
    bureau: BureauProcess, client: BureauClient, small: SimTaxpayerDevice
) -> None:
    _open(client, small)
    client.upload_summary(small.summary("007", PERIOD))
    bureau.admin.add_fault("reset", service="REQUEST_CLEARING")
    data = client.request_clearing(PERIOD, ["007"], business_id="ab" * 16)
    again = client.request_clearing(PERIOD, ["007"], business_id="ab" * 16)
    assert again.raw == data.raw  # small-scale: a new request would get a new nonce
    assert small.taxpayer_id and bureau.admin.state(small.taxpayer_id)["clearings"] == 1


@pytest.fixture
def proxy(bureau: BureauProcess) -> Iterator[FaultProxy]:
    parts = urlsplit(bureau.ready.url)
    relay = FaultProxy((parts.hostname or "127.0.0.1", parts.port or 443))
    yield relay
    relay.close()


@pytest.fixture
def proxied(
    bureau: BureauProcess, proxy: FaultProxy, make_client: Callable[..., BureauClient]
) -> BureauClient:
    endpoints = EndpointTable.per_authority(f"https://127.0.0.1:{proxy.port}")
    return make_client(endpoints=endpoints, read_timeout=0.5, attempt_timeout=1.0)


@pytest.mark.parametrize("kind", ["reset", "blackhole"])
def test_proxy_cut_in_mid_answer_is_retried(
    bureau: BureauProcess,
    proxy: FaultProxy,
    proxied: BureauClient,
    general: SimTaxpayerDevice,
    kind: str,
) -> None:
    _open(proxied, general)
    proxy.inject(kind)
    connections, before = proxy.connections, proxied.attempts
    receipt = proxied.upload_summary(general.summary("007", PERIOD))
    assert receipt.repeated and proxied.attempts - before == 2
    assert proxy.connections - connections == 1  # the retry did not reuse the cut connection


def test_proxy_refusing_connections_ends_in_unavailable(
    proxy: FaultProxy, proxied: BureauClient, general: SimTaxpayerDevice
) -> None:
    proxy.inject("refuse", count=10)
    with pytest.raises(BureauUnavailable) as caught:
        _open(proxied, general)
    assert isinstance(caught.value.last, NetworkError)


def test_a_foreign_ca_is_refused_without_retry(
    tmp_path: Path, make_client: Callable[..., BureauClient], general: SimTaxpayerDevice
) -> None:
    other = ensure_tls(tmp_path, ["127.0.0.1"])
    client = make_client(ca_bundle=other.ca_cert)
    with pytest.raises(TlsError) as caught:
        _open(client, general)
    assert client.attempts == 1 and caught.value.code == "B-010"


def test_answers_signed_by_another_key_are_not_trusted(
    make_client: Callable[..., BureauClient], general: SimTaxpayerDevice
) -> None:
    client = make_client(bureau_public_key=SimTaxpayerDevice(3).point)
    with pytest.raises(UntrustedResponse):
        _open(client, general)
    assert client.attempts == 1


def test_an_answer_above_the_size_cap_is_not_read(
    make_client: Callable[..., BureauClient], general: SimTaxpayerDevice
) -> None:
    client = make_client(max_response_bytes=300)
    with pytest.raises(BureauUnavailable) as caught:
        _open(client, general)
    assert isinstance(caught.value.last, GarbledResponse) and "above the cap" in str(
        caught.value.last
    )
