"""Fixtures of the fleet tests: a real mosquitto (TLS, passwords, certificates, ACL) and boxes.

One broker serves a whole test session on each worker; a test that restarts or breaks the
broker makes its own. Boxes are the real daemon (a subprocess with a simulated device and the
bureau simulator) or, where a test needs to drive events itself, the real publisher in-process
with a small stand-in for the daemon's side.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from appliance.api.client import is_running
from appliance.clock import ShiftedClock, clock, set_clock, shift_to
from appliance.demo.fleet_broker import FLEET_USER, FleetBroker, mosquitto_binary
from appliance.health.config import FleetConfig
from fleet.connect import BrokerAccess, connect_and_wait, make_client
from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.bureau.ready import ENDPOINTS_FILE
from tests.simulators.bureau.fixtures import ANCHOR, _scenario_restored, bureau

__all__ = ["_scenario_restored", "bureau"]

if mosquitto_binary() is None:
    pytest.skip("mosquitto is not installed (Debian package mosquitto)", allow_module_level=True)

_boxes = itertools.count(1)


def box_shift_s() -> float:
    """Return the shift of the boxes' clock in the running test (see ``_box_clock``)."""
    running = clock()
    assert isinstance(running, ShiftedClock), "the _box_clock fixture sets a shifted clock"
    return running.shift_s


@pytest.fixture(autouse=True)
def _box_clock() -> Iterator[None]:
    """Run the test on the boxes' clock: it reads ANCHOR as the test starts.

    The simulated devices start at ANCHOR when a box first opens them, so the box's clock agrees
    with its device's (no clock-drift alert); the tests that command the boxes run on the same
    clock. Worked out per test: a shift fixed once would drift from a device made later.
    """
    old = set_clock(ShiftedClock(shift_to(clock().in_zone(ANCHOR))))
    yield
    set_clock(old)


def new_box_id(prefix: str = "box") -> str:
    """Return a box id no other test uses."""
    return f"{prefix}-{os.getpid()}-{next(_boxes)}"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetBroker]:
    """The session's broker."""
    rig = FleetBroker(tmp_path_factory.mktemp("mosquitto"))
    rig.start()
    yield rig
    rig.stop()


class Watcher:
    """A fleet user subscribed to topics, keeping every message with its flags."""

    def __init__(
        self, broker: FleetBroker, topics: list[str], client_id: str = "", persistent: bool = False
    ) -> None:
        self.access = BrokerAccess.from_url(
            broker.url, broker.ca_file, FLEET_USER, broker.fleet_password
        )
        self.client = make_client(self.access, client_id)
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.client.on_message = self._keep
        # A persistent session survives a broker restart (the broker persists it): nothing
        # published while the watcher reconnects is lost to it.
        connect_and_wait(
            self.client,
            self.access,
            clean_start=not persistent,
            session_expiry_s=600 if persistent else 0,
        )
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        for topic in topics:
            done.clear()
            self.client.subscribe(topic, qos=1)
            assert done.wait(5), "no SUBACK"

    def _keep(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(message)

    def on(self, topic: str) -> list[mqtt.MQTTMessage]:
        """Return the messages received on ``topic``."""
        with self.lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(
        self, check: Callable[[list[mqtt.MQTTMessage]], Any], timeout: float = 20, what: str = ""
    ) -> Any:
        """Wait until ``check(messages)`` is true; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                value = check(list(self.messages))
            if value:
                return value
            time.sleep(0.05)
        with self.lock:
            seen = [(m.topic, bytes(m.payload)[:120]) for m in self.messages[-15:]]
        raise AssertionError(f"timed out waiting for {what or check}; last messages: {seen}")

    def last(self, topic: str, timeout: float = 20) -> bytes:
        """Wait for a message on ``topic``; return the latest payload."""
        messages = self.wait_for(lambda ms: [m for m in ms if m.topic == topic], timeout, topic)
        return bytes(messages[-1].payload)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def watch(broker: FleetBroker) -> Iterator[Callable[..., Watcher]]:
    """Make watchers on the session broker; each is closed after the test."""
    made: list[Watcher] = []

    def make(topics: list[str], target: FleetBroker | None = None) -> Watcher:
        watcher = Watcher(target or broker, topics)
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.close()


class BoxDaemon:
    """The real daemon of one box, with a simulated device, reporting to the broker."""

    def __init__(
        self,
        folder: Path,
        broker: FleetBroker,
        bureau: BureauProcess,
        *,
        box_id: str,
        site: str = "site-t",
        scenario: str = "needs-clearing",
        index: int = 0,
        fleet_extra: str = "",
        certificate: bool = False,
    ) -> None:
        self.folder = folder
        self.box_id = box_id
        self.site = site
        folder.mkdir(parents=True, exist_ok=True)
        broker.add_box(box_id)
        taxpayer = catalog.taxpayer(index)
        self.socket = folder / "api.sock"
        self.url = (
            f"sim://{scenario}?state={folder / 'device.json'}&index={index}"
            f"&latency=0&now={ANCHOR.isoformat()}"
        )
        self.config = folder / "qingka.toml"
        lines = [
            f'data_dir = "{folder / "box"}"',
            "[schedule]",
            'policy = "button-only"',
            "[api]",
            f'socket = "{self.socket}"',
            'mode = "0600"',
            "[[device]]",
            f'url = "{self.url}"',
            f'taxpayer_id = "{taxpayer.taxpayer_id}"',
            "[bureau]",
            f'endpoints_file = "{bureau.data_dir / ENDPOINTS_FILE}"',
            f'ca_bundle = "{bureau.ready.ca_cert}"',
            f'public_key = "{bureau.ready.bureau_public_key}"',
            "connect_timeout = 2",
            "retry_deadline = 5",
            "",
        ]
        fleet = broker.box_config(box_id, site, certificate=certificate)
        fleet += "health_interval_seconds = 1\nkeepalive_seconds = 5\nreconnect_max_seconds = 2\n"
        self.config.write_text("\n".join(lines) + fleet + fleet_extra, encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        """Return the box's topic root."""
        return f"qingka/{self.site}/{self.box_id}"

    def start(self) -> None:
        """Start the daemon on the device's clock and wait for its local API."""
        log = (self.folder / "daemon.log").open("ab")
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            # The box's clock reads the simulated device's time, so no clock-drift alert.
            "QINGKA_CLOCK_SHIFT": str(box_shift_s()),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "daemon", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + 30
        while not is_running(self.socket):
            assert self.proc.poll() is None, f"daemon exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"daemon did not start:\n{self.log()}"
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        """Return the daemon's log."""
        return (self.folder / "daemon.log").read_text(errors="replace")[-4000:]


def fleet_config(broker: FleetBroker, box_id: str, **overrides: Any) -> FleetConfig:
    """Return the [fleet] settings of an in-process box on ``broker`` (password login)."""
    identity = broker.boxes[box_id]
    settings: dict[str, Any] = {
        "host": "localhost",
        "port": broker.password_port,
        "ca_file": broker.ca_file,
        "site": "site-t",
        "box_id": box_id,
        "password": identity.password,
        "health_interval_s": 60.0,
        "keepalive_s": 2,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        "support_url": "https://qingka.example/support",
    }
    settings.update(overrides)
    return FleetConfig(**settings)


class FakeDaemon:
    """The daemon's side of the port, for in-process publishers: a status and a call log."""

    def __init__(self, data_dir: Path) -> None:
        self.version = "0.1.0"
        self.data_dir = data_dir
        self.devices: list[dict[str, Any]] = []
        self.calls: list[tuple[str, Any]] = []
        # Outcomes as the daemon's journal holds them (``outcome_id``, ``url``, fields).
        self.journaled: list[dict[str, Any]] = []
        self._policy = "auto"

    def status(self) -> dict[str, Any]:
        """Return the devices set by the test."""
        return {"policy": self._policy, "devices": list(self.devices)}

    def clear(self, device: str | None) -> list[str]:
        """Record a clear."""
        self.calls.append(("clear", device))
        return [row["url"] for row in self.devices]

    def policy(self) -> str:
        """Return the policy."""
        return self._policy

    def set_policy(self, policy: str) -> None:
        """Record a policy change."""
        self.calls.append(("set-policy", policy))
        self._policy = policy

    def refresh(self) -> None:
        """Record a refresh."""
        self.calls.append(("refresh", None))

    def update(self, url: str, sha256: str) -> dict[str, Any]:
        """Record an update."""
        self.calls.append(("update", url))
        return {"slot": "rootfs.1"}

    def outcomes_after(self, after: int) -> list[dict[str, Any]]:
        """Return the outcomes the test journaled after id ``after``."""
        return [row for row in self.journaled if row["outcome_id"] > after]

    def last_outcome_id(self) -> int:
        """Return the id of the last outcome the test journaled."""
        return max((row["outcome_id"] for row in self.journaled), default=0)

    def diagnostics(self, lines: int) -> dict[str, Any]:
        """Return a small bundle."""
        self.calls.append(("diagnostics", lines))
        return {"version": self.version, "logs": []}
