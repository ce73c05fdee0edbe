"""Hostile input: whatever bytes a client sends, the server answers sanely and stays up."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.api.protocol import MAX_REQUEST_LINE
from tests.appliance.api.harness import RawClient, ServerThread

KNOWN_CODES = {"A-400", "A-404", "A-413", "A-500", "E-042"}
PROBE_ID = "probe-after-garbage"
PROBE = b'{"id": "' + PROBE_ID.encode() + b'", "cmd": "ping"}\n'

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
# Requests that look nearly right: real and unknown commands, odd ids, random arguments. No
# command that sleeps, so every example stays quick.
near_requests = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "cmd": st.sampled_from(
            ["ping", "commands", "echo", "add", "subscribe", "unsubscribe", "crash", "refuse", "x"]
        )
        | json_values,
        "text": json_values,
        "a": json_values,
        "b": json_values,
        "topics": json_values,
    },
).flatmap(
    lambda fixed: st.dictionaries(st.text(max_size=8), json_values, max_size=2).map(
        lambda extra: {**extra, **fixed}
    )
)
garbage = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.binary(max_size=300), max_size=8).map(b"\n".join),
    st.lists(near_requests, min_size=1, max_size=6).map(
        lambda messages: b"\n".join(json.dumps(m).encode() for m in messages)
    ),
    st.lists(st.text(max_size=40), max_size=6).map(lambda lines: "\n".join(lines).encode()),
    st.integers(MAX_REQUEST_LINE - 2, MAX_REQUEST_LINE + 2).map(lambda size: b"{" * size),
)


def check_reply(message: dict[str, Any]) -> None:
    assert "event" not in message
    assert message["ok"] in (True, False)
    if message["ok"] is False:
        error = message["error"]
        assert error["code"] in KNOWN_CODES
        assert isinstance(error["message"], str)
        assert isinstance(error["message_zh"], str)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(garbage, st.lists(st.integers(1, 4000), max_size=5))
def test_garbage_never_stops_the_server_answering(
    served: ServerThread, data: bytes, cuts: list[int]
) -> None:
    raw = RawClient(served.server.path)
    try:
        position = 0
        for cut in sorted(cuts):
            raw.send(data[position:cut])
            position = max(position, cut)
        raw.send(data[position:] + b"\n" + PROBE)
        messages = raw.read_until_id(PROBE_ID)
        for message in messages:
            check_reply(message)
        assert messages[-1]["result"]["pong"] is True
    finally:
        raw.close()
    fresh = RawClient(served.server.path)
    try:
        assert fresh.request({"id": 1, "cmd": "ping"})["ok"] is True
    finally:
        fresh.close()
