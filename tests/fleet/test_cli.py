"""``qingka fleet`` against the real broker and a real store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.demo.fleet_broker import FleetBroker
from appliance.health.publisher import FleetPublisher
from fleet.parse import parse_health
from fleet.store import open_store
from tests.appliance.health.conftest import FakeDaemon, Watcher, fleet_config, new_box_id


def _broker_args(broker: FleetBroker) -> list[str]:
    return [
        "--broker", broker.url, "--ca", str(broker.ca_file),
        "--user", "fleet", "--password-file", str(broker.fleet_password_file),
    ]  # fmt: skip


def test_watch_forget_and_the_store(
    tmp_path: Path,
    broker: FleetBroker,
    watch: Callable[..., Watcher],
    capsys: pytest.CaptureFixture[str],
) -> None:
    box = new_box_id("cli")
    broker.add_box(box)
    daemon = FakeDaemon(tmp_path)
    publisher = FleetPublisher(
        fleet_config(broker, box, discovery=True), daemon, tmp_path / "outbox.db"
    )
    watcher = watch([f"qingka/site-t/{box}/health"])
    publisher.start()
    try:
        health = parse_health(watcher.last(f"qingka/site-t/{box}/health"))
    finally:
        publisher.stop()
    assert main(["fleet", "watch", *_broker_args(broker), "--once", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (row,) = [r for r in rows if r["box"] == box]
    assert row["online"] is False, "the box said offline when it stopped"

    store_url = f"sqlite:///{tmp_path / 'fleet.db'}"
    with open_store(store_url) as store:
        store.health(health, 1.0)
    assert main(["fleet", "watch", "--store", store_url, "--once", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["box"] == box

    assert main(["fleet", "forget", box, *_broker_args(broker)]) == 0
    emptied = capsys.readouterr().out.split()
    assert f"qingka/site-t/{box}/status" in emptied
    assert f"homeassistant/device/{box}/box/config" in emptied
    assert main(["fleet", "watch", *_broker_args(broker), "--once", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert box not in {r["box"] for r in rows}


def test_clear_names_an_unknown_box(
    broker: FleetBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fleet", "clear", "no-such-box", *_broker_args(broker)]) == 2
    assert "no-such-box" in capsys.readouterr().err
