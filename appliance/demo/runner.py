"""Run one demo scenario: simulators and the real daemon in a temporary folder, one clearing.

Everything runs on this machine on loopback: the device simulator (in the daemon, through its
pyusb backend, with realistic latencies), the bureau simulator over HTTPS with a throwaway CA,
and the daemon as its own process, driven through its local API exactly as the kiosk does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient, is_running
from appliance.clearing.outcomes import Outcome
from appliance.cli.clear import through_daemon
from appliance.cli.devices import STAGE_WORDS
from appliance.cli.progress import ProgressView
from appliance.clock import CHINA, travel_to
from appliance.demo.scenarios import SCENARIOS, DemoScenario
from appliance.devices.urls import open_device
from simulators import catalog
from simulators.bureau.process import BureauProcess, spawn
from simulators.bureau.ready import ENDPOINTS_FILE

STARTUP_TIMEOUT_S = 30.0
# The demo's bureau client gives up on an unreachable bureau quickly, so network-down ends in
# seconds; the box's own default is a minute.
DEMO_RETRY_DEADLINE_S = 6.0


def _wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


class Demo:
    """One run of one scenario, in its own folder."""

    def __init__(
        self, name: str, lang: str, folder: Path | None, today: datetime | None = None
    ) -> None:
        self.name = name
        self.today = today
        self.scenario: DemoScenario = SCENARIOS[name]
        self.lang = lang
        self.keep = folder is not None
        self.dir = folder or Path(tempfile.mkdtemp(prefix="qingka-demo-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.dir / "api.sock"
        self.config = self.dir / "qingka.toml"
        taxpayer = catalog.taxpayer(self.scenario.index)
        self.taxpayer_id = taxpayer.taxpayer_id
        self.url = (
            f"sim://{self.scenario.device}?state={self.dir / 'device.json'}"
            f"&index={self.scenario.index}&latency=1"
        )
        if today is not None:
            # The device's clock shows that moment (Beijing time) and runs on from there.
            self.url += f"&now={today.astimezone(CHINA).replace(tzinfo=None):%Y-%m-%dT%H:%M:%S}"
        self.bureau: BureauProcess | None = None
        self.daemon: subprocess.Popen[bytes] | None = None

    def say(self, zh: str, en: str) -> None:
        """Print a line in the demo's language."""
        print(zh if self.lang == "zh" else en, flush=True)

    # -- set-up -------------------------------------------------------------------------------

    def start(self) -> None:
        """Create the device, start the bureau and the daemon."""
        if self.today is not None:
            # This process and the daemon and bureau it starts all run as of that moment.
            travel_to(self.today)
        with open_device(self.url) as device:
            clock = device.read_clock()
        self.say(
            f"模拟税控设备已就绪（设备时钟 {clock:%Y-%m-%d %H:%M}）",
            f"Simulated tax device ready (device clock {clock:%Y-%m-%d %H:%M})",
        )
        self.bureau = spawn(self.dir / "bureau", now=clock)
        self.scenario.bureau(self.bureau.admin, self.taxpayer_id)
        self.say(
            f"模拟税务局已启动：{self.bureau.ready.url}（HTTPS，临时CA）",
            f"Simulated tax bureau up: {self.bureau.ready.url} (HTTPS, throwaway CA)",
        )
        self._write_config()
        if self.scenario.bureau_down:
            self.bureau.stop()
            self.say("（已断开税务局：模拟网络故障）", "(bureau stopped: the network is down)")
        log = (self.dir / "daemon.log").open("ab")
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "appliance", "daemon", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        _wait(
            "the daemon",
            lambda: self._daemon_alive() and is_running(self.socket),
            STARTUP_TIMEOUT_S,
        )
        self.say(
            f"清卡服务已启动（本地接口 {self.socket}）",
            f"Clearing daemon up (local API {self.socket})",
        )

    def _daemon_alive(self) -> bool:
        if self.daemon is not None and self.daemon.poll() is not None:
            log = (self.dir / "daemon.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the daemon exited ({self.daemon.returncode}):\n{log}")
        return True

    def _write_config(self) -> None:
        assert self.bureau is not None
        ready = self.bureau.ready
        endpoints = self.dir / "bureau" / ENDPOINTS_FILE
        lines = [
            f'data_dir = "{self.dir / "box"}"',
            "",
            "[schedule]",
            'policy = "button-only"',
            "",
            "[api]",
            f'socket = "{self.socket}"',
            'mode = "0600"',
            "",
            "[[device]]",
            f'url = "{self.url}"',
            f'taxpayer_id = "{self.taxpayer_id}"',
            "",
            "[bureau]",
            f'endpoints_file = "{endpoints}"',
            f'ca_bundle = "{ready.ca_cert}"',
            f'public_key = "{ready.bureau_public_key}"',
            "connect_timeout = 2",
            f"retry_deadline = {DEMO_RETRY_DEADLINE_S}",
        ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # -- the show ------------------------------------------------------------------------------

    def device_view(self) -> dict[str, Any]:
        """Return the daemon's view of the device once it has read it and is not busy."""

        def read() -> dict[str, Any] | None:
            with ApiClient(self.socket) as client:
                rows = client.call("devices")
            row = rows[0] if rows else None
            if (
                row is None
                or row.get("busy")
                or (row.get("device") is None and not row.get("error"))
            ):
                return None
            return dict(row)

        return dict(_wait("the device to be read", read, STARTUP_TIMEOUT_S))

    def show(self, title_zh: str, title_en: str, row: dict[str, Any]) -> None:
        """Print a device's types, stages and lock dates."""
        self.say(f"\n—— {title_zh} ——", f"\n—— {title_en} ——")
        data = row.get("device")
        if data is None:
            error = row.get("error") or {}
            self.say(
                f"  {error.get('message_zh', '无法读取设备')}",
                f"  {error.get('message_en', error.get('message_zh', 'device not readable'))}",
            )
            return
        self.say(
            f"  {data['family']} {data['device_no']}  {data['taxpayer_name']}",
            f"  {data['family']} {data['device_no']}  {data['taxpayer_name']}",
        )
        for t in data["types"]:
            zh_stage, en_stage = STAGE_WORDS[t["stage"]]
            lock_zh = "（已锁定）" if t["locked"] else ""
            lock_en = " (locked)" if t["locked"] else ""
            self.say(
                f"  {t['type']} {t['name']:<10}  {zh_stage}{lock_zh:<6}  锁定日期 {t['lock_date']}",
                f"  {t['type']} {t['name_en']:<26}  {en_stage}{lock_en:<9}"
                f"  locks on {t['lock_date']}",
            )

    def run(self) -> Outcome | None:
        """Show the device, clear it with live progress, show it again."""
        before = self.device_view()
        self.show("清卡前", "Before", before)
        self.say("\n开始一键清卡…", "\nOne-tap clearing…")
        outcomes = through_daemon(self.socket, None, ProgressView(self.lang), quiet=False)
        outcome = outcomes[0] if outcomes else None
        if outcome is not None and outcome.kind.success:
            self.show("清卡后", "After", self.device_view())
        return outcome

    def stop(self) -> None:
        """Stop the daemon and the bureau; remove the folder unless it was given."""
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        if self.bureau is not None:
            self.bureau.stop()
        if self.keep:
            self.say(f"\n演示文件保留在 {self.dir}", f"\nDemo files kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def run_demo(
    name: str,
    lang: str = "zh",
    folder: Path | None = None,
    as_json: bool = False,
    today: datetime | None = None,
) -> int:
    """Run scenario ``name`` (as of ``today``); return 0 when it ended as the scenario expects."""
    demo = Demo(name, lang, folder, today)
    scenario = demo.scenario
    demo.say(
        f"QingKa 清卡盒演示：{name} — {scenario.zh}", f"QingKa Box demo: {name} — {scenario.en}"
    )
    outcome = None
    try:
        demo.start()
        outcome = demo.run()
    finally:
        demo.stop()
    expected = outcome is not None and outcome.kind is scenario.expect
    if as_json:
        print(
            json.dumps(
                {
                    "scenario": name,
                    "expected": scenario.expect.value,
                    "outcome": outcome.to_json() if outcome else None,
                    "ok": expected,
                },
                ensure_ascii=False,
            )
        )
    if expected:
        demo.say(
            f"\n演示结束：结果符合预期（{scenario.expect.value}）",
            f"\nDemo finished: the outcome is the expected one ({scenario.expect.value})",
        )
        return 0
    got = outcome.kind.value if outcome else "none"
    demo.say(
        f"\n演示失败：预期 {scenario.expect.value}，实际 {got}",
        f"\nDemo failed: expected {scenario.expect.value}, got {got}",
    )
    return 1
