"""The device core runs unchanged under the MicroPython unix port: a whole session, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from appliance.calendar import default_calendar
from appliance.protocol import sense
from simulators import catalog
from simulators.device.core import ec_native
from simulators.device.scenarios import build, epoch_of
from tests.simulators.device.conftest import ANCHOR

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
MICROPYTHON = Path(sys.executable).parent / "micropython"


def test_a_whole_session_under_micropython(tmp_path: Path) -> None:
    built = build("needs-clearing", ANCHOR, default_calendar())
    built.state["clock_offset"] = 0
    params = tmp_path / "params.json"
    params.write_text(
        json.dumps(
            {
                "state": built.state,
                "epoch": epoch_of(ANCHOR),
                "bureau": f"{catalog.bureau_private_scalar():x}",
                "next_lock": 20261215235959,
            }
        ),
        "utf-8",
    )
    result = subprocess.run(
        [str(MICROPYTHON), str(HERE / "mp_session.py"), str(ROOT), str(params)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["identify"] == "661900000000"
    assert out["wrong_pin"] == sense.SW_PIN_WRONG | 4
    assert out["pin"] == 5
    assert out["clock"] == 20261105100000
    assert out["types"] == ["007", "026"]
    assert [copy["period"] for copy in out["copies"]] == [202610, 202610]
    assert all(copy["zxbsrq"] == 20261105 for copy in out["copies"])
    public = bytes.fromhex(out["public_key"])
    assert public == catalog.public_key_bytes(catalog.device_private_scalar("661900000000"))
    for summary in out["summaries"]:
        assert summary["verified"]
        # Signed by pure Python on MicroPython, verified by OpenSSL here, and identical bytes.
        signed = bytes.fromhex(summary["signed"])
        assert ec_native.verify(public, signed, bytes.fromhex(summary["signature"]))
        scalar = catalog.device_private_scalar("661900000000")
        assert ec_native.sign(scalar, signed).hex() == summary["signature"]
    assert out["clear"] == {"types": ["007", "026"], "kpjzsj": 20261215235959}
    assert out["again"] == sense.SW_ALREADY_CLEARED
    assert out["summary_after"] == sense.SW_NO_SUMMARY
    assert out["kpjzsj_after"] == 20261215235959
    assert out["counters"]["verify_pin"] == 2
    assert out["counters"]["request_sense"] == 3
    assert out["saves"] == 2 + 2 + 1  # two PIN checks, two copies, one clearing
