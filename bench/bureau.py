"""Bureau client and simulator: client overhead per call, and the simulator's sustained rates.

Client overhead: the same kind of call (company-info sync) made by the client and, as the
baseline, by a bare ``requests`` POST of a pre-built envelope on the same kind of keep-alive
HTTPS connection, both with the same latency injected by the simulator. The ratio is what the
client's envelope building, signature and identity checks and body parsing add.

Simulator rates: N client processes, each with its own taxpayers, run handshakes, then uploads,
then clearing requests, all together, against one simulator process; the rate of each phase is
total calls over the phase's wall time. Goal (fleet-scale tests): >= 200 clearings/s on 2 cores.

    python -m bench.bureau [--clients N] [--taxpayers PER_CLIENT] [--calls N] [--latency-ms MS]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import requests

from appliance.bureau import BureauClient, BureauConfig, RetryPolicy, envelope, messages
from appliance.bureau.envelope import Envelope, Header
from appliance.bureau.ids import random_business_id
from appliance.bureau.signing import sign
from appliance.devices.models import Certificate, Identity, Summary
from appliance.protocol.commands import FAMILY_UKEY, SUMMARY_LAYOUT, signed_bytes
from bench.report import figure, finish, say
from simulators import catalog
from simulators.bureau import spawn
from simulators.bureau.ready import Ready

NOW = datetime(2026, 11, 5, 10, 0, 0)
PERIOD = 202610
FIRST_INDEX = 1000  # catalog indices of the benchmark's taxpayers (general taxpayers)
PHASES = ("handshake", "upload", "clearing")


class Taxpayer:
    """A catalog taxpayer's device as the client needs it."""

    def __init__(self, index: int) -> None:
        payer = catalog.taxpayer(index)
        self.key = catalog.private_key(catalog.device_private_scalar(payer.device_no))
        point = catalog.public_key_bytes(catalog.device_private_scalar(payer.device_no))
        serial = catalog.cert_serial(point)
        self.identity = Identity(
            payer.device_no, payer.taxpayer_id, payer.name, payer.region, payer.kind,
            FAMILY_UKEY, False, "bench", serial,
        )  # fmt: skip
        self.certificate = Certificate(serial, point)
        values: dict[str, Any] = {name: 0 for name in SUMMARY_LAYOUT.names}
        values.update(
            type="007", period=PERIOD, bsqsrq=20261001, bszzrq=20261031, issued_count=index,
            device_no=payer.device_no, taxpayer_id=payer.taxpayer_id,
        )  # fmt: skip
        signed = signed_bytes(SUMMARY_LAYOUT, values)
        values["signature"] = self.sign(signed)
        raw = SUMMARY_LAYOUT.encode(values)
        self.summary = Summary("007", PERIOD, values, raw, signed, values["signature"])

    def sign(self, data: bytes) -> bytes:
        return sign(self.key, data)


def _config(ready_json: str, **overrides: Any) -> BureauConfig:
    retry = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.5, deadline=60.0)
    return Ready.from_json(ready_json).client_config(retry=retry, **overrides)


def client_overhead(ready_json: str, admin: Any, calls: int, latency_ms: int) -> dict[str, float]:
    """Return mean seconds per company-info call: client vs bare POST, at ``latency_ms``."""
    payer = Taxpayer(FIRST_INDEX - 1)
    config = _config(ready_json)
    client = BureauClient(config)
    client.handshake(payer.identity, payer.certificate, payer.sign)
    session = client.session
    assert session is not None
    header = Header(
        messages.COMPANY_INFO, payer.identity.taxpayer_id, payer.identity.device_no,
        "2026-11-05T10:00:00", "", session.session_id,
    )  # fmt: skip
    body = messages.encode(messages.CompanyInfoQuery())
    prepared = [
        envelope.encode(Envelope(replace(header, business_id=random_business_id()), body))
        for _ in range(calls)
    ]
    bare = requests.Session()
    bare.trust_env = False
    bare.verify = str(config.ca_bundle)
    if latency_ms:
        admin.add_fault("latency", count=-1, service=messages.COMPANY_INFO, latency_ms=latency_ms)
    for _ in range(3):  # warm both connections up
        client.company_info()
        bare.post(session.url, data=prepared[0], timeout=10).raise_for_status()
    baseline, measured = [], []
    for data in prepared:
        started = time.perf_counter()
        response = bare.post(session.url, data=data, timeout=10)
        assert response.status_code == 200 and b"<code>0000</code>" in response.content
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.company_info()
        measured.append(time.perf_counter() - started)
    admin.clear_faults()
    client.close()
    bare.close()
    return {"baseline": statistics.fmean(baseline), "client": statistics.fmean(measured)}


def _worker(ready_json: str, indices: list[int], barrier: Barrier) -> None:
    payers = [Taxpayer(index) for index in indices]
    client = BureauClient(_config(ready_json))
    sessions = []
    barrier.wait()  # start: handshakes
    for payer in payers:
        sessions.append(client.handshake(payer.identity, payer.certificate, payer.sign))
    barrier.wait()  # uploads
    for payer, session in zip(payers, sessions, strict=True):
        client.session = session
        client.upload_summary(payer.summary)
    barrier.wait()  # clearing requests
    for session in sessions:
        client.session = session
        client.request_clearing(PERIOD, ["007"])
    barrier.wait()
    client.close()


def simulator_rates(ready_json: str, clients: int, per_client: int) -> dict[str, float]:
    """Return calls per second of each phase with ``clients`` concurrent client processes."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    workers = []
    for number in range(clients):
        start = FIRST_INDEX + number * per_client
        indices = list(range(start, start + per_client))
        worker = context.Process(target=_worker, args=(ready_json, indices, barrier))
        worker.start()
        workers.append(worker)
    marks = []
    for _ in range(len(PHASES) + 1):
        barrier.wait(timeout=600)
        marks.append(time.perf_counter())
    for worker in workers:
        worker.join(60)
        if worker.exitcode != 0:
            raise RuntimeError(f"benchmark client exited with {worker.exitcode}")
    total = clients * per_client
    return {phase: total / (marks[i + 1] - marks[i]) for i, phase in enumerate(PHASES)}


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.bureau", description=__doc__)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--taxpayers", type=int, default=250, help="taxpayers per client")
    parser.add_argument("--calls", type=int, default=60, help="calls per overhead measurement")
    parser.add_argument("--latency-ms", type=int, default=50, help="latency injected")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-bureau-") as directory,
        spawn(Path(directory), now=NOW) as bureau,
    ):
        ready = bureau.ready.to_json()
        quiet = client_overhead(ready, bureau.admin, args.calls, 0)
        slow = client_overhead(ready, bureau.admin, args.calls, args.latency_ms)
        rates = simulator_rates(ready, args.clients, args.taxpayers)

    latency = args.latency_ms / 1000
    say(f"client overhead per call (company-info sync, keep-alive HTTPS, {args.calls} calls):")
    for name, run in (("no latency", quiet), (f"{args.latency_ms} ms latency", slow)):
        say(
            f"  {name:>16}: bare POST {run['baseline'] * 1000:6.2f} ms, client "
            f"{run['client'] * 1000:6.2f} ms, ratio {run['client'] / run['baseline']:.3f}, "
            f"client adds {(run['client'] - run['baseline']) * 1000:.2f} ms"
        )
    say(f"  client call / injected latency: {slow['client'] / latency:.3f}")
    total = args.clients * args.taxpayers
    say(f"simulator, {args.clients} concurrent clients, {total} taxpayers:")
    for phase in PHASES:
        say(f"  {phase:>10}: {rates[phase]:7.1f} calls/s")

    finish(
        "bureau",
        {
            "client_overhead_ratio": figure(
                slow["client"] / slow["baseline"],
                "ratio",
                "<= 1.05",
                baseline=f"bare requests POST, {args.latency_ms} ms injected latency",
            ),
            "client_call_over_latency": figure(
                slow["client"] / latency, "ratio", baseline="injected latency"
            ),
            "client_overhead_ms": figure((quiet["client"] - quiet["baseline"]) * 1000, "ms/call"),
            "client_overhead_ratio_no_latency": figure(
                quiet["client"] / quiet["baseline"], "ratio", baseline="bare requests POST"
            ),
            "sim_handshakes_per_s": figure(rates["handshake"], "1/s"),
            "sim_uploads_per_s": figure(rates["upload"], "1/s", clients=args.clients),
            "sim_clearings_per_s": figure(rates["clearing"], "1/s", ">= 200", clients=args.clients),
        },
    )


if __name__ == "__main__":
    main()
