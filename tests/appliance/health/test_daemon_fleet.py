"""The real daemon reporting to a real mosquitto: retained state, Last Will, commands."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes

from appliance.api.client import ApiClient
from appliance.demo.fleet_broker import FleetBroker
from appliance.health.commands import MAX_COMMAND_BYTES
from appliance.health.link import new_properties
from appliance.health.topics import BoxTopics
from fleet.parse import parse_health
from fleet.remote import command_payload, send_command
from simulators.bureau import BureauProcess
from tests.appliance.health.conftest import BoxDaemon, Watcher, new_box_id


def _health_with_device(watcher: Watcher, topic: str) -> dict:
    def check(messages: list) -> dict | None:
        for message in reversed([m for m in messages if m.topic == topic]):
            health = json.loads(message.payload)
            if health["devs"]:
                return health
        return None

    return watcher.wait_for(check, 30, "health with a device")


def test_late_subscriber_sees_retained_state_and_the_will_after_kill_9(
    tmp_path: Path, broker: FleetBroker, bureau: BureauProcess, watch: Callable[..., Watcher]
) -> None:
    box = BoxDaemon(tmp_path, broker, bureau, box_id=new_box_id(), scenario="locked")
    live = watch([f"{box.root}/#"])
    box.start()
    try:
        health = _health_with_device(live, f"{box.root}/health")
        (number,) = health["devs"]
        device = health["devs"][number]
        assert device["locked"] is True and device["stage"] != "cleared"
        assert device["tp"].count("*") >= 8, "the taxpayer id leaves the box masked"
        alert_topic = f"{box.root}/alerts/lock-soon-{number}"
        live.last(alert_topic)

        # A subscriber that arrives later gets the retained state at once.
        late = watch([f"{box.root}/#"])
        retained = late.wait_for(
            lambda ms: (
                {m.topic: m for m in ms if m.retain}
                if {f"{box.root}/status", f"{box.root}/health", alert_topic}
                <= {m.topic for m in ms if m.retain}
                else None
            ),
            10,
            "retained status, health and alert",
        )
        assert bytes(retained[f"{box.root}/status"].payload) == b"online"
        assert parse_health(bytes(retained[f"{box.root}/health"].payload)).devices[number]
        availability = f"{box.root}/devices/{number}/availability"
        assert bytes(retained[availability].payload) == b"online"
        alert = json.loads(retained[alert_topic].payload)
        assert alert["severity"] == "critical" and alert["device_no"] == number

        # kill -9: no goodbye from the box, the broker publishes its Last Will.
        before = len(live.on(f"{box.root}/status"))
        box.kill()
        live.wait_for(
            lambda ms: (
                [m for m in ms if m.topic == f"{box.root}/status"][before:]
                and bytes([m for m in ms if m.topic == f"{box.root}/status"][-1].payload)
                == b"offline"
            ),
            15,
            "the Last Will",
        )
        box.start()
        assert live.wait_for(
            lambda ms: (
                bytes([m for m in ms if m.topic == f"{box.root}/status"][-1].payload) == b"online"
            ),
            20,
            "online after the restart",
        )
    finally:
        box.stop()
    # The box had its goodbye acknowledged; the watcher hears it a moment later.
    live.wait_for(
        lambda ms: (
            bytes([m for m in ms if m.topic == f"{box.root}/status"][-1].payload) == b"offline"
        ),
        10,
        "a clean stop says offline itself",
    )


def test_fleet_clear_runs_a_job_and_bad_commands_change_nothing(
    tmp_path: Path, broker: FleetBroker, bureau: BureauProcess, watch: Callable[..., Watcher]
) -> None:
    box = BoxDaemon(tmp_path, broker, bureau, box_id=new_box_id(), scenario="locked", index=2)
    live = watch([f"{box.root}/#"])
    box.start()
    topics = BoxTopics(box.site, box.box_id)
    try:
        health = _health_with_device(live, topics.health)
        (number,) = health["devs"]
        fleet = watch([])
        client = fleet.client

        # Each bad command gets a refusal and changes nothing.
        def raw(payload: bytes) -> None:
            client.publish(topics.cmd, payload, qos=1).wait_for_publish(5)

        raw(b"not json")
        raw(command_payload("u1", "reboot", {}))
        raw(b'{"id":"big","pad":"' + b"x" * MAX_COMMAND_BYTES + b'"}')
        stale = {"id": "old-1", "issued": "2020-01-01T00:00:00+08:00", "command": "clear"}
        raw(json.dumps(stale).encode())
        raw(command_payload("pol-1", "set-policy", {"policy": "sometimes"}))
        raw(command_payload("dup-1", "refresh", {}))
        raw(command_payload("dup-1", "clear", {}))  # a replayed request id
        codes = live.wait_for(
            lambda ms: (
                [
                    json.loads(m.payload)["error"]["code"]
                    for m in ms
                    if m.topic == topics.cmd_result and json.loads(m.payload)["state"] == "refused"
                ]
                if len([m for m in ms if m.topic == topics.cmd_result]) >= 7
                else None
            ),
            15,
            "seven results",
        )
        assert sorted(codes) == sorted(["F-400", "F-404", "F-413", "F-408", "F-400", "F-409"])
        refreshed = [m for m in live.on(topics.cmd_result) if json.loads(m.payload)["ok"]]
        assert [json.loads(m.payload)["id"] for m in refreshed] == ["dup-1"]
        refused = [json.loads(m.payload) for m in live.on(topics.cmd_result)]
        assert {"u1", "old-1", "pol-1", "dup-1"} <= {r["id"] for r in refused if not r["ok"]}

        # A refusal answers its id: the fleet tool hears it at once instead of timing out.
        started = time.monotonic()
        results = send_command(client, topics, "clear", {"device": "bad device!"}, timeout=30)
        assert [r.state for r in results] == ["refused"]
        assert time.monotonic() - started < 20
        # A filter as the response topic cannot be published to: the result goes to cmd/result.
        props = new_properties(PacketTypes.PUBLISH)
        props.ResponseTopic = f"{topics.cmd_result}/#"
        wild = command_payload("wild-1", "refresh", {})
        client.publish(topics.cmd, wild, qos=1, properties=props).wait_for_publish(5)
        live.wait_for(
            lambda ms: [m for m in ms if m.topic == topics.cmd_result and b'"wild-1"' in m.payload],
            15,
            "the answer to a command with a wildcard response topic",
        )
        with ApiClient(box.socket) as api:
            status = api.call("status")
            assert status["policy"] == "button-only"
            assert api.call("history") == []
        assert not [m for m in live.messages if m.topic == topics.events and b'"step"' in m.payload]

        # A good clear: accepted at once, then the outcome of the job.
        results = send_command(client, topics, "clear", {"device": number}, timeout=60)
        assert [r.state for r in results] == ["accepted", "done"]
        (outcome,) = results[1].body["result"]["outcomes"]
        assert outcome["kind"] == "done" and outcome["device_no"] == number
        # Step events leave through the outbox, the command's result does not: the result
        # can arrive first, so wait for the last step rather than for any.
        steps = live.wait_for(
            lambda ms: (
                found
                if (
                    found := [
                        json.loads(m.payload)["step"]
                        for m in ms
                        if m.topic == topics.events and json.loads(m.payload)["event"] == "step"
                    ]
                )
                and "done" in found
                else None
            ),
            15,
            "the job's last step",
        )
        assert steps[-1] == "done" and steps[0] != "done"
        # The lock-soon alert is emptied once the device is cleared.
        alert = f"{topics.root}/alerts/lock-soon-{number}"
        live.wait_for(lambda ms: [m for m in ms if m.topic == alert and not m.payload], 15)
        with ApiClient(box.socket) as api:
            assert api.call("history")[0]["kind"] == "done"

        # An update whose server cannot be reached: accepted, then refused in plain words.
        update = {"url": "https://127.0.0.1:9/qingka.raucb", "sha256": "0" * 64}
        results = send_command(client, topics, "update", update, timeout=60)
        assert [r.state for r in results] == ["accepted", "refused"]
        error = results[1].body["error"]
        assert error["code"].startswith("U-")
        assert error["message_zh"] and error["message_en"]
        updates = box.folder / "box" / "updates"
        assert not updates.exists() or not any(updates.iterdir())  # no partial download left
    finally:
        box.stop()


@pytest.mark.parametrize("certificate", [True])
def test_a_box_logs_in_with_its_client_certificate(
    tmp_path: Path,
    broker: FleetBroker,
    bureau: BureauProcess,
    watch: Callable[..., Watcher],
    certificate: bool,
) -> None:
    box = BoxDaemon(tmp_path, broker, bureau, box_id=new_box_id("cert"), certificate=True)
    live = watch([f"{box.root}/status"])
    box.start()
    try:
        assert live.last(f"{box.root}/status", 20) == b"online"
        with ApiClient(box.socket) as api:
            view = api.call("diagnostics")["fleet"]
        deadline = time.monotonic() + 10
        while view["last_publish"] is None and time.monotonic() < deadline:
            time.sleep(0.2)
            with ApiClient(box.socket) as api:
                view = api.call("diagnostics")["fleet"]
        assert view["reachable"] is True and view["last_publish"] is not None
        assert view["broker"] == broker.cert_url.replace("localhost", "localhost")
    finally:
        box.stop()
