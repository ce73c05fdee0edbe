"""The alerting rules under promtool, and a real Prometheus scraping a real collector."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import generate_latest

import fleet
from appliance.demo.fleet_broker import FLEET_USER, FleetBroker
from appliance.health.publisher import FleetPublisher
from fleet.collector import FleetCollector
from fleet.connect import BrokerAccess
from fleet.metrics import registry_for, serve
from fleet.store import open_store
from tests.appliance.health.conftest import FakeDaemon, fleet_config, new_box_id

RULES = Path(fleet.__file__).parent / "prometheus"
DASHBOARD = Path(fleet.__file__).parent / "grafana" / "qingka-fleet.json"
METRICS = (
    "qingka_box_online", "qingka_device_days_to_lock", "qingka_device_stage",
    "qingka_device_needs_person", "qingka_device_last_outcome", "qingka_alert_active",
    "qingka_box_outbox_depth", "qingka_box_reconnects", "qingka_collector_lag_seconds",
    "qingka_collector_messages_total",
)  # fmt: skip

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing (Debian package prometheus)"
)


@needs_promtool
def test_the_rules_pass_their_unit_tests() -> None:
    subprocess.run(["promtool", "check", "rules", "rules.yml"], cwd=RULES, check=True)
    result = subprocess.run(
        ["promtool", "test", "rules", "rules_test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_reads_only_metrics_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        for name in re.findall(r"qingka_[a-z_]+", expr):
            assert name in METRICS, name


def _row(number: str) -> dict:
    return {
        "url": f"sim://x?n={number}",
        "present": True,
        "error": None,
        "last_outcome": {"kind": "needs-human", "code": "B-211"},
        "device": {
            "device_no": number,
            "family": "税务UKey",
            "types": [{"type": "007", "stage": "needs-report", "lock_date": "2026-11-07",
                       "days_to_lock": 2}],
        },
    }  # fmt: skip


@needs_promtool
def test_prometheus_scrapes_a_collector(tmp_path: Path, broker: FleetBroker) -> None:
    box_id = new_box_id("prom")
    broker.add_box(box_id)
    daemon = FakeDaemon(tmp_path)
    daemon.devices = [_row("661100000077")]
    publisher = FleetPublisher(fleet_config(broker, box_id), daemon, tmp_path / "outbox.db")
    publisher.start()
    store = open_store(f"sqlite:///{tmp_path / 'fleet.db'}")
    access = BrokerAccess.from_url(broker.url, broker.ca_file, FLEET_USER, broker.fleet_password)
    collector = FleetCollector(access, store, group=f"p{box_id}", name=f"{box_id}-c")
    collector.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        prom_port = probe.getsockname()[1]
    serve(collector, "127.0.0.1", metrics_port)
    prometheus = None
    try:
        deadline = time.monotonic() + 20
        while not [v for v in store.boxes() if v.box == box_id and v.health]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        exposition = generate_latest(registry_for(collector))
        check = subprocess.run(
            ["promtool", "check", "metrics"], input=exposition, capture_output=True
        )
        # Its one finding is deliberate: days to lock are counted in days, as the rules read them.
        findings = [line for line in check.stderr.decode().splitlines() if line.strip()]
        assert findings == [
            'qingka_device_days_to_lock use base unit "seconds" instead of "days"'
        ], findings
        (tmp_path / "rules.yml").write_text((RULES / "rules.yml").read_text())
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yml]\n"
            "scrape_configs:\n"
            "  - job_name: qingka\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
        )
        prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
        )  # fmt: skip
        query = (
            f"http://127.0.0.1:{prom_port}/api/v1/query?query="
            f"qingka_device_needs_person%7Bbox%3D%22{box_id}%22%7D"
        )
        deadline = time.monotonic() + 30
        result: list = []
        while not result:
            assert time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()[-2000:]
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(query, timeout=2) as answer:
                    result = json.loads(answer.read())["data"]["result"]
            except OSError:
                continue
        assert result[0]["metric"]["device"] == "661100000077" and result[0]["value"][1] == "1"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=2
        ) as answer:
            groups = json.loads(answer.read())["data"]["groups"]
        assert {r["name"] for g in groups for r in g["rules"]} == {
            "QingkaDeviceLocksSoon", "QingkaBoxOfflineBeforeDeadline", "QingkaDeviceNeedsPerson"
        }  # fmt: skip
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(20)
        collector.stop()
        publisher.stop()
        store.close()
