"""The real publisher in-process against a real mosquitto: ACL, outages, order, Home Assistant."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from appliance.demo.fleet_broker import FleetBroker
from appliance.health.outbox import Outbox
from appliance.health.publisher import FleetPublisher
from fleet.connect import BrokerAccess, connect_and_wait, make_client
from fleet.errors import BrokerError
from tests.appliance.health.conftest import FakeDaemon, Watcher, fleet_config, new_box_id
from tests.appliance.health.relay import Relay
from tests.waiting import wait_until


def _device_row(number: str, stage: str = "cleared", days: int = 30) -> dict:
    return {
        "url": f"sim://x?n={number}",
        "present": True,
        "clearing": False,
        "error": None,
        "last_outcome": None,
        "device": {
            "device_no": number,
            "family": "税务UKey",
            "taxpayer_id_masked": "9142**********000A",
            "clock": None,
            "types": [
                {"type": "007", "stage": stage, "lock_date": "2026-11-16", "days_to_lock": days}
            ],
        },
    }


@pytest.fixture
def publishers() -> Iterator[list[FleetPublisher]]:
    made: list[FleetPublisher] = []
    yield made
    for publisher in made:
        publisher.stop()


def _box_client(broker: FleetBroker, box_id: str) -> tuple[mqtt.Client, list]:
    identity = broker.boxes[box_id]
    access = BrokerAccess.from_url(broker.url, broker.ca_file, box_id, identity.password)
    client = make_client(access, f"{box_id}-probe")
    events: list = []
    client.on_publish = lambda c, u, mid, rc, p: events.append(("puback", mid, rc.value))
    client.on_message = lambda c, u, m: events.append(("message", m.topic))
    connect_and_wait(client, access)
    return client, events


def test_a_box_cannot_write_into_another_box_nor_read_its_commands(
    broker: FleetBroker, watch: Callable[..., Watcher]
) -> None:
    a, b = new_box_id("acl"), new_box_id("acl")
    broker.add_box(a)
    broker.add_box(b)
    client, events = _box_client(broker, a)
    subscribed = threading.Event()
    client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
    client.subscribe(f"qingka/site-t/{b}/cmd", qos=1)
    assert subscribed.wait(5)
    spy = watch([f"qingka/site-t/{b}/#", f"homeassistant/device/{b}/#"])
    foreign = client.publish(f"qingka/site-t/{b}/status", b"offline", qos=1, retain=True).mid
    foreign_ha = client.publish(f"homeassistant/device/{b}/1/config", b"{}", qos=1).mid
    own = client.publish(f"qingka/site-t/{a}/status", b"online", qos=1).mid
    # The fleet sends B a command: A, subscribed to it, must not receive it.
    spy.client.publish(f"qingka/site-t/{b}/cmd", b"{}", qos=1).wait_for_publish(5)
    wait_until(lambda: len([e for e in events if e[0] == "puback"]) >= 3, 15, "three PUBACKs")
    time.sleep(0.5)  # room for a wrongly delivered command to show up
    acks = {mid: code for kind, mid, *rest in events if kind == "puback" for code in rest}
    assert acks[foreign] == 135 and acks[foreign_ha] == 135, "v5 PUBACK: Not authorized"
    assert acks[own] in (0, 16), "its own subtree is allowed (16: no subscriber)"
    assert not [e for e in events if e[0] == "message"], "B's command reached A"
    assert [m.topic for m in spy.messages] == [f"qingka/site-t/{b}/cmd"]
    client.disconnect()
    client.loop_stop()


def test_a_box_refused_a_wrong_password(broker: FleetBroker) -> None:
    box = new_box_id("pw")
    broker.add_box(box)
    access = BrokerAccess.from_url(broker.url, broker.ca_file, box, "wrong")
    client = make_client(access, box)
    with pytest.raises(BrokerError, match="refused"):
        connect_and_wait(client, access)


def _events_seen(watcher: Watcher, topic: str) -> list[dict]:
    return [json.loads(m.payload) for m in watcher.on(topic)]


def test_outages_lose_nothing_and_keep_the_order(
    tmp_path: Path, publishers: list[FleetPublisher]
) -> None:
    broker = FleetBroker(tmp_path / "broker")
    box = new_box_id("outage")
    broker.add_box(box)
    broker.start()
    relay = Relay(("127.0.0.1", broker.password_port))
    try:
        daemon = FakeDaemon(tmp_path)
        daemon.devices = [_device_row("661100000001")]
        config = fleet_config(broker, box, port=relay.port)
        publisher = FleetPublisher(config, daemon, tmp_path / "outbox.db")
        publishers.append(publisher)
        events_topic = f"qingka/site-t/{box}/events"
        watcher = Watcher(broker, [events_topic], client_id=f"{box}-watch", persistent=True)
        publisher.start()

        def emit(count: int, start: int) -> None:
            for n in range(start, start + count):
                publisher.event(
                    {"event": "warning", "device_no": "661100000001", "days_to_lock": n}
                )

        emit(5, 0)
        watcher.wait_for(lambda ms: len(ms) >= 5, 15, "five events")
        # The box hears the broker's PUBACK a moment after the watcher hears the event.
        wait_until(lambda: publisher.outbox.depth()[0] == 0, 10, "the first five acknowledged")

        # 1. The network dies silently: events queue on the box's flash.
        relay.blackhole()
        emit(5, 5)
        time.sleep(4)  # keepalive 2 s: the box notices and keeps retrying into the hole
        wait_until(lambda: publisher.outbox.depth()[0] == 5, 10, "five events queued")
        relay.restore()
        watcher.wait_for(lambda ms: len(ms) >= 10, 30, "events after the black hole")

        # 2. The broker restarts (persisting the watcher's session); events queue meanwhile.
        broker.stop()
        emit(5, 10)
        time.sleep(1.0)
        broker.start()
        watcher.wait_for(lambda ms: len(ms) >= 15, 30, "events after the broker restart")
        emit(5, 15)
        seen = watcher.wait_for(
            lambda ms: ms if len({json.loads(m.payload)["id"] for m in ms}) >= 20 else None, 20
        )
        values = list(dict.fromkeys(json.loads(m.payload)["days_to_lock"] for m in seen))
        assert values == list(range(20)), "in order, none lost (a repeat keeps its id)"
        assert publisher.link.reconnects >= 2
        wait_until(lambda: publisher.outbox.depth()[0] == 0, 10, "the outbox to empty")
        watcher.close()
    finally:
        relay.close()
        broker.stop()


def test_events_in_order_across_the_black_hole(
    tmp_path: Path, broker: FleetBroker, publishers: list[FleetPublisher]
) -> None:
    box = new_box_id("order")
    broker.add_box(box)
    relay = Relay(("127.0.0.1", broker.password_port))
    daemon = FakeDaemon(tmp_path)
    publisher = FleetPublisher(
        fleet_config(broker, box, port=relay.port), daemon, tmp_path / "o.db"
    )
    publishers.append(publisher)
    topic = f"qingka/site-t/{box}/events"
    watcher = Watcher(broker, [topic], client_id=f"{box}-w")
    try:
        publisher.start()
        for n in range(40):
            publisher.event({"event": "warning", "device_no": "1", "days_to_lock": n})
            if n == 15:
                relay.blackhole()
        time.sleep(3.5)
        relay.restore()
        seen = watcher.wait_for(
            lambda ms: ms if len({json.loads(m.payload)["id"] for m in ms}) >= 40 else None, 30
        )
        values = [json.loads(m.payload)["days_to_lock"] for m in seen]
        unique = list(dict.fromkeys(values))
        assert unique == list(range(40)), "in order, none lost (repeats allowed, same id)"
        seqs = [json.loads(m.payload)["seq"] for m in seen]
        assert sorted(set(seqs)) == list(range(1, 41))
    finally:
        watcher.close()
        relay.close()


def test_a_full_outbox_drops_the_oldest_and_says_how_many(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.db", max_events=10)
    for n in range(25):
        outbox.put("b", float(n), lambda event_id, seq, n=n: str(n).encode())
    assert outbox.depth() == (10, 15.0)
    assert [p for _, p in outbox.pending(0, 100)] == [str(n).encode() for n in range(15, 25)]
    assert outbox.take_dropped() == 15
    assert outbox.take_dropped() == 0
    outbox.close()
    reopened = Outbox(tmp_path / "o.db", max_events=10)
    assert reopened.depth()[0] == 10, "queued events survive a restart"
    seq, event_id = reopened.put("b", 99.0, lambda i, s: b"x")
    assert seq == 26 and event_id.endswith("-26")


def test_home_assistant_birth_republishes_discovery(
    tmp_path: Path,
    broker: FleetBroker,
    publishers: list[FleetPublisher],
    watch: Callable[..., Watcher],
) -> None:
    box = new_box_id("ha")
    broker.add_box(box)
    daemon = FakeDaemon(tmp_path)
    daemon.devices = [_device_row("661100000009", stage="needs-report", days=2)]
    publisher = FleetPublisher(fleet_config(broker, box), daemon, tmp_path / "o.db")
    publishers.append(publisher)
    topic = f"homeassistant/device/{box}/661100000009/config"
    watcher = watch([topic, f"qingka/site-t/{box}/alerts/#"])
    publisher.start()
    watcher.last(topic)
    alert = json.loads(watcher.last(f"qingka/site-t/{box}/alerts/lock-soon-661100000009"))
    assert alert["severity"] == "warning" and alert["code"] == "F-101"
    count = len(watcher.on(topic))
    watcher.client.publish("homeassistant/status", b"online", qos=1).wait_for_publish(5)
    watcher.wait_for(lambda ms: len([m for m in ms if m.topic == topic]) > count, 10, "rediscovery")
    # The device is cleared: the alert is emptied.
    daemon.devices = [_device_row("661100000009")]
    publisher.event({"event": "outcome", "url": "sim://x?n=661100000009", "kind": "done"})
    watcher.wait_for(
        lambda ms: [m for m in ms if m.topic.endswith("lock-soon-661100000009") and not m.payload],
        15,
        "the alert emptied",
    )


def test_events_left_in_the_spool_reach_the_fleet_and_garbage_is_set_aside(
    tmp_path: Path,
    broker: FleetBroker,
    publishers: list[FleetPublisher],
    watch: Callable[..., Watcher],
) -> None:
    box = new_box_id("spool")
    broker.add_box(box)
    spool = tmp_path / "events" / "spool"
    spool.mkdir(parents=True)
    event = {"id": "p" * 32, "event": "provisioned", "result": "applied", "code": "P-000"}
    (spool / "20261105T100000-aaaa.json").write_text(json.dumps(event))
    (spool / "20261105T100001-bbbb.json").write_bytes(b'{"event": "provisioned", "res')
    (spool / "20261105T100002-cccc.json").write_bytes(b"x" * 20_000)
    watcher = watch([f"qingka/site-t/{box}/events"])
    publisher = FleetPublisher(fleet_config(broker, box), FakeDaemon(tmp_path), tmp_path / "o.db")
    publishers.append(publisher)
    publisher.start()
    payload = watcher.wait_for(
        lambda ms: [json.loads(m.payload) for m in ms if b'"provisioned"' in m.payload],
        15,
        "the spooled event",
    )
    assert payload[0]["result"] == "applied" and payload[0]["code"] == "P-000"
    assert payload[0]["box"] == box
    assert sorted(p.name for p in spool.iterdir()) == [
        "20261105T100001-bbbb.bad",
        "20261105T100002-cccc.bad",
    ]


def _journal_row(outcome_id: int, number: str = "") -> dict:
    number = number or f"66110000000{outcome_id}"
    return {
        "outcome_id": outcome_id,
        "url": f"sim://x?n={number}",
        "at": f"2026-11-05T10:00:0{outcome_id}.000+08:00",
        "device_no": number,
        "kind": "done",
        "code": "J-000",
        "period": 202610,
        "message_zh": "清卡成功",
    }


class _OutcomeBox:
    """A box whose journal the test writes, its publishers one after the other, and a watcher."""

    def __init__(self, tmp_path: Path, broker: FleetBroker, watch: Callable[..., Watcher]) -> None:
        self.box = new_box_id("late")
        broker.add_box(self.box)
        self.config = fleet_config(broker, self.box)
        self.watcher = watch([f"qingka/site-t/{self.box}/events"])
        self.daemon = FakeDaemon(tmp_path)
        self.outbox = tmp_path / "o.db"
        self.publisher: FleetPublisher | None = None
        self.marks = 0

    def start(self) -> FleetPublisher:
        """Stop the running publisher (as a daemon stops) and start a new one."""
        if self.publisher is not None:
            self.publisher.stop()
        self.publisher = FleetPublisher(self.config, self.daemon, self.outbox)
        self.publisher.start()
        return self.publisher

    def announce(self, outcome_id: int) -> None:
        """Journal nothing; announce an outcome the test journaled, as the daemon does."""
        assert self.publisher is not None
        self.publisher.event({"event": "outcome", **_journal_row(outcome_id)})

    def settle(self) -> list[dict]:
        """Wait until everything queued so far arrived; return the outcome events, once each.

        Events leave in order: once a marker queued last arrived, nothing before it is to come.
        QoS 1 may deliver an event twice, with its id: distinct ids are distinct events.
        """
        assert self.publisher is not None
        self.marks += 1
        number = f"mark-{self.marks}"
        self.publisher.event({"event": "device", "url": number, "device_no": number, "present": 1})
        marker = f'"{number}"'.encode()
        self.watcher.wait_for(lambda ms: any(marker in m.payload for m in ms), 15, number)
        bodies: dict[str, dict] = {}
        for message in self.watcher.messages:
            body = json.loads(message.payload)
            if body.get("event") == "outcome":
                bodies.setdefault(body["id"], body)
        return list(bodies.values())

    def stop(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()


@pytest.fixture
def outcome_box(
    tmp_path: Path, broker: FleetBroker, watch: Callable[..., Watcher]
) -> Iterator[_OutcomeBox]:
    made = _OutcomeBox(tmp_path, broker, watch)
    yield made
    made.stop()


def test_an_outcome_the_journal_holds_and_the_outbox_missed_is_sent_late_once(
    outcome_box: _OutcomeBox,
) -> None:
    """The power went between the journal's outcome and the outbox's event: it goes out late."""
    b = outcome_box
    b.daemon.journaled.append(_journal_row(1))
    b.start()
    # A live outcome: journaled, then announced.
    b.daemon.journaled.append(_journal_row(2))
    b.announce(2)
    assert [e["outcome_id"] for e in b.settle()] == [2]
    # Journaled, and the power went before the daemon told the publisher.
    b.daemon.journaled.append(_journal_row(3))
    b.start()
    # An outcome the outbox took already (its journal id says so) is not queued again.
    b.announce(2)
    sent = b.settle()
    assert [event["device_no"] for event in sent] == ["661100000002", "661100000003"]
    assert "late" not in sent[0]
    assert sent[1]["late"] is True and sent[1]["outcome_at"] == "2026-11-05T10:00:03.000+08:00"
    assert sent[1]["kind"] == "done" and sent[1]["code"] == "J-000"


def test_a_box_joining_the_fleet_does_not_replay_its_history(outcome_box: _OutcomeBox) -> None:
    b = outcome_box
    b.daemon.journaled.extend(_journal_row(n) for n in (1, 2, 3))
    publisher = b.start()
    assert b.settle() == []
    assert publisher.outbox.outcomes_floor() == 3


def test_outcomes_announced_out_of_order_all_go_out_once(outcome_box: _OutcomeBox) -> None:
    """Two devices' jobs end together: the later record can be announced first."""
    b = outcome_box
    b.start()
    b.daemon.journaled.extend([_journal_row(1), _journal_row(2)])
    b.announce(2)
    b.announce(1)
    assert sorted(e["outcome_id"] for e in b.settle()) == [1, 2]
    b.daemon.journaled.append(_journal_row(3))
    publisher = b.start()
    sent = b.settle()
    assert sorted(e["outcome_id"] for e in sent) == [1, 2, 3]
    assert [e.get("late", False) for e in sent] == [False, False, True]
    # Settled: every outcome up to the last is counted, no id is kept below it.
    assert publisher.outbox.outcomes_floor() == 3
    assert publisher.outbox.queued_outcomes() == set()
