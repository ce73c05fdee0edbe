"""One box's connection to the fleet broker: TLS, identity, Last Will, keepalive and backoff.

Each connection attempt uses a fresh paho client (``CallbackAPIVersion.VERSION2``) with its own
network thread, so nothing paho kept in memory survives a lost connection: the outbox alone decides
what is sent again, in order. Subscriptions are made in ``on_connect`` (a new session has none).
MQTT v5 first; when the broker refuses the protocol version, 3.1.1. Between attempts the link
waits with exponential backoff and jitter, so a fleet that lost its broker does not come back
all at the same instant.

Every callback only hands its news to :class:`LinkListener`, which must not block: paho calls
them on its network thread, sometimes holding its own locks.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from appliance.health.config import FleetConfig
from appliance.health.payloads import now_iso
from appliance.health.topics import STATUS_OFFLINE, BoxTopics

_log = logging.getLogger("qingka.fleet")

# v5 CONNACK reason "Unsupported Protocol Version": the broker speaks 3.1.1 only.
UNSUPPORTED_PROTOCOL = 132
# A connection that lasted this long resets the backoff.
STABLE_S = 30.0
CONNECT_TIMEOUT_S = 10.0


# What the box accepts from the broker in one packet (commands, Home Assistant's status).
MAX_INCOMING_PACKET_BYTES = 64 * 1024


def new_properties(packet_type: int) -> Properties:
    """Return empty MQTT v5 properties for one packet type (paho's constructor is untyped)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


class LinkListener(Protocol):
    """Who hears what happens on the link (called on paho's thread: must not block)."""

    def link_up(self, generation: int) -> None:
        """A connection was accepted and its subscriptions are requested."""

    def link_down(self, generation: int, reason: str) -> None:
        """The connection ``generation`` is gone."""

    def link_acked(self, generation: int, mid: int, refused: str | None) -> None:
        """The broker acknowledged a QoS 1 message (``refused``: its v5 refusal, if any)."""

    def link_message(self, topic: str, payload: bytes, properties: Properties | None) -> None:
        """A message arrived on a subscribed topic."""


@dataclass(frozen=True)
class Published:
    """A message handed to paho on one connection."""

    generation: int
    mid: int


class Link:
    """The connection loop of one box."""

    def __init__(self, config: FleetConfig, topics: BoxTopics, listener: LinkListener) -> None:
        self.config = config
        self.topics = topics
        self.listener = listener
        self.protocol = "5" if config.protocol in ("auto", "5") else "3.1.1"
        self.generation = 0
        self.connected = False
        self.connected_since: str | None = None
        self.session_start = ""
        self.reconnects = 0
        self.attempts = 0
        self.last_error: str | None = None
        self.delay = config.reconnect_min_s
        self._client: mqtt.Client | None = None
        self._stop = threading.Event()
        self._ended = threading.Event()  # the current connection is over
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fleet link", daemon=True)

    # -- the caller's side ------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting (returns at once)."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` on the status topic, disconnect and end the thread."""
        self._stop.set()
        with self._lock:
            client = self._client
        if client is not None and self.connected:
            info = client.publish(
                self.topics.status,
                STATUS_OFFLINE,
                qos=1,
                retain=True,
                properties=self._status_props(),
            )
            try:
                info.wait_for_publish(timeout=min(timeout, 2.0))
            except (RuntimeError, ValueError):
                pass  # the connection went meanwhile: the Last Will says offline instead
            client.disconnect()
        self._thread.join(timeout)

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> Published | None:
        """Hand a message to the current connection; None when there is none."""
        with self._lock:
            client, generation, up = self._client, self.generation, self.connected
        if client is None or not up:
            return None
        if properties is not None and self.protocol != "5":
            properties = None
        info = client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return Published(generation, info.mid)

    def status_properties(self) -> Properties | None:
        """Return the properties of a status message (None on 3.1.1)."""
        return self._status_props()

    # -- the link's thread ------------------------------------------------------------------------

    def _status_props(self) -> Properties | None:
        if self.protocol != "5":
            return None
        props = new_properties(PacketTypes.PUBLISH)
        # The start of this session: a fleet collector that sees "offline" and "online" out of
        # order keeps the newer session's word.
        props.UserProperty = [("session", self.session_start)]
        return props

    def _new_client(self) -> mqtt.Client:
        version = (
            MQTTProtocolVersion.MQTTv5 if self.protocol == "5" else MQTTProtocolVersion.MQTTv311
        )
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.box_id,
            protocol=version,
            reconnect_on_failure=False,
            clean_session=True if version == MQTTProtocolVersion.MQTTv311 else None,
        )
        client.connect_timeout = CONNECT_TIMEOUT_S
        context = ssl.create_default_context(cafile=str(self.config.ca_file))
        if self.config.client_cert is not None and self.config.client_key is not None:
            context.load_cert_chain(str(self.config.client_cert), str(self.config.client_key))
        client.tls_set_context(context)
        if self.config.password is not None:
            client.username_pw_set(self.config.username, self.config.password)
        self.session_start = now_iso()
        client.will_set(
            self.topics.status, STATUS_OFFLINE, qos=1, retain=True, properties=self._will_props()
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _will_props(self) -> Properties | None:
        if self.protocol != "5":
            return None
        props = new_properties(PacketTypes.WILLMESSAGE)
        props.UserProperty = [("session", self.session_start)]
        return props

    def _run(self) -> None:
        while not self._stop.is_set():
            client = self._new_client()
            with self._lock:
                self._client = client
            self.attempts += 1
            started = time.monotonic()
            try:
                if self.protocol == "5":
                    props = new_properties(PacketTypes.CONNECT)
                    props.SessionExpiryInterval = 0
                    # The broker must not send more than this: a command is at most a few KiB,
                    # and a huge one would be held whole in memory before it could be refused.
                    props.MaximumPacketSize = MAX_INCOMING_PACKET_BYTES
                    client.connect(
                        self.config.host,
                        self.config.port,
                        self.config.keepalive_s,
                        clean_start=True,
                        properties=props,
                    )
                else:
                    client.connect(self.config.host, self.config.port, self.config.keepalive_s)
                # paho's own network thread: with a loop run elsewhere, a publish from another
                # thread would write to the socket itself, interleaving with the loop's writes.
                client.loop_start()
                while not self._ended.wait(0.5) and not self._stop.is_set():
                    if not self.connected and time.monotonic() - started > 2 * CONNECT_TIMEOUT_S:
                        self._failed("no CONNACK from the broker")
                        break
                if self._stop.is_set():
                    self._ended.wait(3.0)  # stop() is saying goodbye on this connection
                client.loop_stop()
            except (OSError, ssl.SSLError, ValueError) as exc:
                self._failed(f"{type(exc).__name__}: {exc}")
            finally:
                self._ended.clear()
                with self._lock:
                    self._client = None
                    was_up, self.connected = self.connected, False
                if was_up:
                    self.listener.link_down(self.generation, self.last_error or "disconnected")
            if self._stop.is_set():
                break
            if time.monotonic() - started >= STABLE_S and self.last_error is None:
                self.delay = self.config.reconnect_min_s
            wait = self.delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
            self.delay = min(self.delay * 2, self.config.reconnect_max_s)
            self._stop.wait(wait)

    def _failed(self, reason: str) -> None:
        if reason != self.last_error:
            _log.warning("fleet broker unreachable", extra={"fields": {"error": reason}})
        self.last_error = reason

    # -- paho's callbacks (its network thread) ----------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            if self.config.protocol == "auto" and reason.value == UNSUPPORTED_PROTOCOL:
                self.protocol = "3.1.1"
            self._failed(f"refused: {reason}")
            self._ended.set()
            return
        client.subscribe(self.topics.cmd, qos=1)
        if self.config.discovery:
            client.subscribe(self.topics.ha_status, qos=1)
        with self._lock:
            self.generation += 1
            generation = self.generation
            self.connected = True
        if self.connected_since is not None:
            self.reconnects += 1
        self.connected_since = now_iso()
        if self.last_error is not None:
            _log.info("fleet broker reached", extra={"fields": {"broker": self.config.broker_url}})
        self.last_error = None
        self.listener.link_up(generation)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not self._stop.is_set() and self.connected:
            self._failed(f"disconnected: {reason}")
        self._ended.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        refused = str(reason) if reason.is_failure else None
        self.listener.link_acked(self.generation, mid, refused)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        properties = getattr(message, "properties", None)
        self.listener.link_message(message.topic, bytes(message.payload), properties)
