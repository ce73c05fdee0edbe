"""Events: subscribe, publish from other threads, topics, and a stalled subscriber dropped alone."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from appliance.api.client import ApiClient
from appliance.api.server import ApiServer
from tests.appliance.api.harness import WAIT, RawClient, ServerThread, wait_until


def test_published_events_reach_a_subscriber_in_order(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client:
        events = client.subscribe()
        assert events.start_seq == 0

        def publish() -> None:
            for number in range(5):
                served.server.publish("step", {"step": "upload", "n": number})

        worker = threading.Thread(target=publish)
        worker.start()
        received = [next(events) for _ in range(5)]
        worker.join()
    assert [event["n"] for event in received] == [0, 1, 2, 3, 4]
    assert [event["seq"] for event in received] == [1, 2, 3, 4, 5]
    first = received[0]
    assert list(first) == ["event", "step", "n", "at", "seq"]
    assert first["event"] == "step"
    assert datetime.fromisoformat(first["at"]).tzinfo is not None


def test_topics_choose_the_events(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client:
        outcomes = client.subscribe(["outcome"])
        everything = client.subscribe()
        served.server.publish("step", {"step": "read"})
        served.server.publish("outcome", {"ok": True})
        assert next(outcomes)["event"] == "outcome"
        assert [next(everything)["event"], next(everything)["event"]] == ["step", "outcome"]


def test_the_subscribe_reply_gives_the_current_seq(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client:
        first = client.subscribe()
        for _ in range(3):
            served.server.publish("device", {})
        assert [next(first)["seq"] for _ in range(3)] == [1, 2, 3]
        assert client.subscribe(["warning"]).start_seq == 3


def test_connections_that_did_not_subscribe_get_no_events(served: ServerThread) -> None:
    raw = RawClient(served.server.path)
    assert raw.request({"id": 1, "cmd": "subscribe", "topics": ["step"]})["result"] == {
        "topics": ["step"],
        "seq": 0,
    }
    plain = RawClient(served.server.path)
    served.server.publish("step", {"n": 1})
    assert raw.read()["event"] == "step"
    assert raw.request({"id": 2, "cmd": "unsubscribe"})["ok"] is True
    served.server.publish("step", {"n": 2})
    # Replies come after any event already sent, so an event here would show up first.
    assert raw.request({"id": 3, "cmd": "ping"})["id"] == 3
    assert plain.request({"id": 4, "cmd": "ping"})["id"] == 4


def test_a_stalled_subscriber_is_dropped_while_others_carry_on(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(max_buffered=64 * 1024)
    path = served.server.path
    stalled = RawClient(path)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert stalled.request({"id": 1, "cmd": "subscribe"})["ok"] is True
    # From here on the stalled client never reads.

    client = ApiClient(path)
    events = client.subscribe()
    received: list[dict[str, Any]] = []
    seen = threading.Semaphore(0)

    def listen() -> None:
        for event in events:
            received.append(event)
            seen.release()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    padding = "x" * 4096
    slowest_call = 0.0
    for number in range(400):
        served.server.publish("step", {"n": number, "padding": padding})
        # Lockstep with the reader that keeps up: its buffer never holds more than one event.
        assert seen.acquire(timeout=WAIT)
        if number % 50 == 0:
            started = time.monotonic()
            assert client.call("ping")["pong"] is True
            slowest_call = max(slowest_call, time.monotonic() - started)
    wait_until(lambda: served.server.stats.dropped == 1, "the stalled subscriber to be dropped")
    assert [event["n"] for event in received] == list(range(400))
    assert [event["seq"] for event in received] == list(range(1, 401))
    # Commands are answered between events, not after the stream (generous: a loaded machine).
    assert slowest_call < 5
    assert served.server.stats.clients == 2

    # What the stalled client finds when it finally reads: what fitted, then the end.
    with pytest.raises((EOFError, ConnectionError)):
        while True:
            stalled.read()
    client.close()
    listener.join(WAIT)


def test_publish_never_waits_for_a_subscriber(start_server: Callable[..., ServerThread]) -> None:
    served = start_server(max_buffered=16 * 1024)
    stalled = RawClient(served.server.path)
    assert stalled.request({"id": 1, "cmd": "subscribe"})["ok"] is True
    started = time.monotonic()
    for number in range(2000):
        served.server.publish("step", {"n": number, "padding": "x" * 1024})
    # A publisher that waited on the stalled reader would never get here.
    assert time.monotonic() - started < 30
    wait_until(lambda: served.server.stats.dropped == 1, "the stalled subscriber to be dropped")


def test_publish_refuses_bad_events(served: ServerThread) -> None:
    with pytest.raises(ValueError, match="envelope"):
        served.server.publish("step", {"seq": 5})
    with pytest.raises(ValueError, match="event type"):
        served.server.publish("Step!", {})
    with pytest.raises(TypeError):
        served.server.publish("step", {"when": object()})
    with pytest.raises(ValueError, match="larger"):
        served.server.publish("step", {"blob": "x" * (5 * 1024 * 1024)})


def test_publish_before_start_and_after_close_is_ignored(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server()
    unstarted = ApiServer(served.server.path.with_name("other.sock"))
    unstarted.publish("step", {})
    assert unstarted.stats.seq == 0
    assert not unstarted.path.exists()
    served.stop()
    sequence = served.server.stats.seq
    served.server.publish("step", {})
    assert served.server.stats.seq == sequence
