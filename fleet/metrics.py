"""Prometheus metrics of the fleet, read from the store at each scrape.

Every collector sharing a store exposes the same fleet metrics (scrape one, or aggregate with
``max without (instance)``), plus its own counters and lag. The alerting rules in
``fleet/prometheus/rules.yml`` read these names. ``qingka_device_days_to_lock`` is in days, not
seconds (promtool's lint says so): the tax calendar, the rules and the people read days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from appliance.clock import clock
from fleet.collector import FleetCollector

STAGES = ("needs-report", "reported-not-cleared", "cleared")
OUTCOMES = ("done", "already-cleared", "not-due", "needs-human", "retry-later")


class FleetMetrics(Collector):
    """Metrics of every box and device in the store, and of the collector."""

    def __init__(self, collector: FleetCollector) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Metric]:
        """Yield the metrics (called by prometheus_client at each scrape)."""
        labels = ["site", "box"]
        device_labels = ["site", "box", "device"]
        online = GaugeMetricFamily("qingka_box_online", "1 when the box says online", labels=labels)
        health_age = GaugeMetricFamily(
            "qingka_box_health_age_seconds", "Age of the box's latest health", labels=labels
        )
        outbox = GaugeMetricFamily(
            "qingka_box_outbox_depth", "Events waiting in the box's outbox", labels=labels
        )
        reconnects = GaugeMetricFamily(
            "qingka_box_reconnects", "Broker reconnections since the daemon started", labels=labels
        )
        days = GaugeMetricFamily(
            "qingka_device_days_to_lock", "Days before the device locks", labels=device_labels
        )
        stage = GaugeMetricFamily(
            "qingka_device_stage", "1 for the device's stage", labels=[*device_labels, "stage"]
        )
        person = GaugeMetricFamily(
            "qingka_device_needs_person", "1 when a person must act", labels=device_labels
        )
        outcome = GaugeMetricFamily(
            "qingka_device_last_outcome",
            "1 for the kind of the device's last clearing outcome",
            labels=[*device_labels, "kind", "code"],
        )
        alert = GaugeMetricFamily(
            "qingka_alert_active",
            "1 while a box alert holds",
            labels=[*labels, "alert", "severity"],
        )
        now = clock().timestamp()
        today = clock().today()
        for view in self.collector.store.boxes():
            key = [view.site, view.box]
            online.add_metric(key, 1.0 if view.status == "online" else 0.0)
            for name, body in view.alerts.items():
                alert.add_metric([*key, name, body.severity], 1.0)
            health = view.health
            if health is None:
                continue
            health_age.add_metric(key, max(0.0, now - health.at.timestamp()))
            outbox.add_metric(key, float(health.outbox))
            reconnects.add_metric(key, float(health.reconnects))
            for number, device in health.devices.items():
                dkey = [*key, number]
                if device.lock_date is not None:
                    # Counted from today, not from the box's report: a silent box's device still
                    # comes closer to its lock date.
                    left = (date.fromisoformat(device.lock_date) - today).days
                    days.add_metric(dkey, float(left))
                for name in STAGES:
                    stage.add_metric([*dkey, name], 1.0 if device.stage == name else 0.0)
                job = device.job or {}
                person.add_metric(
                    dkey, 1.0 if job.get("outcome") == "needs-human" or device.attention else 0.0
                )
                if job.get("outcome") in OUTCOMES:
                    outcome.add_metric([*dkey, job["outcome"], job.get("code", "")], 1.0)
        yield from (online, health_age, outbox, reconnects, days, stage, person, outcome, alert)
        collector = self.collector
        messages = CounterMetricFamily(
            "qingka_collector_messages", "Messages handled by this collector", labels=["collector"]
        )
        messages.add_metric([collector.name], collector.messages)
        duplicates = CounterMetricFamily(
            "qingka_collector_duplicates", "Events dropped as repeats", labels=["collector"]
        )
        duplicates.add_metric([collector.name], collector.duplicates)
        refused = CounterMetricFamily(
            "qingka_collector_refused", "Messages refused as garbled", labels=["collector"]
        )
        refused.add_metric([collector.name], collector.refused)
        lag = GaugeMetricFamily(
            "qingka_collector_lag_seconds",
            "Publish-to-stored delay of the latest events (max since the last scrape)",
            labels=["collector"],
        )
        lags = collector.take_lags()
        lag.add_metric([collector.name], max(lags) if lags else 0.0)
        yield from (messages, duplicates, refused, lag)


def registry_for(collector: FleetCollector) -> CollectorRegistry:
    """Return a registry with the fleet's metrics only."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(FleetMetrics(collector))
    return registry


def serve(collector: FleetCollector, host: str, port: int) -> None:
    """Serve /metrics on ``host:port`` (a thread of its own)."""
    start_http_server(port, addr=host, registry=registry_for(collector))
