"""End to end: a fresh box enrolls, the office makes and signs its bundle, the box applies it,
and the real daemon runs on the provisioned configuration; a December calendar bundle then
restarts only the daemon, which comes back with the new 2027 table.

The office and box commands run through ``qingka provision`` (in process); the daemon and the
bureau simulator are real processes, as in the demo.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from appliance.api.client import ApiClient, is_running
from appliance.cli.main import main
from appliance.daemon.config import load_config
from provisioning.apply import Applier
from provisioning.paths import Owners, Paths
from provisioning.services import RunResult
from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.bureau.process import spawn
from simulators.bureau.ready import ENDPOINTS_FILE
from tests.provisioning.conftest import SECRET_VALUES, reports
from tests.simulators.bureau.fixtures import ANCHOR

DEVICE_PIN = "88888888"  # the simulated device's PIN; a real secret for the grep below
CALENDAR = {"deadlines": {"2027": [20, 24, 16, 20, 21, 15, 15, 16, 15, 22, 16, 15]}}
DECEMBER = {"deadlines": {"2027": [21, 24, 16, 20, 21, 15, 15, 16, 15, 22, 16, 15]}}


class DaemonProcess:
    """The daemon as systemd would run it, restartable by the provisioning runner."""

    def __init__(self, config: Path, log: Path, socket: Path) -> None:
        self.config, self.log, self.socket = config, log, socket
        self.proc: subprocess.Popen[bytes] | None = None
        self.commands: list[tuple[str, ...]] = []

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "appliance", "daemon", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 30
        while not is_running(self.socket):
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __call__(self, command: Sequence[str]) -> RunResult:
        """Play systemd: try-restart restarts the daemon only if it runs."""
        self.commands.append(tuple(command))
        if tuple(command) == ("systemctl", "try-restart", "qingka-daemon.service") and (
            self.proc is not None and self.proc.poll() is None
        ):
            self.stop()
            self.start()
        if command[0] == "journalctl":
            return RunResult(1, "")
        return RunResult(0, "")


@pytest.fixture
def bureau(tmp_path: Path) -> Iterator[BureauProcess]:
    with spawn(tmp_path / "bureau", now=ANCHOR) as process:
        yield process


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["provision", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def settings_for(
    folder: Path, enrollment: Path, bureau: BureauProcess, url: str, calendar: object, serial: int
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "calendar.json").write_text(json.dumps(calendar))
    ready = bureau.ready
    text = f"""
creator = "Wuhan office"
serial = {serial}

[box]
id = "{json.loads(enrollment.read_text())["box_id"]}"
enrollment = "{enrollment}"
site = "wuhan-01"

[schedule]
policy = "button-only"

[bureau]
endpoints_file = "{bureau.data_dir / ENDPOINTS_FILE}"
ca_bundle = "{ready.ca_cert}"
public_key = "{ready.bureau_public_key}"
connect_timeout = 2
retry_deadline = 5

[kiosk]
technician_pin = "{SECRET_VALUES[3]}"

[calendar]
file = "calendar.json"

[[device]]
url = "{url}"
taxpayer_id = "{catalog.taxpayer(3).taxpayer_id}"
pin = "{DEVICE_PIN}"
"""
    path = folder / "settings.toml"
    path.write_text(text)
    return path


def test_enroll_make_sign_apply_and_run(
    tmp_path: Path, bureau: BureauProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    # -- the office: a signing key; the image carries its trust store -----------------------
    office_dir = tmp_path / "office"
    code, out = cli(capsys, "keygen", str(office_dir), "--name", "wuhan-2026")
    assert code == 0 and "trust.json" in out
    root = tmp_path / "box"
    paths = Paths.under(root)
    paths.image_trust_dir.mkdir(parents=True)
    shutil.copy(office_dir / "trust.json", paths.image_trust_dir)
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "qingka").symlink_to("../var/lib/qingka/config/current")
    paths.api_socket.parent.mkdir(parents=True)

    # -- a fresh box: no key, an empty stick -> enrollment request --------------------------
    stick = tmp_path / "stick"
    (stick / "QINGKA").mkdir(parents=True)
    code, out = cli(capsys, "apply", str(stick), "--root", str(root))
    assert code == 0 and "P-010" in out
    code, out = cli(capsys, "enroll-read", str(stick), "--json")
    requests = json.loads(out)["enrollments"]
    assert code == 0 and len(requests) == 1
    box_id = requests[0]["box_id"]
    enrollment = stick / "QINGKA" / requests[0]["file"]

    # -- the office makes, signs, verifies and inspects the bundle --------------------------
    url = (
        f"sim://needs-clearing?state={tmp_path / 'device.json'}&index=3&latency=1"
        f"&now={ANCHOR.isoformat()}"
    )
    settings = settings_for(tmp_path / "s1", enrollment, bureau, url, CALENDAR, 100)
    code, out = cli(capsys, "make", "--config", str(settings), "--out", str(stick))
    assert code == 0, out
    key = office_dir / "wuhan-2026.key"
    assert cli(capsys, "sign", "--key", str(key), str(stick))[0] == 0
    trust_file = str(office_dir / "trust.json")
    code, out = cli(capsys, "verify", str(stick), "--trust", trust_file, "--box", box_id)
    assert code == 0 and "验证通过" in out
    code, inspected = cli(capsys, "inspect", str(stick), "--trust", trust_file, "--json")
    assert code == 0 and json.loads(inspected)["signature"]["state"] == "valid"
    for secret in (DEVICE_PIN, SECRET_VALUES[3]):
        assert secret not in inspected
    bundle_copy = tmp_path / "bundle-100"
    shutil.copytree(stick, bundle_copy)

    # -- the box applies it; the daemon runs on it -----------------------------------------
    daemon = DaemonProcess(
        root / "etc" / "qingka" / "qingka.toml", tmp_path / "d.log", paths.api_socket
    )
    applier = Applier(paths, runner=daemon, installer=None, owners=Owners(), health_wait_s=20)
    try:
        outcome = applier.apply(stick)
        assert outcome.result == "applied", outcome
        daemon.start()
        with ApiClient(paths.api_socket) as client:
            deadline = time.monotonic() + 30
            while True:
                rows = client.call("devices")
                if rows and rows[0].get("device"):
                    break
                assert time.monotonic() < deadline, rows
                time.sleep(0.2)
            status = client.call("status")
        assert status["policy"] == "button-only"
        assert rows[0]["url"] == url
        assert rows[0]["device"]["taxpayer_id"] == catalog.taxpayer(3).taxpayer_id
        config = load_config(daemon.config)
        assert config.calendar.deadline(2027, 1).day == 20

        # -- December: the 2027 table changes; only the daemon restarts -------------------
        settings = settings_for(tmp_path / "s2", enrollment, bureau, url, DECEMBER, 200)
        code, out = cli(capsys, "make", "--config", str(settings), "--out", str(stick))
        assert code == 0, out
        assert cli(capsys, "sign", "--key", str(key), str(stick))[0] == 0
        first_pid = daemon.proc.pid if daemon.proc else None
        daemon.commands.clear()
        outcome = applier.apply(stick)
        assert outcome.result == "applied", outcome
        assert [c for c in daemon.commands if c[0] != "journalctl"] == [
            ("systemctl", "try-restart", "qingka-daemon.service")
        ]
        assert daemon.proc is not None and daemon.proc.pid != first_pid
        assert load_config(daemon.config).calendar.deadline(2027, 1).day == 21
        report = reports(stick)[-1]
        assert report["health"]["daemon"] == "answers"
        assert report["health"]["policy"] == "button-only"
        assert report["log"], "the daemon's last log lines are in the report"
        with ApiClient(paths.api_socket) as client:
            assert client.call("status")["policy"] == "button-only"

        # -- the old stick again: refused, nothing restarts --------------------------------
        daemon.commands.clear()
        code, out = cli(capsys, "apply", str(bundle_copy), "--root", str(root))
        assert code == 1 and "P-210" in out
        assert daemon.commands == []
    finally:
        daemon.stop()
    everything = [p.read_text(errors="replace") for p in stick.rglob("*") if p.is_file()]
    everything += [p.read_text(errors="replace") for p in paths.events_dir.iterdir()]
    everything.append(paths.status_file.read_text())
    for secret in (DEVICE_PIN, SECRET_VALUES[3]):
        assert not any(secret in text for text in everything), secret
