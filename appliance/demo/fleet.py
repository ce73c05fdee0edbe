"""``qingka demo --fleet``: a real mosquitto, three boxes running the real daemon, the fleet table.

Everything runs on loopback in a temporary folder: mosquitto with TLS (a throwaway CA), one box
logging in with a client certificate and two with passwords, the ACL of ``docs/fleet.md``; the
bureau simulator; three daemons with simulated devices in different situations. The demo shows
the fleet table, clears one box from the fleet and shows the table again. ``--keep`` leaves
everything running and prints how to watch it with ``mosquitto_sub``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.api.client import is_running
from appliance.clock import ShiftedClock, clock, set_clock, shift_to
from appliance.demo.fleet_broker import FLEET_USER, FleetBroker
from appliance.devices.urls import open_device
from appliance.health.topics import BoxTopics
from fleet.board import Board, render
from fleet.connect import BrokerAccess, connect_and_wait, make_client
from fleet.remote import retained, send_command
from simulators import catalog
from simulators.bureau.process import BureauProcess, spawn
from simulators.bureau.ready import ENDPOINTS_FILE

SITE = "wuhan-demo"
STARTUP_TIMEOUT_S = 40.0


@dataclass(frozen=True)
class DemoBox:
    """One box of the demo."""

    box_id: str
    scenario: str
    index: int
    certificate: bool
    zh: str
    en: str


BOXES = (
    DemoBox(
        "box-001",
        "needs-clearing",
        0,
        True,
        "本月待清卡（证书登录）",
        "due this month (certificate)",
    ),
    DemoBox("box-002", "locked", 1, False, "已过征期、已锁定", "past the deadline, locked"),
    DemoBox("box-003", "already-cleared", 2, False, "本月已清卡", "already cleared"),
)


class FleetDemo:
    """The broker, the bureau and three daemons, in one folder."""

    def __init__(self, lang: str, folder: Path | None) -> None:
        self.lang = lang
        self.keep_dir = folder is not None
        self.dir = folder or Path(tempfile.mkdtemp(prefix="qingka-fleet-demo-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.broker = FleetBroker(self.dir / "broker")
        self.bureau: BureauProcess | None = None
        self.daemons: dict[str, subprocess.Popen[bytes]] = {}
        self.shifts: dict[str, float] = {}

    def say(self, zh: str, en: str) -> None:
        """Print a line in the demo's language."""
        print(zh if self.lang == "zh" else en, flush=True)

    def start(self) -> None:
        """Start the broker, the bureau and every box."""
        for box in BOXES:
            self.broker.add_box(box.box_id)
        self.broker.start()
        self.say(
            f"mosquitto 已启动：{self.broker.url}（密码）、{self.broker.cert_url}（客户端证书）",
            f"mosquitto up: {self.broker.url} (passwords), {self.broker.cert_url} (certificates)",
        )
        with open_device(self._device_url(BOXES[0], kept=False)) as device:
            bureau_time = device.read_clock()
        self.bureau = spawn(self.dir / "bureau", now=bureau_time)
        for box in BOXES:
            self._start_box(box)
            self.say(f"  {box.box_id}: {box.zh}", f"  {box.box_id}: {box.en}")
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for box in BOXES:
            while not is_running(self.dir / box.box_id / "api.sock"):
                if self.daemons[box.box_id].poll() is not None or time.monotonic() > deadline:
                    log = (self.dir / box.box_id / "daemon.log").read_text(errors="replace")
                    raise RuntimeError(f"{box.box_id} did not start:\n{log[-2000:]}")
                time.sleep(0.1)

    def _device_url(self, box: DemoBox, kept: bool = True) -> str:
        """Return the URL of ``box``'s simulated device (``kept``: its state in a file)."""
        folder = self.dir / box.box_id
        folder.mkdir(parents=True, exist_ok=True)
        state = f"state={folder / 'device.json'}&" if kept else ""
        return f"sim://{box.scenario}?{state}index={box.index}&latency=0.2"

    def _start_box(self, box: DemoBox) -> None:
        assert self.bureau is not None
        folder = self.dir / box.box_id
        url = self._device_url(box)
        # The box's clock agrees with its device's (the simulated devices live on other days):
        # read the day a fresh device lives on, then make the kept one under the box's clock,
        # which the simulator running in the box's daemon counts its own clock from.
        with open_device(self._device_url(box, kept=False)) as device:
            device_time = device.read_clock()
        self.shifts[box.box_id] = shift_to(clock().in_zone(device_time))
        old = set_clock(ShiftedClock(self.shifts[box.box_id]))
        try:
            with open_device(url):
                pass
        finally:
            set_clock(old)
        ready = self.bureau.ready
        lines = [
            f'data_dir = "{folder / "data"}"',
            "[schedule]",
            'policy = "button-only"',
            "[api]",
            f'socket = "{folder / "api.sock"}"',
            'mode = "0600"',
            "[[device]]",
            f'url = "{url}"',
            f'taxpayer_id = "{catalog.taxpayer(box.index).taxpayer_id}"',
            "[bureau]",
            f'endpoints_file = "{self.bureau.data_dir / ENDPOINTS_FILE}"',
            f'ca_bundle = "{ready.ca_cert}"',
            f'public_key = "{ready.bureau_public_key}"',
            "connect_timeout = 2",
            "retry_deadline = 6",
            "",
        ]
        fleet = self.broker.box_config(box.box_id, SITE, certificate=box.certificate)
        config = folder / "qingka.toml"
        config.write_text("\n".join(lines) + fleet + "health_interval_seconds = 5\n", "utf-8")
        log = (folder / "daemon.log").open("ab")
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "QINGKA_CLOCK_SHIFT": str(self.shifts[box.box_id]),
        }
        self.daemons[box.box_id] = subprocess.Popen(
            [sys.executable, "-m", "appliance", "daemon", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()

    def access(self) -> BrokerAccess:
        """Return the fleet user's login."""
        return BrokerAccess.from_url(
            self.broker.url, self.broker.ca_file, FLEET_USER, self.broker.fleet_password
        )

    def table(self, wait_for_devices: int = 0, cleared: str | None = None) -> str:
        """Return the fleet table read from the broker's retained messages.

        Wait until ``wait_for_devices`` devices are known (and box ``cleared`` shows cleared).
        """
        access = self.access()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            client = make_client(access)
            connect_and_wait(client, access)
            board = Board()
            for message in retained(client, ["qingka/#"], limit_s=3):
                board.apply(message.topic, bytes(message.payload))
            client.disconnect()
            client.loop_stop()
            rows = [r for r in board.rows() if r["device"]]
            done = cleared is None or any(
                r["box"] == cleared and r["stage"] == "cleared" and r["last_outcome"] for r in rows
            )
            if (len(rows) >= wait_for_devices and done) or time.monotonic() > deadline:
                return render(board.rows(), self.lang)
            time.sleep(1.0)

    def clear(self, box: DemoBox) -> bool:
        """Clear one box from the fleet; return whether its device ended cleared."""
        access = self.access()
        client = make_client(access, "fleet-demo")
        connect_and_wait(client, access)
        old = set_clock(ShiftedClock(self.shifts[box.box_id]))
        try:
            results = send_command(client, BoxTopics(SITE, box.box_id), "clear", {}, timeout=120)
        finally:
            set_clock(old)
            client.disconnect()
            client.loop_stop()
        final = [r for r in results if r.state != "accepted"]
        outcomes = final[-1].body.get("result", {}).get("outcomes", []) if final else []
        for outcome in outcomes:
            self.say(
                f"  {box.box_id} {outcome.get('device_no')}: {outcome.get('message_zh')}",
                f"  {box.box_id} {outcome.get('device_no')}: {outcome.get('message_en')}",
            )
        return bool(outcomes) and all(o.get("kind") == "done" for o in outcomes)

    def subscribe_help(self) -> str:
        """Return the mosquitto_sub command that shows everything."""
        return (
            f"mosquitto_sub -V mqttv5 -h localhost -p {self.broker.password_port} "
            f"--cafile {self.broker.ca_file} -u {FLEET_USER} -P '{self.broker.fleet_password}' "
            "-t 'qingka/#' -t 'homeassistant/#' -v"
        )

    def stop(self) -> None:
        """Stop the daemons, the bureau and the broker; remove the folder unless kept."""
        for proc in self.daemons.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.daemons.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.bureau is not None:
            self.bureau.stop()
        self.broker.stop()
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _exit_on_signal(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def run_fleet_demo(lang: str, folder: Path | None, keep: bool) -> int:
    """Run the fleet demo; return 0 when the fleet cleared the due box."""
    demo = FleetDemo(lang, folder)
    demo.say("QingKa 清卡盒演示：运维平台（MQTT）", "QingKa Box demo: the fleet over MQTT")
    # A terminal closed or a `kill` ends the demo as Ctrl-C does: the broker, the bureau and
    # the boxes stop with it instead of running on, orphaned.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _exit_on_signal)
    try:
        demo.start()
        demo.say("\n—— 运维总览 ——", "\n—— Fleet ——")
        print(demo.table(wait_for_devices=len(BOXES)), flush=True)
        demo.say(
            f"\n从运维平台对 {BOXES[0].box_id} 发起清卡…",
            f"\nClearing {BOXES[0].box_id} from the fleet…",
        )
        ok = demo.clear(BOXES[0])
        demo.say("\n—— 运维总览 ——", "\n—— Fleet ——")
        print(demo.table(len(BOXES), cleared=BOXES[0].box_id), flush=True)
        if keep:
            demo.say(
                f"\n全部保持运行（{demo.dir}）。订阅全部消息：",
                f"\nEverything keeps running ({demo.dir}). To watch every message:",
            )
            print("  " + demo.subscribe_help(), flush=True)
            demo.say("按 Ctrl-C 结束。", "Press Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        demo.stop()
    demo.say(
        "\n演示结束：运维平台清卡成功" if ok else "\n演示失败：清卡未完成",
        "\nDemo finished: cleared from the fleet" if ok else "\nDemo failed: not cleared",
    )
    return 0 if ok else 1
