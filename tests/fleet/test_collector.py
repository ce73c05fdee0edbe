"""Collectors on one shared subscription, against a real mosquitto and a real box publisher."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appliance.demo.fleet_broker import FLEET_USER, FleetBroker
from appliance.health.publisher import FleetPublisher
from fleet.collector import FleetCollector
from fleet.connect import BrokerAccess
from fleet.store import SqlStore, open_store
from tests.appliance.health.conftest import FakeDaemon, Watcher, fleet_config, new_box_id


def _access(broker: FleetBroker) -> BrokerAccess:
    return BrokerAccess.from_url(broker.url, broker.ca_file, FLEET_USER, broker.fleet_password)


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


@pytest.fixture
def box(tmp_path: Path, broker: FleetBroker) -> Iterator[FleetPublisher]:
    box_id = new_box_id("coll")
    broker.add_box(box_id)
    daemon = FakeDaemon(tmp_path)
    publisher = FleetPublisher(fleet_config(broker, box_id), daemon, tmp_path / "outbox.db")
    publisher.start()
    yield publisher
    publisher.stop()


def _emit(publisher: FleetPublisher, start: int, count: int) -> None:
    for n in range(start, start + count):
        publisher.event({"event": "warning", "device_no": "d1", "days_to_lock": n})


def test_two_collectors_share_the_load_and_lose_nothing(
    tmp_path: Path, broker: FleetBroker, box: FleetPublisher
) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    stores: list[SqlStore] = [open_store(url), open_store(url)]
    group = f"g{new_box_id('')}"
    names = [f"{group}-a", f"{group}-b"]
    a = FleetCollector(_access(broker), stores[0], group=group, name=names[0])
    b = FleetCollector(_access(broker), stores[1], group=group, name=names[1])
    assert not a.start() and not b.start(), "new sessions"
    site, box_id = box.config.site, box.config.box_id
    try:
        _emit(box, 0, 40)
        _wait(lambda: stores[0].event_count() >= 40, 20, "40 events stored")
        assert a.messages and b.messages, "the group split the messages"
        # Retained state arrived too (bootstrap, then the shared subscription).
        (view,) = [v for v in stores[0].boxes() if v.box == box_id]
        assert view.status == "online" and view.health is not None

        # A dies without a goodbye; B carries on.
        a.stop(graceful=False)
        assert a.client is not None
        sock = a.client.socket()
        if sock is not None:
            sock.close()
        _emit(box, 40, 30)
        _wait(lambda: stores[1].event_count() >= 50, 20, "B stores while A is dead")
        # A comes back with its session: what the broker held for it arrives; nothing twice.
        a2 = FleetCollector(_access(broker), open_store(url), group=group, name=names[0])
        assert a2.start(), "the broker kept A's session"
        _wait(lambda: stores[1].event_count() >= 70, 20, "all 70 events")
        events = stores[1].events(site, box_id)
        assert [e["days_to_lock"] for e in events] == list(range(70))
        assert len({e["id"] for e in events}) == 70
        a2.stop()
    finally:
        b.stop()
        for store in stores:
            store.close()


def test_a_collector_restart_loses_nothing(
    tmp_path: Path, broker: FleetBroker, box: FleetPublisher, watch: Callable[..., Watcher]
) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_store(url)
    group = f"r{new_box_id('')}"
    # No bootstrap: this test counts events, and the session broker holds every earlier
    # test's retained state, which would take seconds to read.
    first = FleetCollector(_access(broker), store, group=group, name=f"{group}-1", bootstrap=False)
    first.start()
    _emit(box, 0, 10)
    _wait(lambda: store.event_count() >= 10, 20, "10 events")
    first.stop()  # a clean stop: the session stays for SESSION_EXPIRY_S
    _emit(box, 10, 10)
    time.sleep(1.0)
    assert store.event_count() == 10
    again = FleetCollector(_access(broker), store, group=group, name=f"{group}-1", bootstrap=False)
    assert again.start()
    _wait(lambda: store.event_count() >= 20, 20, "the 10 held by the broker")
    again.stop()
    site, box_id = box.config.site, box.config.box_id
    assert [e["days_to_lock"] for e in store.events(site, box_id)] == list(range(20))
    # A garbled message is refused, counted, and does not block what follows.
    probe = watch([])
    probe.client.publish(f"qingka/{site}/{box_id}/events", b"{bad", qos=1).wait_for_publish(5)
    payload = json.dumps({"v": 1, "id": "x", "seq": 1, "box": "other", "site": site,
                          "at": "2026-11-05T10:00:00+08:00", "event": "step"})  # fmt: skip
    probe.client.publish(f"qingka/{site}/{box_id}/events", payload, qos=1).wait_for_publish(5)
    third = FleetCollector(_access(broker), store, group=group, name=f"{group}-1", bootstrap=False)
    third.start()
    _wait(lambda: third.refused >= 2, 10, "two refusals")
    third.stop()
    assert store.event_count() == 20
    store.close()
