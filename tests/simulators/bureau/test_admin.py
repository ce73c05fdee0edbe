"""Scenario control: the loopback admin API, ``qingka sim bureau-ctl`` and ``qingka sim bureau``."""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.cli.main import main
from simulators.bureau import BureauProcess, Ready
from simulators.bureau.admin import AdminServer
from simulators.bureau.ctl import AdminCallError
from simulators.bureau.process import _await_ready
from tests.simulators.bureau.fixtures import ANCHOR, PERIOD


def test_health_reports_bureau_time(bureau: BureauProcess) -> None:
    health = bureau.admin.health()
    assert health["ok"] and health["now"].startswith(ANCHOR.strftime("%Y-%m-%dT%H:%M"))


def test_scenario_changes_show_in_state(bureau: BureauProcess) -> None:
    bureau.admin.reset("2")
    bureau.admin.set_declaration("2", "mismatched")  # default period: last month
    bureau.admin.set_declaration("2", "filed", 202609)
    bureau.admin.set_certificate("2", "lost")
    state = bureau.admin.state("2")
    assert state["declarations"] == {str(PERIOD): "mismatched", "202609": "filed"}
    assert state["certificate"] == "lost"
    bureau.admin.reset("2")
    assert bureau.admin.state("2")["certificate"] == "valid"


def test_faults_and_clock_via_the_api(bureau: BureauProcess) -> None:
    bureau.admin.add_fault("latency", latency_ms=10, count=3)
    assert bureau.admin.faults()[0]["count"] == 3
    bureau.admin.clear_faults()
    assert bureau.admin.faults() == []
    bureau.admin.set_clock("2026-12-01T08:00")
    assert bureau.admin.health()["now"].startswith("2026-12-01T08:0")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/state/91420103MA9999999X", None),
        ("GET", "/v1/nothing", None),
        ("POST", "/v1/faults", {"kind": "meteor"}),
        ("POST", "/v1/clock", {"now": "yesterday"}),
        ("POST", "/v1/declaration", {"taxpayer": "0", "status": "late"}),
        ("POST", "/v1/declaration", {"taxpayer": "0", "status": "filed", "period": 202613}),
        ("POST", "/v1/certificate", {"taxpayer": None, "status": "valid"}),
        ("DELETE", "/v1/state", None),
    ],
)
def test_bad_admin_requests_are_refused(
    bureau: BureauProcess, method: str, path: str, body: dict[str, object] | None
) -> None:
    with pytest.raises(AdminCallError):
        bureau.admin.call(method, path, body)


def test_non_json_and_oversized_admin_bodies(bureau: BureauProcess) -> None:
    parts = urlsplit(bureau.ready.admin_url)
    for payload in (b"{not json", b"[1, 2]", b" " * (16 * 1024 + 1)):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        connection.request("POST", "/v1/faults", payload)
        response = connection.getresponse()
        assert response.status == 400 and "error" in json.loads(response.read())
        connection.close()


def test_admin_refuses_peers_off_the_loopback() -> None:
    assert AdminServer.verify_request(None, None, ("127.0.0.1", 5))  # type: ignore[arg-type]
    assert AdminServer.verify_request(None, None, ("::1", 5))  # type: ignore[arg-type]
    assert not AdminServer.verify_request(None, None, ("192.0.2.7", 5))  # type: ignore[arg-type]
    assert not AdminServer.verify_request(None, None, ())  # type: ignore[arg-type]


def test_bureau_ctl_cli(bureau: BureauProcess, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(bureau.data_dir)
    assert main(["sim", "bureau-ctl", "--data", data, "certificate", "2", "revoked"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "state", "2"]) == 0
    assert '"certificate": "revoked"' in capsys.readouterr().out
    assert main(["sim", "bureau-ctl", "--data", data, "fault", "reset", "--count", "2"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "clear-faults"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "declaration", "2", "missing"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "clock", "2026-11-06T09:00"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "expire-sessions", "2"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "reset", "2"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "stats"]) == 0
    assert main(["sim", "bureau-ctl", "--data", data, "state", "91420103MA9999999X"]) == 1


def test_bureau_ctl_without_a_simulator(tmp_path: Path) -> None:
    assert main(["sim", "bureau-ctl", "--data", str(tmp_path), "stats"]) == 2


def test_qingka_sim_bureau_runs_until_terminated(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "appliance.cli.main", "sim", "bureau"]
    command += ["--port", "0", "--data", str(tmp_path), "--now", "2026-11-05T10:00"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready = _await_ready(process, 30)
        assert Ready.from_dir(tmp_path) == ready
        assert (tmp_path / "ca.pem").exists() and (tmp_path / "bureau.sqlite3").exists()
        assert json.loads((tmp_path / "endpoints.json").read_text())["42"].endswith("/hubei")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert process.stdout is not None
        process.stdout.close()
    assert not (tmp_path / "ready.json").exists()


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_readiness_notices_parse_or_fail_typed(text: str | bytes) -> None:
    with contextlib.suppress(ValueError):
        Ready.from_json(text)


@given(
    st.dictionaries(
        st.sampled_from(["ready", "url", "admin_url", "ca_cert", "endpoints", "pid", "x"]),
        st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers())),
    )
)
def test_incomplete_notices_are_value_errors(data: dict[str, object]) -> None:
    with contextlib.suppress(ValueError):
        Ready.from_json(json.dumps(data))
