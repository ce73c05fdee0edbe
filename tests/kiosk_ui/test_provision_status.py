"""Provisioning's status file as the kiosk reads it: real files, garbage, staleness."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clock import clock
from kiosk_ui.gallery import provision_applied, provision_refused, provision_working
from kiosk_ui.provision_status import (
    MAX_STATUS_BYTES,
    ProvisionStatus,
    ProvisionTracker,
    Shown,
    StatusUnreadable,
    is_stale,
    parse_status,
    pid_alive,
    read_status,
)
from kiosk_ui.provision_views import provision_result_view, working_view
from kiosk_ui.provision_watch import ProvisionWatch
from provisioning import outbox


def _dead_pid() -> int:
    """Return the id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write(path: Path, fields: dict[str, Any]) -> None:
    """Write the status file with provisioning's own writer (it adds updated_at and its pid)."""
    outbox.write_status(path, fields)


def _encode(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def test_what_provisioning_writes_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "run" / "provision.json"
    _write(path, {k: v for k, v in provision_working().items() if k not in ("updated_at", "pid")})
    working = read_status(path)
    assert working is not None and working.working
    assert (working.box_id, working.pid, working.code) == ("qk-3f9a2c41d07e", os.getpid(), None)
    assert abs(working.updated_at - clock().now()) < timedelta(seconds=5)

    _write(path, provision_refused())
    refused = read_status(path)
    assert refused is not None and refused.state == "refused"
    assert (refused.code, refused.serial, refused.report) == ("P-208", 9, True)
    assert refused.message_zh.startswith("这个配置包不是给本机的")
    view = provision_result_view(refused, "zh")
    assert (view.tone, view.title, view.code_line) == ("error", "配置包未被接受", "代码 P-208")
    assert view.box_line == "本机编号 qk-3f9a2c41d07e"
    assert view.todo == refused.action_zh and view.report_line == "配置报告已写入U盘"
    assert provision_result_view(refused, "en").what == refused.message_en


def test_no_file_is_no_status(tmp_path: Path) -> None:
    assert read_status(tmp_path / "provision.json") is None


def test_a_fifo_or_a_link_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(StatusUnreadable, match="regular file"):
        read_status(fifo)
    real = tmp_path / "real.json"
    real.write_bytes(_encode(provision_applied()))
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with pytest.raises(StatusUnreadable):
        read_status(link)


def _good() -> dict[str, Any]:
    return provision_applied()


GARBAGE: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not json", b"{state: working"),
    ("not utf-8", b'{"state": "\xff"}'),
    ("an array", b"[1, 2]"),
    ("a string", b'"working"'),
    ("deep", b"[" * 100_000 + b"]" * 100_000),
    ("too large", _encode({**_good(), "message_zh": "x" * 100}) + b" " * MAX_STATUS_BYTES),
    ("unknown state", _encode({**_good(), "state": "done"})),
    ("no state", _encode({k: v for k, v in _good().items() if k != "state"})),
    ("no time", _encode({k: v for k, v in _good().items() if k != "updated_at"})),
    ("bad time", _encode({**_good(), "updated_at": "yesterday"})),
    ("time a number", _encode({**_good(), "updated_at": 1_700_000_000})),
    ("bad code", _encode({**_good(), "code": "P-2O4"})),
    ("code a number", _encode({**_good(), "code": 204})),
    ("pid a flag", _encode({**_good(), "pid": True})),
    ("pid zero", _encode({**_good(), "pid": 0})),
    ("pid huge", _encode({**_good(), "pid": 2**40})),
    ("serial negative", _encode({**_good(), "serial": -1})),
    ("message a list", _encode({**_good(), "message_zh": ["a"]})),
    ("message a novel", _encode({**_good(), "action_en": "x" * 5000})),
    ("box id long", _encode({**_good(), "box_id": "qk-" + "0" * 100})),
    ("report a word", _encode({**_good(), "report": "yes"})),
]


@pytest.mark.parametrize("raw", [raw for _, raw in GARBAGE], ids=[name for name, _ in GARBAGE])
def test_garbage_is_refused_in_words(raw: bytes) -> None:
    with pytest.raises(StatusUnreadable) as caught:
        parse_status(raw)
    assert str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    try:
        status = parse_status(raw)
    except StatusUnreadable:
        return
    assert isinstance(status, ProvisionStatus)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_FIELDS = st.sampled_from(
    ["state", "code", "message_zh", "action_en", "box_id", "serial", "started_at", "pid", "report"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_FIELDS, _JSON | st.sampled_from(["working", "applied", "P-204"])))
def test_any_fields_over_a_good_file_parse_or_are_refused(changes: dict[str, Any]) -> None:
    try:
        status = parse_status(_encode({**_good(), **changes}))
    except StatusUnreadable:
        return
    assert status.state in ("working", "applied", "enrolled", "refused", "failed")


def _status(state: str = "working", age_s: float = 0.0, pid: int | None = None) -> ProvisionStatus:
    moment = clock().now() - timedelta(seconds=age_s)
    fields = {**provision_working(), "state": state, "updated_at": moment.isoformat()}
    fields["pid"] = pid if pid is not None else os.getpid()
    return parse_status(_encode(fields))


def test_a_working_file_of_a_gone_process_or_older_than_ten_minutes_is_stale() -> None:
    now = clock().now()
    assert pid_alive(os.getpid()) and pid_alive(1)  # pid 1 may be another user's: still alive
    assert not is_stale(_status(), now, pid_alive)
    assert is_stale(_status(pid=_dead_pid()), now, pid_alive)
    assert not is_stale(_status(age_s=9 * 60), now, pid_alive)
    assert is_stale(_status(age_s=11 * 60), now, pid_alive)
    assert is_stale(_status(age_s=-11 * 60), now, pid_alive)  # the clock went back
    # A result is what happened: it never goes stale.
    assert not is_stale(_status("applied", age_s=3600, pid=_dead_pid()), now, pid_alive)


def test_each_result_shows_once_and_a_new_apply_hides_nothing_old() -> None:
    tracker = ProvisionTracker()
    now = clock().now()
    assert tracker.update(None, now) == Shown(None, None)
    working = _status()
    assert tracker.update(working, now) == Shown(working, None)
    applied = _status("applied")
    assert tracker.update(applied, now) == Shown(None, applied)
    assert tracker.update(applied, now) == Shown(None, None)  # the same file, read again
    later = _status("refused", age_s=-30)
    assert tracker.update(later, now) == Shown(None, later)  # a new updated_at
    assert tracker.update(_status(pid=_dead_pid()), now) == Shown(None, None)  # stale


def test_a_result_from_long_before_the_kiosk_started_is_not_shown_again() -> None:
    now = clock().now()
    old = _status("applied", age_s=30 * 60)
    assert ProvisionTracker().update(old, now) == Shown(None, None)
    recent = _status("applied", age_s=60)  # the kiosk was restarted by this very apply
    assert ProvisionTracker().update(recent, now) == Shown(None, recent)


def test_the_working_view_says_how_long_and_which_box() -> None:
    status = parse_status(_encode(provision_working()))
    view = working_view(status, "zh", clock().now())
    assert (view.title, view.box_line, view.elapsed) == (
        "正在配置…",
        "本机编号 qk-3f9a2c41d07e",
        "已用时 0:42",
    )
    bare = parse_status(_encode({"state": "working", "updated_at": clock().stamp()}))
    assert working_view(bare, "en", clock().now()).box_line == ""


class _Collect:
    def __init__(self) -> None:
        self.shown: list[Shown] = []

    def post(self, callback: Any) -> None:
        callback()  # no UI thread here: run at once


def test_the_watcher_reads_changes_once_and_logs_garbage_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "provision.json"
    got = _Collect()
    watch = ProvisionWatch(path, got.shown.append, got.post)
    watch.poll()
    assert got.shown == []  # no file: nothing to say
    _write(path, {k: v for k, v in provision_working().items() if k not in ("updated_at", "pid")})
    watch.poll()
    watch.poll()
    assert len(got.shown) == 1 and got.shown[0].working is not None
    with caplog.at_level(logging.WARNING, logger="qingka.kiosk"):
        path.write_bytes(b"\x00garbage")
        watch.poll()
        watch.poll()
    assert len(got.shown) == 1  # the last good reading stands
    logged = [r.getMessage() for r in caplog.records if "provisioning status" in r.getMessage()]
    assert len(logged) == 1 and "not JSON" in logged[0]  # once per version of the file
    _write(path, provision_applied())
    watch.poll()
    assert got.shown[-1].working is None and got.shown[-1].result is not None
    path.unlink()
    watch.poll()
    assert len(got.shown) == 2  # the result stays until dismissed; nothing new to say


def test_the_watcher_drops_the_overlay_when_the_apply_dies(tmp_path: Path) -> None:
    path = tmp_path / "provision.json"
    got = _Collect()
    pids = {"alive": True}
    watch = ProvisionWatch(path, got.shown.append, got.post, alive=lambda _pid: pids["alive"])
    path.write_bytes(_encode(provision_working()))
    watch.poll()
    assert got.shown[-1].working is not None
    pids["alive"] = False  # killed: the file stays as it was
    watch.poll()
    assert got.shown[-1] == Shown(None, None)


def test_a_working_file_that_goes_away_is_followed_by_its_process(tmp_path: Path) -> None:
    # /run/qingka is the daemon's runtime directory: the daemon restart an apply makes empties it.
    path = tmp_path / "provision.json"
    got = _Collect()
    pids = {"alive": True}
    watch = ProvisionWatch(path, got.shown.append, got.post, alive=lambda _pid: pids["alive"])
    working = _encode(provision_working())
    path.write_bytes(working)
    watch.poll()
    path.unlink()
    watch.poll()
    assert got.shown == [Shown(parse_status(working), None)]
    pids["alive"] = False
    watch.poll()
    assert got.shown[-1] == Shown(None, None)
    path.write_bytes(_encode(provision_applied()))
    watch.poll()
    assert got.shown[-1].result is not None


def test_a_time_without_offset_is_china_time() -> None:
    naive = datetime(2026, 11, 5, 20, 3).isoformat()
    status = parse_status(_encode({"state": "applied", "updated_at": naive}))
    assert status.updated_at.utcoffset() == timedelta(hours=8)
