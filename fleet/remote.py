"""The fleet acting on boxes: send a command and wait for its results; forget a box.

A command goes to ``qingka/<site>/<box>/cmd`` with an MQTT v5 response topic under the box's
``cmd/result`` and the request id as correlation data, so several operators never read each
other's answers. A ``clear`` answers twice: ``accepted`` at once, ``done`` with the outcome when
the job ended.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes

from appliance.clock import clock
from appliance.health.link import new_properties
from appliance.health.topics import BoxTopics
from fleet.connect import subscribe_and_wait
from fleet.errors import FleetSideError, PayloadError
from fleet.parse import CommandResult, parse_result

# Retained messages arrive right after SUBACK; this much silence means they all came.
QUIET_S = 0.8


class Collector:
    """Messages of one subscription, gathered on paho's thread."""

    def __init__(self) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.arrived = threading.Event()

    def __call__(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        """Keep one message (paho's on_message)."""
        with self.lock:
            self.messages.append(message)
            self.last = time.monotonic()
        self.arrived.set()

    def wait_quiet(self, quiet_s: float = QUIET_S, limit_s: float = 5.0) -> list[mqtt.MQTTMessage]:
        """Wait until nothing arrived for ``quiet_s`` (at most ``limit_s``); return all."""
        start = time.monotonic()
        while time.monotonic() - start < limit_s:
            with self.lock:
                if time.monotonic() - self.last >= quiet_s and time.monotonic() - start >= quiet_s:
                    break
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)


def retained(
    client: mqtt.Client, topics: list[str], limit_s: float = 5.0
) -> list[mqtt.MQTTMessage]:
    """Return the retained messages on ``topics`` (filters), read once."""
    gather = Collector()
    client.on_message = gather
    subscribe_and_wait(client, topics)
    with gather.lock:
        gather.last = time.monotonic()  # the quiet is counted from the confirmation
    messages = gather.wait_quiet(limit_s=limit_s)
    for topic in topics:
        client.unsubscribe(topic)
    client.on_message = None
    return [m for m in messages if m.retain]


def find_site(client: mqtt.Client, box: str) -> str:
    """Return the site of ``box`` from its retained status."""
    for message in retained(client, [f"qingka/+/{box}/status"]):
        return message.topic.split("/")[1]
    raise FleetSideError(
        f"no box {box} is known to the broker", f"运维平台上没有盒子 {box}", "G-404"
    )


def new_request_id(sender: str) -> str:
    """Return a fresh request id (at most 64 characters)."""
    return f"{sender[:30]}-{uuid.uuid4().hex[:16]}"


def command_payload(request_id: str, command: str, args: dict[str, Any]) -> bytes:
    """Return the bytes of one command, issued now."""
    body = {"id": request_id, "issued": clock().stamp(), "command": command, "args": args}
    return json.dumps(body, ensure_ascii=False).encode()


def send_command(
    client: mqtt.Client,
    topics: BoxTopics,
    command: str,
    args: dict[str, Any],
    *,
    sender: str = "fleet",
    timeout: float = 60.0,
    on_result: Callable[[CommandResult], None] | None = None,
) -> list[CommandResult]:
    """Send one command and return its results until the final one (or the timeout)."""
    request_id = new_request_id(sender)
    reply_to = f"{topics.cmd_result}/{sender[:30]}"
    results: list[CommandResult] = []
    final = threading.Event()

    def on_message(c: mqtt.Client, u: Any, message: mqtt.MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        if correlation is not None and correlation != request_id.encode():
            return
        try:
            result = parse_result(bytes(message.payload))
        except PayloadError:
            return
        if result.id != request_id:
            return
        results.append(result)
        if on_result is not None:
            on_result(result)
        if result.state != "accepted":
            final.set()

    client.on_message = on_message
    subscribe_and_wait(client, [reply_to])
    props = new_properties(PacketTypes.PUBLISH)
    props.ResponseTopic = reply_to
    props.CorrelationData = request_id.encode()
    client.publish(topics.cmd, command_payload(request_id, command, args), qos=1, properties=props)
    final.wait(timeout)
    client.unsubscribe(reply_to)
    client.on_message = None
    return results


def forget(client: mqtt.Client, box: str, discovery_prefix: str = "homeassistant") -> list[str]:
    """Empty every retained message of ``box`` (state, alerts, discovery); return the topics."""
    held = retained(client, [f"qingka/+/{box}/#", f"{discovery_prefix}/device/{box}/+/config"])
    topics = sorted({m.topic for m in held if m.payload})
    infos = [client.publish(topic, b"", qos=1, retain=True) for topic in topics]
    for info in infos:
        info.wait_for_publish(5)
    return topics
