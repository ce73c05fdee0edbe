"""The command parser: strict shape, caps, freshness; garbage never escapes as another error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.health.commands import (
    MAX_COMMAND_BYTES,
    Command,
    check_fresh,
    parse_command,
)
from appliance.health.errors import CommandRejected
from appliance.health.topics import BoxTopics

NOW = datetime(2026, 11, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _raw(**fields: object) -> bytes:
    body = {"id": "r-1", "issued": NOW.isoformat(), "command": "clear", "args": {}}
    body.update(fields)
    return json.dumps(body).encode()


def test_good_commands() -> None:
    assert parse_command(_raw()) == Command("r-1", NOW, "clear", {})
    assert parse_command(_raw(args={"device": "661100000001"})).args == {"device": "661100000001"}
    assert parse_command(_raw(command="set-policy", args={"policy": "auto"})).name == "set-policy"
    assert parse_command(_raw(command="diagnostics", args={"lines": 10})).args["lines"] == 10
    assert parse_command(_raw(command="refresh")).name == "refresh"
    update = {"url": "https://updates.example/qingka-2026.2.raucb", "sha256": "ab" * 32}
    assert parse_command(_raw(command="update", args=update)).args == update


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "F-400"),
        (b"[]", "F-400"),
        (b"\xff\xfe", "F-400"),
        (_raw(command="reboot"), "F-404"),
        (_raw(id=""), "F-400"),
        (_raw(id="a b"), "F-400"),
        (_raw(id=7), "F-400"),
        (_raw(issued="yesterday"), "F-400"),
        (_raw(issued="2026-11-05T10:00:00"), "F-400"),
        (_raw(args=[]), "F-400"),
        (_raw(args={"device": 5}), "F-400"),
        (_raw(args={"force": True}), "F-400"),
        (_raw(command="set-policy", args={}), "F-400"),
        (_raw(command="set-policy", args={"policy": "never"}), "F-400"),
        (_raw(command="diagnostics", args={"lines": 10_000}), "F-400"),
        (_raw(command="diagnostics", args={"lines": True}), "F-400"),
        (_raw(extra=1), "F-400"),
        (_raw(args={"device": "x" * 400}), "F-400"),
        (_raw(command="update", args={"url": "https://u.example/b", "sha256": "AB" * 32}), "F-400"),
        (_raw(command="update", args={"url": "http://u.example/b", "sha256": "ab" * 32}), "F-400"),
        (_raw(command="update", args={"url": "https://u.example/b"}), "F-400"),
        (b" " * (MAX_COMMAND_BYTES + 1), "F-413"),
    ],
)
def test_bad_commands_are_refused_with_a_code(raw: bytes, code: str) -> None:
    with pytest.raises(CommandRejected) as caught:
        parse_command(raw)
    assert caught.value.code == code
    assert caught.value.message_zh and caught.value.message_en


def test_freshness_window_both_ways() -> None:
    command = parse_command(_raw())
    check_fresh(command, NOW + timedelta(seconds=299), 300)
    check_fresh(command, NOW - timedelta(seconds=299), 300)
    for skew in (301, -301):
        with pytest.raises(CommandRejected) as caught:
            check_fresh(command, NOW + timedelta(seconds=skew), 300)
        assert caught.value.code == "F-408"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    try:
        parse_command(raw)
    except CommandRejected:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=70), _json),
            "issued": st.one_of(st.datetimes(timezones=st.just(ZoneInfo("UTC"))).map(str), _json),
            "command": st.one_of(st.sampled_from(["clear", "refresh", "set-policy", "x"]), _json),
            "args": _json,
        },
    )
)
def test_json_shaped_garbage_is_refused_or_well_formed(body: dict) -> None:
    try:
        command = parse_command(json.dumps(body).encode())
    except CommandRejected:
        return
    assert command.name in ("clear", "refresh", "set-policy", "diagnostics")
    assert command.issued.tzinfo is not None


@pytest.mark.parametrize(
    ("raw", "command"),
    [
        (_raw(command="set-policy", args={"policy": "never"}), "set-policy"),
        (_raw(args={"device": "bad device!"}), "clear"),
        (_raw(command="reboot"), None),
        (_raw(issued="yesterday"), "clear"),
    ],
)
def test_a_refusal_after_the_id_was_read_answers_that_id(raw: bytes, command: str | None) -> None:
    """The sender matches results by id: a refusal with no id leaves it waiting out its timeout."""
    with pytest.raises(CommandRejected) as caught:
        parse_command(raw)
    assert (caught.value.request_id, caught.value.command) == ("r-1", command)


def test_a_refusal_before_the_id_was_read_has_none() -> None:
    with pytest.raises(CommandRejected) as caught:
        parse_command(_raw(id="a b"))
    assert caught.value.request_id is None


@pytest.mark.parametrize(
    ("topic", "owned"),
    [
        ("qingka/s/b/cmd/result", True),
        ("qingka/s/b/cmd/result/fleet-1", True),
        ("qingka/s/b/cmd/result/#", False),  # a filter: publishing to it fails
        ("qingka/s/b/cmd/result/+/x", False),
        ("qingka/s/b/cmd/result/\0", False),
        ("qingka/s/b/cmd/result/" + "x" * 600, False),
        ("qingka/s/other/cmd/result", False),
    ],
)
def test_only_plain_topics_under_the_box_take_its_results(topic: str, owned: bool) -> None:
    assert BoxTopics("s", "b").owns_result_topic(topic) is owned
