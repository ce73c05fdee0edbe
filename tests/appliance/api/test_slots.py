"""Slots are never held for good: idle connections time out, newcomers take the least active slot,
and a daemon with no slot free says it is busy, which the client tells from "not running"."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.api.client import ApiClient, DaemonStatus, is_running, status_of
from appliance.api.errors import ApiBusy, ApiUnavailable, ConnectionClosed, DaemonNotRunning
from appliance.api.server import MAX_CLIENTS
from tests.appliance.api.harness import WAIT, RawClient, ServerThread, wait_until


def ping(raw: RawClient, request_id: object = "p") -> None:
    assert raw.request({"id": request_id, "cmd": "ping"})["ok"] is True


def goodbye_of(raw: RawClient) -> dict[str, Any]:
    """Return the last line the server sent before closing, and check that it closed."""
    message = raw.read()
    with pytest.raises((EOFError, ConnectionError)):
        raw.read()
    return message


# -- the lock-out of the field report --------------------------------------------------------


def test_a_full_house_of_idle_clients_locks_nobody_out(served: ServerThread) -> None:
    path = served.server.path
    idle = [RawClient(path) for _ in range(MAX_CLIENTS)]
    wait_until(lambda: served.server.stats.clients == MAX_CLIENTS, "every slot to be taken")
    with ApiClient(path) as client:
        assert client.call("ping")["pong"] is True
    assert is_running(path) is True
    # The slot came from the client that had been idle longest: the first one.
    goodbye = goodbye_of(idle[0])
    assert goodbye["id"] is None and goodbye["error"]["code"] == "A-408"
    assert goodbye["error"]["details"] == {"reason": "evicted"}
    assert goodbye["error"]["message_zh"]


def test_an_idle_connection_is_closed_with_a_last_line(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(idle_timeout=0.3)
    started = time.monotonic()  # before the connection: the server's timer starts with it
    raw = RawClient(served.server.path)
    goodbye = goodbye_of(raw)
    assert 0.3 <= time.monotonic() - started < 0.3 + 2.0
    assert goodbye["error"]["code"] == "A-408"
    assert goodbye["error"]["details"] == {"reason": "idle"}
    assert "0.3 s" in goodbye["error"]["message"]
    assert served.server.stats.idle_closed == 1


def test_a_client_that_keeps_asking_is_not_idle(start_server: Callable[..., ServerThread]) -> None:
    served = start_server(idle_timeout=0.8)
    raw = RawClient(served.server.path)
    for number in range(15):
        ping(raw, number)
        time.sleep(0.1)
    assert served.server.stats.idle_closed == 0


def test_bytes_that_never_make_a_request_are_not_activity(
    start_server: Callable[..., ServerThread],
) -> None:
    # A slow-loris client: a byte now and then, never a whole line.
    served = start_server(idle_timeout=0.3)
    raw = RawClient(served.server.path)
    with pytest.raises((EOFError, ConnectionError, OSError)):
        for _ in range(40):
            raw.send(b"{")
            time.sleep(0.05)
        raw.read()
    assert served.server.stats.idle_closed == 1


def test_a_long_command_is_not_idle(start_server: Callable[..., ServerThread]) -> None:
    served = start_server(idle_timeout=0.2)
    with ApiClient(served.server.path, timeout=WAIT) as client:
        assert client.call("block", seconds=0.6) == "done"
    assert served.server.stats.idle_closed == 0


def test_a_kept_connection_closed_for_idleness_is_replaced_quietly(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(idle_timeout=0.2)
    with ApiClient(served.server.path) as client:
        assert client.call("add", a=1, b=2) == 3
        wait_until(lambda: served.server.stats.idle_closed == 1, "the idle close")
        assert client.call("add", a=2, b=2) == 4


# -- subscribers ---------------------------------------------------------------------------


def test_a_reading_subscriber_is_never_idle_and_hears_keepalives(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(idle_timeout=0.2, keepalive=0.1)
    raw = RawClient(served.server.path)
    assert raw.request({"id": 1, "cmd": "subscribe"})["ok"] is True
    seen = [raw.read() for _ in range(5)]  # half a second of a quiet box
    assert all(message.get("keepalive") is True for message in seen)
    assert all("event" not in message and "id" not in message for message in seen)
    assert served.server.stats.idle_closed == 0


def test_the_client_passes_keepalives_over(start_server: Callable[..., ServerThread]) -> None:
    served = start_server(keepalive=0.05)
    with ApiClient(served.server.path) as client:
        events = client.subscribe()
        time.sleep(0.3)
        served.server.publish("step", {"n": 1})
        assert next(events)["event"] == "step"


def test_a_subscriber_that_stops_reading_is_dropped(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(keepalive=0.05, stall_timeout=0.4)
    raw = RawClient(served.server.path)
    assert raw.request({"id": 1, "cmd": "subscribe"})["ok"] is True
    # From here on it never reads: the keepalives pile up unread.
    wait_until(lambda: served.server.stats.dropped == 1, "the stalled subscriber to be dropped")


def test_a_reading_subscriber_keeps_its_slot_when_idle_clients_arrive(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(max_clients=3, keepalive=0.05)
    path = served.server.path
    kiosk = ApiClient(path)
    events = kiosk.subscribe()  # the oldest connection of all
    received: list[dict[str, Any]] = []

    def listen() -> None:
        received.extend(events)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.2)  # keepalives read: the subscriber shows it is alive
    crowd = [RawClient(path) for _ in range(6)]  # each newcomer evicts the least active
    ping(crowd[-1])
    served.server.publish("step", {"n": 1})
    wait_until(lambda: bool(received), "the kiosk to get the event")
    assert received[0]["n"] == 1
    kiosk.close()
    listener.join(WAIT)


# -- busy, and telling busy from absent ----------------------------------------------------------


def test_a_daemon_whose_every_client_runs_a_command_is_busy_not_absent(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(max_clients=2)
    path = served.server.path
    workers = [RawClient(path) for _ in range(2)]
    for worker in workers:
        worker.send(json.dumps({"id": 1, "cmd": "block", "seconds": 1.0}).encode() + b"\n")
    wait_until(lambda: served.server.stats.requests == 2, "both commands to run")
    with ApiClient(path) as client, pytest.raises(ApiBusy) as caught:
        client.call("ping")
    assert caught.value.code == "A-429"
    assert isinstance(caught.value, ApiUnavailable)
    assert "busy" in caught.value.message and "忙" in caught.value.message_zh
    assert status_of(path) is DaemonStatus.BUSY
    assert is_running(path) is True
    for worker in workers:
        assert worker.read()["result"] == "done"
    assert status_of(path) is DaemonStatus.RUNNING


def test_absent_is_told_apart(socket_dir: Path) -> None:
    path = socket_dir / "api.sock"
    assert status_of(path) is DaemonStatus.ABSENT
    with ApiClient(path) as client, pytest.raises(DaemonNotRunning):
        client.call("ping")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    assert status_of(path) is DaemonStatus.ABSENT
    assert is_running(path) is False


def test_a_request_the_daemon_closed_unread_is_sent_again(socket_dir: Path) -> None:
    # The daemon closes a connection (idle, or evicted) just as the request arrives: it says
    # so, the request never ran, and the client sends it again on a new connection.
    path = socket_dir / "fake.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(2)
    seen: list[bytes] = []
    goodbye = (
        b'{"id":null,"ok":false,"error":{"code":"A-408","message":"closed","message_zh":"x",'
        b'"details":{"reason":"idle"}}}\n'
    )

    def serve() -> None:
        for answer in (goodbye, b'{"id": 1, "ok": true, "result": "ran once"}\n'):
            conn, _ = listener.accept()
            with conn:
                seen.append(conn.recv(65536))
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with ApiClient(path) as client:
        assert client.call("ping") == "ran once"
    thread.join(WAIT)
    listener.close()
    assert len(seen) == 2


def test_a_subscription_closed_by_the_daemon_raises_connection_closed(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(max_clients=1)
    with ApiClient(served.server.path) as client:
        events = client.subscribe()
        with ApiClient(served.server.path) as other:
            assert other.call("ping")["pong"] is True  # takes the subscriber's slot
        with pytest.raises(ConnectionClosed) as caught:
            next(events)
        assert caught.value.code == "A-408"


def test_a_subscription_the_daemon_closed_unread_is_asked_again(socket_dir: Path) -> None:
    path = socket_dir / "fake.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(2)
    goodbye = (
        b'{"id":null,"ok":false,"error":{"code":"A-408","message":"closed","message_zh":"x",'
        b'"details":{"reason":"evicted"}}}\n'
    )
    subscribed = b'{"id":1,"ok":true,"result":{"topics":null,"seq":7}}\n{"event":"step","seq":8}\n'
    connections: list[socket.socket] = []

    def serve() -> None:
        for answer in (goodbye, subscribed):
            conn, _ = listener.accept()
            connections.append(conn)
            conn.recv(65536)
            conn.sendall(answer)
            if answer is goodbye:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with ApiClient(path) as client:
        events = client.subscribe()
        assert events.start_seq == 7
        assert next(events)["seq"] == 8
    thread.join(WAIT)
    listener.close()
    for conn in connections:
        conn.close()
    assert len(connections) == 2
