"""The fleet collector: every box message into the store, split among collectors.

Collectors subscribe with MQTT v5 shared subscriptions (``$share/<group>/qingka/+/+/…``): the
broker hands each message to one collector of the group, so several collectors share the load
and any one can die. Each keeps a persistent session (a fixed client id, ``clean_start`` false,
a session expiry) and acknowledges a message only after the store has it (paho's manual acks):
a collector that crashes or restarts gets again what it had not stored, and a broker restart
(with persistence) keeps the sessions. Shared subscriptions get no retained messages, so a
collector first reads the retained state once with a plain subscription.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from appliance.clock import clock
from appliance.health.topics import split_box_topic
from fleet.connect import CONNECT_TIMEOUT_S, BrokerAccess, connect_and_wait, make_client
from fleet.errors import BrokerError, PayloadError, StoreError
from fleet.parse import parse_alert, parse_event, parse_health, parse_status
from fleet.remote import retained
from fleet.store import SqlStore, open_store

_log = logging.getLogger("qingka.fleet.collector")

TOPICS = (
    "qingka/+/+/status",
    "qingka/+/+/health",
    "qingka/+/+/events",
    "qingka/+/+/devices/+/availability",
    "qingka/+/+/alerts/+",
)
# A collector away longer than this loses its queued messages (the broker drops the session).
SESSION_EXPIRY_S = 24 * 3600


class FleetCollector:
    """One collector of a shared-subscription group."""

    def __init__(
        self,
        access: BrokerAccess,
        store: SqlStore,
        *,
        group: str = "qingka",
        name: str = "collector-1",
        bootstrap: bool = True,
    ) -> None:
        self.access = access
        self.store = store
        self.group = group
        self.name = name
        self.bootstrap = bootstrap
        self.messages = 0
        self.duplicates = 0
        self.refused = 0
        self.lags: list[float] = []
        self._lag_lock = threading.Lock()
        self._queue: queue.SimpleQueue[mqtt.MQTTMessage | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name=f"collector {name}", daemon=True)
        self.client: mqtt.Client | None = None
        # Set when the broker answered the group subscription; the filters it refused, if any.
        self._joined = threading.Event()
        self._refused_topics: list[str] = []

    def start(self, timeout: float = CONNECT_TIMEOUT_S) -> bool:
        """Read the retained state, then join the group; return whether a session was kept.

        Returns once the broker confirmed the subscriptions: a message published after that
        reaches the group (before it, a collector with a new session would miss it).
        :class:`BrokerError` when the broker does not answer or refuses a subscription (its ACL).
        """
        self._worker.start()
        if self.bootstrap:
            self._read_retained()
        client = make_client(self.access, self.name, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = lambda c, u, message: self._queue.put(message)
        self.client = client
        kept = connect_and_wait(
            client, self.access, clean_start=False, session_expiry_s=SESSION_EXPIRY_S
        )
        if not self._joined.wait(timeout):
            self.stop(graceful=False)
            raise BrokerError(
                "the broker did not confirm the collector's subscriptions",
                "运维平台代理没有确认收集器的订阅",
            )
        if self._refused_topics:
            refused = ", ".join(self._refused_topics)
            self.stop(graceful=False)
            raise BrokerError(
                f"the broker refused the collector's subscriptions: {refused}",
                f"运维平台代理拒绝了收集器的订阅：{refused}",
            )
        return kept

    def _read_retained(self) -> None:
        client = make_client(self.access)
        connect_and_wait(client, self.access)
        try:
            for message in retained(client, list(TOPICS), limit_s=10):
                self._store(message.topic, bytes(message.payload), message.properties)
        finally:
            client.disconnect()
            client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe([(f"$share/{self.group}/{topic}", 1) for topic in TOPICS])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        self._refused_topics = [t for t, c in zip(TOPICS, codes, strict=False) if c.is_failure]
        self._joined.set()

    def stop(self, graceful: bool = True) -> None:
        """Leave: ``graceful`` drains what arrived; otherwise drop the connection at once."""
        if self.client is not None:
            if graceful:
                self.client.disconnect()
            self.client.loop_stop()
        self._queue.put(None)
        self._worker.join(10)

    def _work(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                self._store(message.topic, bytes(message.payload), message.properties)
            except StoreError:
                _log.exception("store failed; the message stays unacknowledged")
                continue
            if self.client is not None and message.qos:
                self.client.ack(message.mid, message.qos)

    def _store(self, topic: str, payload: bytes, properties: Any) -> None:
        parts = split_box_topic(topic)
        if parts is None:
            return
        site, box, rest = parts
        now = clock().timestamp()
        self.messages += 1
        try:
            if rest == "status":
                session = dict(getattr(properties, "UserProperty", None) or []).get("session", "")
                self.store.status(site, box, parse_status(payload), str(session), now)
            elif rest == "health":
                if not payload:
                    return
                health = parse_health(payload)
                _same_box(health.site, health.box, site, box)
                self.store.health(health, now)
            elif rest == "events":
                event = parse_event(payload)
                _same_box(event.site, event.box, site, box)
                if self.store.event(event, now):
                    with self._lag_lock:
                        self.lags.append(now - event.at.timestamp())
                else:
                    self.duplicates += 1
            elif rest.startswith("alerts/"):
                parse_alert(payload)
                self.store.alert(site, box, rest.split("/", 1)[1], payload)
            elif rest.startswith("devices/"):
                self.store.availability(site, box, rest.split("/")[1], parse_status(payload))
        except PayloadError as exc:
            # A garbled message is refused once; redelivering it would not make it readable.
            self.refused += 1
            _log.warning("refused a message", extra={"fields": {"topic": topic, "why": str(exc)}})

    def take_lags(self) -> list[float]:
        """Return and forget the publish-to-stored seconds measured so far."""
        with self._lag_lock:
            lags, self.lags = self.lags, []
        return lags


def _same_box(site: str, box: str, topic_site: str, topic_box: str) -> None:
    if (site, box) != (topic_site, topic_box):
        raise PayloadError(
            f"a message of {site}/{box} on the topic of {topic_site}/{topic_box}",
            "消息与主题的盒子不符",
        )


def run_collector(
    access: BrokerAccess,
    store_url: str,
    *,
    group: str,
    name: str,
    metrics: tuple[str, int] | None,
) -> int:
    """Collect until SIGTERM or SIGINT; serve Prometheus metrics when asked."""
    from fleet.metrics import serve  # noqa: PLC0415 - prometheus_client only here

    store = open_store(store_url)
    collector = FleetCollector(access, store, group=group, name=name)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        collector.start()
        if metrics is not None:
            serve(collector, metrics[0], metrics[1])
        _log.info("collecting", extra={"fields": {"group": group, "name": name}})
        while not stop.wait(1.0):
            pass
    finally:
        collector.stop()
        store.close()
    return 0
