"""The server on a real Unix socket: answers, every error path, concurrency, socket file, close."""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.api.client import ApiClient
from appliance.api.errors import ApiError, ApiUnavailable, SocketPathBusy
from appliance.api.protocol import MAX_REQUEST_LINE
from appliance.api.schema import ArgSchema
from appliance.api.server import ApiServer
from tests.appliance.api.harness import RawClient, ServerThread, naps, wait_until


def ping(raw: RawClient, request_id: object = "after") -> None:
    """Assert the connection still answers a valid request."""
    assert raw.request({"id": request_id, "cmd": "ping"})["ok"] is True


def test_sync_and_async_handlers_answer(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client:
        assert client.call("echo", text="已清卡") == {"text": "已清卡", "count": 1}
        assert client.call("add", a=2, b=40) == 42
        assert client.call("ping") == {"pong": True, "seq": 0}


def test_the_reply_carries_the_request_id(served: ServerThread) -> None:
    raw = RawClient(served.server.path)
    assert raw.request({"id": "abc", "cmd": "add", "a": 1, "b": 2}) == {
        "id": "abc",
        "ok": True,
        "result": 3,
    }
    assert raw.request({"id": 7, "cmd": "add", "a": 1, "b": 2})["id"] == 7


def test_commands_lists_builtins_and_registered(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client:
        names = client.call("commands")
    assert {"subscribe", "unsubscribe", "ping", "commands", "echo", "crash"} <= set(names)


@pytest.mark.parametrize(
    ("line", "code", "reply_id"),
    [
        (b"{not json", "A-400", None),
        (b"\xff\xfe\xfd", "A-400", None),
        (b"[1, 2, 3]", "A-400", None),
        (b'{"cmd": "ping"}', "A-400", None),
        (b'{"id": true, "cmd": "ping"}', "A-400", None),
        (b'{"id": 1}', "A-400", 1),
        (b'{"id": 1, "cmd": 5}', "A-400", 1),
        (b'{"id": 1, "cmd": "no_such_thing"}', "A-404", 1),
        (b'{"id": 1, "cmd": "add", "a": "1", "b": 2}', "A-400", 1),
        (b'{"id": 1, "cmd": "add", "a": 1}', "A-400", 1),
        (b'{"id": 1, "cmd": "echo", "text": "x", "extra": 1}', "A-400", 1),
        (b'{"id": 1, "cmd": "subscribe", "topics": ["Bad Topic"]}', "A-400", 1),
        (b'{"id": 1, "cmd": "crash"}', "A-500", 1),
        (b'{"id": 1, "cmd": "unencodable"}', "A-500", 1),
        (b'{"id": 1, "cmd": "huge"}', "A-500", 1),
    ],
)
def test_every_error_answers_and_the_connection_keeps_working(
    served: ServerThread, line: bytes, code: str, reply_id: object
) -> None:
    raw = RawClient(served.server.path)
    raw.send(line + b"\n")
    reply = raw.read()
    assert reply["id"] == reply_id
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    assert reply["error"]["message"]
    assert reply["error"]["message_zh"]
    ping(raw)


def test_a_handler_crash_is_logged_and_answered_generically(
    served: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="appliance.api.server"):
        raw = RawClient(served.server.path)
        reply = raw.request({"id": 1, "cmd": "crash"})
    assert "handler bug" not in json.dumps(reply)
    assert any(
        record.exc_info and "handler bug" in str(record.exc_info[1]) for record in caplog.records
    )
    ping(raw)


def test_an_api_error_from_a_handler_reaches_the_client(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client:
        with pytest.raises(ApiError) as caught:
            client.call("refuse")
        assert (caught.value.code, caught.value.message_zh) == ("E-042", "税盘占用中")
        assert caught.value.details == {"device": "sim-1"}
        assert client.call("add", a=1, b=1) == 2


def test_an_oversized_line_is_refused_at_once_and_the_rest_of_it_ignored(
    served: ServerThread,
) -> None:
    raw = RawClient(served.server.path)
    # No newline yet: the refusal must not wait for one (the line might never end).
    raw.send(b'{"id": 1, "cmd": "echo", "text": "' + b"x" * (MAX_REQUEST_LINE + 10))
    reply = raw.read()
    assert reply["id"] is None
    assert reply["error"]["code"] == "A-413"
    raw.send(b"y" * 200_000)
    raw.send(b'", "cmd": "add", "a": 1, "b": 1, "id": 99}\n')
    raw.send(b'{"id": 2, "cmd": "ping"}\n')
    assert raw.read()["id"] == 2


def test_blank_lines_are_ignored(served: ServerThread) -> None:
    raw = RawClient(served.server.path)
    raw.send(b"\n\r\n  \n")
    ping(raw)


def test_pipelined_requests_are_answered_as_they_finish(served: ServerThread) -> None:
    raw = RawClient(served.server.path)
    raw.send(b'{"id": "slow", "cmd": "nap", "seconds": 0.3}\n{"id": "fast", "cmd": "ping"}\n')
    assert [raw.read()["id"], raw.read()["id"]] == ["fast", "slow"]


def test_fifty_clients_at_once(served: ServerThread) -> None:
    results: dict[int, list[Any]] = {}
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            with ApiClient(served.server.path, timeout=10) as client:
                results[number] = [
                    client.call("nap", seconds=0.2),
                    client.call("add", a=number, b=1),
                    client.call("echo", text=str(number))["text"],
                ]
        except BaseException as error:
            errors.append(error)

    naps.most = 0
    threads = [threading.Thread(target=work, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert results == {n: ["rested", n + 1, str(n)] for n in range(50)}
    # Served concurrently, not one after the other: many naps were in progress at once.
    assert naps.most >= 10


def test_a_blocking_sync_handler_does_not_stall_other_clients(served: ServerThread) -> None:
    slow = RawClient(served.server.path)
    slow.send(b'{"id": 1, "cmd": "block", "seconds": 10}\n')
    wait_until(lambda: served.server.stats.requests == 1, "the blocking request to run")
    with ApiClient(served.server.path, timeout=30) as client:
        client.call("ping")
    # Answered while the blocking handler still holds its thread: its reply has not come yet.
    readable, _, _ = select.select([slow.sock], [], [], 0)
    assert readable == []
    assert slow.read()["result"] == "done"


def test_a_client_past_the_limit_takes_the_slot_of_the_least_active(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(max_clients=2)
    first, second = RawClient(served.server.path), RawClient(served.server.path)
    ping(first)
    ping(second)
    third = RawClient(served.server.path)
    ping(third)
    # The first asked longest ago: it was told why, then closed.
    goodbye = first.read()
    assert (goodbye["id"], goodbye["error"]["code"]) == (None, "A-408")
    assert goodbye["error"]["details"] == {"reason": "evicted"}
    with pytest.raises(EOFError):
        first.read()
    ping(second)
    assert served.server.stats.evicted == 1
    assert served.server.stats.clients == 2


def test_a_client_that_half_closes_still_gets_its_reply(served: ServerThread) -> None:
    raw = RawClient(served.server.path)
    raw.send(b'{"id": 1, "cmd": "nap", "seconds": 0.1}\n')
    raw.sock.shutdown(socket.SHUT_WR)
    assert raw.read() == {"id": 1, "ok": True, "result": "rested"}


def test_the_socket_file_has_the_default_mode(served: ServerThread) -> None:
    info = served.server.path.lstat()
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660


def test_the_socket_file_gets_the_mode_and_group_asked_for(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server(mode=0o600, group=os.getgid())
    info = served.server.path.lstat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_gid == os.getgid()
    assert [entry.name for entry in served.server.path.parent.iterdir()] == ["api.sock"]


def test_an_unknown_group_is_refused(socket_dir: Path) -> None:
    server = ApiServer(socket_dir / "api.sock", group="no-such-group-qingka")
    with pytest.raises(ValueError, match="unknown group"):
        ServerThread(server).start()
    assert not (socket_dir / "api.sock").exists()


def test_a_stale_socket_file_is_replaced(start_server: Callable[..., ServerThread]) -> None:
    path = start_server().server.path
    # What a crashed daemon leaves: the file, and nobody listening.
    path.unlink()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    assert path.exists()
    with ApiClient(path) as client, pytest.raises(ApiUnavailable):
        client.call("ping")

    second = ApiServer(path)
    thread = ServerThread(second).start()
    try:
        with ApiClient(path) as client:
            assert client.call("ping")["pong"] is True
    finally:
        thread.stop()


def test_a_second_daemon_on_the_same_socket_refuses_to_start(served: ServerThread) -> None:
    second = ServerThread(ApiServer(served.server.path))
    with pytest.raises(SocketPathBusy, match="another daemon"):
        second.start()
    with ApiClient(served.server.path) as client:
        assert client.call("ping")["pong"] is True


def test_a_path_that_is_not_a_socket_is_left_alone(socket_dir: Path) -> None:
    path = socket_dir / "api.sock"
    path.write_text("not mine")
    with pytest.raises(SocketPathBusy, match="not a socket"):
        ServerThread(ApiServer(path)).start()
    assert path.read_text() == "not mine"


def test_close_disconnects_clients_and_removes_the_socket(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server()
    raw = RawClient(served.server.path)
    ping(raw)
    waiting = RawClient(served.server.path)
    waiting.send(b'{"id": 1, "cmd": "nap", "seconds": 60}\n')
    wait_until(lambda: served.server.stats.clients == 2, "both clients")
    started = time.monotonic()
    served.stop()
    # Closing does not wait for the minute-long nap to end.
    assert time.monotonic() - started < 30
    assert not served.server.path.exists()
    with pytest.raises(EOFError):
        raw.read()
    with pytest.raises((EOFError, ConnectionError)):
        waiting.read()


def test_close_leaves_a_socket_file_that_is_not_its_own(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server()
    path = served.server.path
    path.unlink()
    newer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    newer.bind(str(path))
    try:
        served.stop()
        assert path.exists()
    finally:
        newer.close()


def test_registration_mistakes_are_refused(socket_dir: Path) -> None:
    server = ApiServer(socket_dir / "api.sock")
    server.register("status", lambda args: {}, ArgSchema())
    for name in ("status", "subscribe", "Bad-Name", ""):
        with pytest.raises(ValueError):
            server.register(name, lambda args: {}, ArgSchema())
