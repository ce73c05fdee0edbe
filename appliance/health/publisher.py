"""The box's side of the fleet: one worker thread between the daemon, the outbox and the link.

Everything that changes the link's state happens on the worker thread, one task at a time: the
daemon's events (queued by :meth:`FleetPublisher.event`, which never blocks), the link's news
(connected, acknowledged, a command arrived) and the health timer. The daemon's loop and the
clearing jobs never wait for the network.

On every connection the box says ``online``, publishes its retained state (health, each
device's availability, alerts, Home Assistant discovery), empties retained topics that no
longer hold, then replays the outbox in order, a few messages in flight at a time; an event
leaves the outbox only when the broker acknowledged it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.clock import clock
from appliance.health import alerts as alert_rules
from appliance.health import commands, discovery
from appliance.health.config import FleetConfig
from appliance.health.errors import CommandRejected, FleetError
from appliance.health.link import Link, new_properties
from appliance.health.outbox import Outbox
from appliance.health.payloads import (
    BoxCounters,
    LastJob,
    alert_payload,
    build_event,
    build_health,
    dumps,
    event_fields,
    now_iso,
)
from appliance.health.port import BoxPort
from appliance.health.spool import SPOOL_DIR, SpoolError, spooled_event
from appliance.health.system import read_system
from appliance.health.topics import STATUS_OFFLINE, STATUS_ONLINE, BoxTopics

_log = logging.getLogger("qingka.fleet")

# QoS 1 events in flight at once: enough to fill a 4G round trip, few enough that a lost
# connection resends little.
WINDOW = 16
# On-change health waits at least this long after the previous one (a job's steps would
# otherwise send one per step).
MIN_HEALTH_GAP_S = 5.0
# How often the spool of events left by others (provisioning) is looked at, and how many at once.
SPOOL_CHECK_S = 5.0
SPOOL_BATCH = 100
# Steps that start only after the bureau answered: their time is the last bureau contact.
_BUREAU_STEPS = ("clear-request", "write-back")


@dataclass
class _PendingClear:
    request_id: str
    properties: Properties | None
    waiting: set[str]
    outcomes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Task:
    kind: str
    args: tuple[Any, ...] = ()


class FleetPublisher:
    """Health, alerts, events, discovery and commands of one box."""

    def __init__(self, config: FleetConfig, port: BoxPort, outbox_path: Path) -> None:
        self.config = config
        self.port = port
        self.topics = BoxTopics(config.site, config.box_id, config.discovery_prefix)
        self.outbox = Outbox(outbox_path, config.outbox_max_events)
        self.link = Link(config, self.topics, self)
        self._tasks: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="fleet publisher", daemon=True)
        self._up: int | None = None
        self._inflight: dict[int, int] = {}
        self._sent_upto = 0
        self._ledger = self.outbox.retained()
        self._availability: dict[str, str] = {}
        self._alerts: dict[str, tuple[str, bytes]] = {}
        self._discovered: set[str] = set()
        self._device_signature: dict[str, tuple[Any, ...]] = {}
        self._drift: dict[str, float] = {}
        self._pending: dict[str, _PendingClear] = {}
        self._dirty = False
        self._last_health = 0.0
        self.last_publish: str | None = None
        self.rejected = 0
        self.counters = BoxCounters(bureau_at=self.outbox.meta("bureau_at"))
        stored_jobs = self.outbox.meta("last_jobs")
        if stored_jobs:
            for number, job in json.loads(stored_jobs).items():
                self.counters.last_jobs[number] = LastJob(**job)

    # -- the daemon's side ------------------------------------------------------------------------

    def start(self) -> None:
        """Apply a policy the fleet set earlier, then start the worker and the link."""
        policy = self.outbox.meta("policy")
        if policy in commands.POLICIES and policy != self.port.policy():
            self.port.set_policy(policy)
            _log.info("policy set by the fleet", extra={"fields": {"policy": policy}})
        # A box joining the fleet starts counting outcomes from the journal's latest, here,
        # before the daemon's engine can record another: its history is in the health message,
        # not replayed as events.
        latest = self.port.last_outcome_id()
        if self.outbox.outcomes_floor() is None:
            self.outbox.set_outcomes_floor(latest)
        # The first task: outcomes the journal held at start and the outbox does not (the
        # daemon stopped, or the power went, between the two). Later ones are announced.
        self._tasks.put(_Task("catch_up", (latest,)))
        self._worker.start()
        self.link.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say offline, stop the threads and close the outbox (queued events stay queued)."""
        self._tasks.put(_Task("stop"))
        self._worker.join(timeout)
        self.link.stop(timeout)
        self.outbox.close()

    def event(self, event: dict[str, Any]) -> None:
        """Take one daemon event (from any thread; never blocks)."""
        self._tasks.put(_Task("event", (dict(event), clock().timestamp())))

    def view(self) -> dict[str, Any]:
        """Return what the technician screen shows of the fleet link."""
        try:
            depth, oldest = self.outbox.depth()
        except FleetError:
            depth, oldest = -1, None
        return {
            "configured": True,
            "broker": self.config.broker_url,
            "reachable": self.link.connected,
            "connected_since": self.link.connected_since,
            "last_publish": self.last_publish,
            "last_error": self.link.last_error,
            "reconnects": self.link.reconnects,
            "protocol": self.link.protocol,
            "site": self.config.site,
            "box": self.config.box_id,
            "outbox": depth,
            "outbox_oldest_s": None if oldest is None else round(clock().timestamp() - oldest, 1),
        }

    # -- the link's side (paho's thread: only queue) ----------------------------------------------

    def link_up(self, generation: int) -> None:
        """Queue the work of a new connection."""
        self._tasks.put(_Task("up", (generation,)))

    def link_down(self, generation: int, reason: str) -> None:
        """Queue the end of a connection."""
        self._tasks.put(_Task("down", (generation,)))

    def link_acked(self, generation: int, mid: int, refused: str | None) -> None:
        """Queue an acknowledgement."""
        self._tasks.put(_Task("acked", (generation, mid, refused)))

    def link_message(self, topic: str, payload: bytes, properties: Properties | None) -> None:
        """Queue a message."""
        self._tasks.put(_Task("message", (topic, payload, properties)))

    # -- the worker -------------------------------------------------------------------------------

    def _work(self) -> None:
        next_health = time.monotonic()
        next_spool = time.monotonic()
        while True:
            if time.monotonic() >= next_spool:
                next_spool = time.monotonic() + SPOOL_CHECK_S
                try:
                    self._drain_spool()
                except Exception:  # noqa: BLE001 - a bad spool must not end the box's reporting
                    _log.exception("reading the event spool failed")
            timeout = max(0.0, next_health - time.monotonic())
            if self._dirty:
                timeout = min(
                    timeout, max(0.0, self._last_health + MIN_HEALTH_GAP_S - time.monotonic())
                )
            try:
                task: _Task | None = self._tasks.get(timeout=timeout)
            except queue.Empty:
                task = None
            if task is not None and task.kind == "stop":
                return
            try:
                if task is not None:
                    getattr(self, f"_on_{task.kind}")(*task.args)
                now = time.monotonic()
                due = now >= next_health
                eager = self._dirty and now - self._last_health >= MIN_HEALTH_GAP_S
                if self._up is not None and (due or eager):
                    self._publish_state(full=False)
                    next_health = now + self.config.health_interval_s
            except Exception:  # noqa: BLE001 - one bad task must not end the box's reporting
                _log.exception("fleet task failed")

    def _drain_spool(self) -> None:
        """Move the events others left in the spool (provisioning) into the durable outbox.

        Each file is removed only once its event is in the outbox, which is as durable; a file
        that is not an event (cut short by a power loss) is set aside with a log line.
        """
        spool = self.port.data_dir / SPOOL_DIR
        if not spool.is_dir():
            return
        for path in sorted(spool.glob("*.json"))[:SPOOL_BATCH]:
            try:
                event = spooled_event(path)
            except SpoolError as exc:
                _log.warning("spooled event set aside", extra={"fields": {"reason": str(exc)}})
                with contextlib.suppress(OSError):
                    path.replace(path.with_suffix(".bad"))
                continue
            kind = str(event.pop("event"))
            self._queue_event(kind, event)
            path.unlink(missing_ok=True)
        self._pump()

    def _on_up(self, generation: int) -> None:
        self._up = generation
        self._inflight.clear()
        self._sent_upto = 0
        self._availability.clear()
        self._alerts.clear()
        self._discovered.clear()
        self._publish(self.topics.status, STATUS_ONLINE, self.link.status_properties())
        desired = self._publish_state(full=True)
        for topic in sorted(self._ledger - desired):
            self._publish(topic, b"")
        dropped = self.outbox.take_dropped()
        if dropped:
            self._queue_event("dropped", {"count": dropped}, allow_over=True)
        self._pump()

    def _on_down(self, generation: int) -> None:
        if generation == self._up:
            self._up = None
            self._inflight.clear()

    def _on_acked(self, generation: int, mid: int, refused: str | None) -> None:
        if generation != self._up:
            return
        self.last_publish = now_iso()
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return
        if refused is not None:
            # The broker will never take it (its ACL, its size limit): keeping it would stop
            # every later event behind it.
            self.rejected += 1
            _log.warning("event refused by the broker", extra={"fields": {"reason": refused}})
        self.outbox.ack(seq)
        self._pump()

    def _on_event(self, event: dict[str, Any], received: float) -> None:
        kind = str(event.get("event", ""))
        fields = event_fields(kind, event)
        url = str(event.get("url", ""))
        number = str(event.get("device_no") or self._number_of(url) or "")
        if number and not fields.get("device_no"):
            fields["device_no"] = number
        if kind == "device":
            if not self._device_changed(url, number, event, received):
                return
            if isinstance(event.get("error"), dict):
                fields["error"] = event["error"].get("code")
        elif kind == "step" and event.get("step") in _BUREAU_STEPS:
            self.counters.bureau_at = now_iso()
            self.outbox.set_meta("bureau_at", self.counters.bureau_at)
        self._dirty = True
        outcome_id = event.get("outcome_id")
        if kind == "outcome" and isinstance(outcome_id, int):
            if self.outbox.has_outcome(outcome_id):
                return  # the catch-up queued it already
            event_id = self._queue_event(kind, fields, outcome_id=outcome_id)
        else:
            event_id = self._queue_event(kind, fields)
        self._pump()
        if kind == "outcome":
            self._outcome(url, number, event_id, event)

    def _on_catch_up(self, latest: int) -> None:
        """Queue the outcomes up to ``latest`` the journal recorded and the outbox did not take.

        The outbox notes, with each outcome event, the journal id it came from (jobs of two
        devices can announce their outcomes out of order, so a high-water mark would not do).
        """
        floor = self.outbox.outcomes_floor() or 0
        if floor > latest:
            # The journal holds fewer outcomes than the outbox counted (its file was replaced):
            # count from its latest.
            self.outbox.set_outcomes_floor(latest)
            return
        queued = self.outbox.queued_outcomes()
        late = 0
        while floor < latest:
            batch = [row for row in self.port.outcomes_after(floor) if row["outcome_id"] <= latest]
            if not batch:
                break
            for row in batch:
                outcome_id = int(row["outcome_id"])
                floor = outcome_id
                if outcome_id in queued:
                    continue
                fields = event_fields("outcome", row)
                number = str(row.get("device_no") or "")
                if number:
                    fields["device_no"] = number
                fields["late"] = True
                fields["outcome_at"] = row.get("at")
                self._queue_event("outcome", fields, outcome_id=outcome_id)
                late += 1
        # Every outcome up to ``latest`` is queued now: the ids below need not be kept.
        self.outbox.set_outcomes_floor(latest)
        if late:
            _log.info("outcomes queued late", extra={"fields": {"count": late}})
            self._pump()

    def _device_changed(
        self, url: str, number: str, event: dict[str, Any], received: float
    ) -> bool:
        """Tell whether a device event says something new (a re-read every 15 minutes does not)."""
        types = event.get("types") or []
        if isinstance(event.get("clock"), str) and number:
            try:
                device_clock = clock().in_zone(datetime.fromisoformat(event["clock"]))
                self._drift[number] = device_clock.timestamp() - received
            except ValueError:
                pass  # a malformed clock only loses the drift figure
        error = event.get("error")
        before = self._device_signature.get(url, (None, None, ()))
        stages = tuple((t.get("type"), t.get("stage"), t.get("lock_date")) for t in types)
        signature = (
            event.get("present"),
            error.get("code") if isinstance(error, dict) else None,
            # A presence event without a reading keeps the stages known before.
            stages if types else before[2],
        )
        if self._device_signature.get(url) == signature:
            return False
        self._device_signature[url] = signature
        return True

    def _number_of(self, url: str) -> str | None:
        for row in self.port.status().get("devices", []):
            device = row.get("device")
            if row.get("url") == url and isinstance(device, dict):
                return str(device.get("device_no") or "") or None
        return None

    def _queue_event(
        self,
        kind: str,
        fields: dict[str, Any],
        allow_over: bool = False,
        outcome_id: int | None = None,
    ) -> str:
        box, site = self.config.box_id, self.config.site

        def build(event_id: str, seq: int) -> bytes:
            return dumps(build_event(kind, fields, box=box, site=site, event_id=event_id, seq=seq))

        # An outcome's journal id is noted in the same transaction as its event.
        _, event_id = self.outbox.put(
            box, clock().timestamp(), build, allow_over, outcome_id=outcome_id
        )
        return event_id

    def _outcome(self, url: str, number: str, event_id: str, event: dict[str, Any]) -> None:
        if number:
            self.counters.last_jobs[number] = LastJob(
                event_id, str(event.get("kind", "")), str(event.get("code", "")), now_iso()
            )
            jobs = {n: job.to_json() for n, job in self.counters.last_jobs.items()}
            self.outbox.set_meta("last_jobs", json.dumps(jobs))
        for request_id, pending in list(self._pending.items()):
            if url in pending.waiting:
                pending.waiting.discard(url)
                pending.outcomes.append({"url": url, **event_fields("outcome", event)})
                if not pending.waiting:
                    del self._pending[request_id]
                    self._respond(
                        request_id,
                        "clear",
                        pending.properties,
                        state="done",
                        result={"outcomes": pending.outcomes},
                    )

    def _pump(self) -> None:
        """Hand queued events to the connection, oldest first, a window at a time."""
        while self._up is not None and len(self._inflight) < WINDOW:
            batch = self.outbox.pending(self._sent_upto, WINDOW - len(self._inflight))
            if not batch:
                return
            for seq, payload in batch:
                sent = self.link.publish(self.topics.events, payload, qos=1)
                if sent is None or sent.generation != self._up:
                    return
                self._inflight[sent.mid] = seq
                self._sent_upto = seq

    # -- retained state ---------------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes | str, props: Properties | None = None) -> None:
        """Publish retained (empty payload: remove), and keep the ledger of what the box holds."""
        if self.link.publish(topic, payload, qos=1, retain=True, properties=props) is None:
            return
        held = bool(payload)
        if held != (topic in self._ledger):
            self.outbox.set_retained(topic, held, clock().timestamp())
            if held:
                self._ledger.add(topic)
            else:
                self._ledger.discard(topic)

    def _publish_state(self, full: bool) -> set[str]:
        """Publish health and whatever retained state changed (all of it when ``full``).

        Return the retained topics that should hold now.
        """
        status = self.port.status()
        system = read_system(self.port.data_dir)
        depth, oldest = self.outbox.depth()
        self.counters.outbox_depth = depth
        self.counters.outbox_oldest_s = 0.0 if oldest is None else clock().timestamp() - oldest
        self.counters.reconnects = self.link.reconnects
        health = build_health(
            site=self.config.site,
            box=self.config.box_id,
            version=self.port.version,
            policy=self.port.policy(),
            system=system,
            status=status,
            counters=self.counters,
        )
        topics = self.topics
        desired = {topics.status, topics.health}
        self._publish(topics.health, dumps(health))
        self._dirty = False
        self._last_health = time.monotonic()
        rows = {
            str(row["device"]["device_no"]): row
            for row in status.get("devices", [])
            if isinstance(row.get("device"), dict)
        }
        for number, row in rows.items():
            state = "online" if row.get("present") and not row.get("error") else STATUS_OFFLINE
            topic = topics.availability(number)
            desired.add(topic)
            if full or self._availability.get(number) != state:
                self._publish(topic, state)
                self._availability[number] = state
        self._publish_alerts(status, system, full, desired)
        if self.config.discovery:
            self._publish_discovery(health, full, desired)
        return desired

    def _publish_alerts(
        self, status: dict[str, Any], system: Any, full: bool, desired: set[str]
    ) -> None:
        holding = alert_rules.evaluate(
            status,
            system,
            disk_low_mb=self.config.disk_low_mb,
            drift_s=self._drift,
            drift_limit_s=self.config.clock_drift_alert_s,
        )
        for name in sorted(set(self._alerts) - set(holding)):
            self._publish(self.topics.alert(name), b"")
            del self._alerts[name]
        for name, alert in holding.items():
            topic = self.topics.alert(name)
            desired.add(topic)
            since = self._alerts[name][0] if name in self._alerts else now_iso()
            body = dumps(
                alert_payload(
                    name,
                    since,
                    alert.severity,
                    alert.code,
                    alert.message_zh,
                    alert.message_en,
                    alert.device_no,
                )
            )
            if full or self._alerts.get(name, ("", b""))[1] != body:
                self._publish(topic, body)
                self._alerts[name] = (since, body)

    def _publish_discovery(self, health: dict[str, Any], full: bool, desired: set[str]) -> None:
        topics, version, url = self.topics, self.port.version, self.config.support_url
        box_topic = topics.discovery(discovery.BOX_OBJECT_ID)
        desired.add(box_topic)
        if full:
            self._publish(box_topic, dumps(discovery.box_discovery(topics, version, url)))
        for number, entry in health["devs"].items():
            topic = topics.discovery(number)
            desired.add(topic)
            if full or number not in self._discovered:
                family = str(entry.get("fam", ""))
                payload = discovery.device_discovery(topics, number, family, version, url)
                self._publish(topic, dumps(payload))
                self._discovered.add(number)

    # -- commands ---------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, properties: Properties | None) -> None:
        if topic == self.topics.ha_status:
            if payload.strip() == b"online" and self._up is not None:
                self._publish_state(full=True)
            return
        if topic == self.topics.cmd:
            self._command(payload, properties)

    def _command(self, payload: bytes, properties: Properties | None) -> None:
        request_id = None
        name = None
        try:
            command = commands.parse_command(payload)
            request_id, name = command.request_id, command.name
            commands.check_fresh(command, clock().now(), self.config.command_window_s)
            keep = 2 * self.config.command_window_s
            if not self.outbox.first_sight(command.request_id, clock().timestamp(), keep):
                raise commands.replayed()
            result = self._execute(command, properties)
        except FleetError as exc:
            if isinstance(exc, CommandRejected) and request_id is None:
                request_id, name = exc.request_id, exc.command
            _log.warning(
                "fleet command refused",
                extra={
                    "fields": {"request": request_id, "code": exc.code, "reason": exc.message_en}
                },
            )
            self._audit(request_id, name, exc.code)
            self._respond(request_id, name, properties, state="refused", error=exc.to_json())
            return
        self._audit(request_id, name, None)
        if result is not None:
            self._respond(request_id, name, properties, state="done", result=result)

    def _execute(
        self, command: commands.Command, properties: Properties | None
    ) -> dict[str, Any] | None:
        _log.info(
            "fleet command",
            extra={"fields": {"request": command.request_id, "command": command.name}},
        )
        if command.name == "clear":
            urls = self.port.clear(command.args.get("device"))
            self._pending[command.request_id] = _PendingClear(
                command.request_id, properties, set(urls)
            )
            self._respond(
                command.request_id, "clear", properties, state="accepted", result={"queued": urls}
            )
            return None
        if command.name == "refresh":
            self.port.refresh()
            self._publish_state(full=True)
            return {"refreshed": True}
        if command.name == "update":
            self._respond(command.request_id, "update", properties, state="accepted")
            worker = threading.Thread(
                target=self._update,
                args=(command, properties),
                name="fleet update",
                daemon=True,
            )
            worker.start()
            return None
        if command.name == "set-policy":
            policy = str(command.args["policy"])
            self.port.set_policy(policy)
            self.outbox.set_meta("policy", policy)
            self._dirty = True
            return {"policy": policy}
        lines = int(command.args.get("lines", commands.MAX_DIAGNOSTIC_LINES))
        return self.port.diagnostics(lines)

    def _update(self, command: commands.Command, properties: Properties | None) -> None:
        """Download and install an update bundle off the worker thread, then answer."""
        from appliance.update import UpdateError, describe  # noqa: PLC0415 - only for updates

        try:
            result = self.port.update(str(command.args["url"]), str(command.args["sha256"]))
        except UpdateError as exc:
            error = {
                "code": exc.code,
                "message_zh": describe(exc, "zh"),
                "message_en": describe(exc, "en"),
            }
            self._respond(command.request_id, "update", properties, state="refused", error=error)
            return
        self._respond(command.request_id, "update", properties, state="done", result=result)

    def _audit(self, request_id: str | None, name: str | None, code: str | None) -> None:
        fields = {"request": request_id, "command": name, "ok": code is None}
        if code is not None:
            fields["code"] = code
        self._queue_event("command", fields)
        self._pump()

    def _respond(
        self,
        request_id: str | None,
        name: str | None,
        request_props: Properties | None,
        *,
        state: str,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        topic = self.topics.cmd_result
        props = None
        if request_props is not None and self.link.protocol == "5":
            wanted = getattr(request_props, "ResponseTopic", None)
            if isinstance(wanted, str) and self.topics.owns_result_topic(wanted):
                topic = wanted
            correlation = getattr(request_props, "CorrelationData", None)
            if correlation is not None:
                props = new_properties(PacketTypes.PUBLISH)
                props.CorrelationData = correlation
        body: dict[str, Any] = {
            "id": request_id,
            "box": self.config.box_id,
            "site": self.config.site,
            "at": now_iso(),
            "command": name,
            "ok": error is None,
            "state": state,
        }
        if result is not None:
            body["result"] = result
        if error is not None:
            body["error"] = error
        self.link.publish(topic, dumps(body), qos=1, properties=props)


__all__ = ["CommandRejected", "FleetPublisher"]
