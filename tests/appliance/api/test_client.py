"""The synchronous client: daemon absent, dying, slow, restarted, or talking nonsense."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appliance.api.client import ApiClient, is_running
from appliance.api.errors import (
    LINE_TOO_LONG,
    UNAVAILABLE,
    ApiError,
    ApiTimeout,
    ApiUnavailable,
    BadReply,
)
from appliance.api.protocol import MAX_MESSAGE_LINE, MAX_REQUEST_LINE
from appliance.api.server import ApiServer
from tests.appliance.api.harness import WAIT, ServerThread, wait_until


@pytest.fixture
def fake_daemon(socket_dir: Path) -> Iterator[Callable[[bytes], Path]]:
    """Serve one connection that answers its first line with fixed bytes, then closes."""
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    def start(answer: bytes) -> Path:
        path = socket_dir / "fake.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(1)
        listeners.append(listener)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return path

    yield start
    for thread in threads:
        thread.join(WAIT)
    for listener in listeners:
        listener.close()


def test_no_socket_means_unavailable(socket_dir: Path) -> None:
    with ApiClient(socket_dir / "api.sock") as client, pytest.raises(ApiUnavailable) as caught:
        client.call("ping")
    assert caught.value.code == UNAVAILABLE
    assert "not running" in caught.value.message
    assert caught.value.message_zh
    assert is_running(socket_dir / "api.sock") is False


def test_a_socket_nobody_listens_on_means_unavailable(socket_dir: Path) -> None:
    path = socket_dir / "api.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    with ApiClient(path) as client, pytest.raises(ApiUnavailable, match="nobody listens"):
        client.call("ping")
    assert is_running(path) is False


def test_is_running_when_the_daemon_answers(served: ServerThread) -> None:
    assert is_running(served.server.path) is True


def test_the_socket_path_comes_from_the_environment(
    served: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINGKA_API_SOCKET", str(served.server.path))
    assert ApiClient().path == served.server.path
    assert is_running() is True


def test_a_slow_answer_times_out_and_the_next_call_works(served: ServerThread) -> None:
    with ApiClient(served.server.path, timeout=0.3) as client:
        with pytest.raises(ApiTimeout) as caught:
            client.call("nap", seconds=2)
        assert caught.value.code == "A-504"
        assert isinstance(caught.value, ApiUnavailable)
        # A fresh connection: the late "rested" must not be taken for this answer.
        assert client.call("add", a=1, b=2) == 3


def test_the_connection_lost_during_a_call_is_unavailable(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server()
    client = ApiClient(served.server.path, timeout=WAIT)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.call("nap", seconds=5)
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    wait_until(lambda: served.server.stats.requests == 1, "the call to be in flight")
    served.stop()
    caller.join(WAIT)
    assert len(outcome) == 1
    assert type(outcome[0]) is ApiUnavailable
    assert "lost" in str(outcome[0])


def test_a_kept_connection_survives_a_daemon_restart(socket_dir: Path) -> None:
    path = socket_dir / "api.sock"
    first = ServerThread(ApiServer(path)).start()
    client = ApiClient(path)
    assert client.call("ping")["pong"] is True
    first.stop()
    second = ServerThread(ApiServer(path)).start()
    try:
        assert client.call("ping")["pong"] is True
    finally:
        client.close()
        second.stop()


def test_the_subscription_ends_with_unavailable_when_the_daemon_stops(
    start_server: Callable[..., ServerThread],
) -> None:
    served = start_server()
    events = ApiClient(served.server.path).subscribe()
    served.server.publish("warning", {"n": 1})
    assert next(events)["n"] == 1
    served.stop()
    with pytest.raises(ApiUnavailable, match="lost"):
        next(events)
    with pytest.raises(StopIteration):
        next(events)


def test_closing_the_client_ends_a_blocked_subscription(served: ServerThread) -> None:
    client = ApiClient(served.server.path)
    events = client.subscribe(["outcome"])
    finished = threading.Event()

    def listen() -> None:
        for _ in events:
            pass
        finished.set()

    listener = threading.Thread(target=listen)
    listener.start()
    wait_until(lambda: served.server.stats.clients == 1, "the subscription")
    client.close()
    assert finished.wait(WAIT)
    listener.join(WAIT)


def test_subscribing_to_a_missing_daemon_is_unavailable(socket_dir: Path) -> None:
    with pytest.raises(ApiUnavailable):
        ApiClient(socket_dir / "api.sock").subscribe()


def test_a_refused_subscription_raises_the_error(served: ServerThread) -> None:
    with pytest.raises(ApiError) as caught:
        ApiClient(served.server.path).subscribe(["Not A Topic"])
    assert caught.value.code == "A-400"


def test_a_request_too_long_is_refused_before_sending(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client, pytest.raises(ApiError) as caught:
        client.call("echo", text="x" * MAX_REQUEST_LINE)
    assert caught.value.code == LINE_TOO_LONG
    assert served.server.stats.accepted == 0


def test_envelope_keys_are_not_arguments(served: ServerThread) -> None:
    with ApiClient(served.server.path) as client, pytest.raises(ValueError, match="envelope"):
        client.call("echo", id=5)


@pytest.mark.parametrize(
    "answer",
    [
        b"this is not json\n",
        b"[1, 2]\n",
        b"\xff\xfe\n",
        b"x" * (MAX_MESSAGE_LINE + 1),
    ],
)
def test_an_unreadable_answer_is_a_bad_reply(
    fake_daemon: Callable[[bytes], Path], answer: bytes
) -> None:
    path = fake_daemon(answer)
    with ApiClient(path) as client, pytest.raises(BadReply) as caught:
        client.call("ping")
    assert caught.value.code == "A-502"


def test_a_reply_without_error_object_is_a_bad_reply(fake_daemon: Callable[[bytes], Path]) -> None:
    path = fake_daemon(b'{"id": 1, "ok": false}\n')
    with ApiClient(path) as client, pytest.raises(BadReply):
        client.call("ping")


def test_events_and_stray_replies_before_the_answer_are_skipped(
    fake_daemon: Callable[[bytes], Path],
) -> None:
    path = fake_daemon(
        b'{"event": "step", "seq": 1}\n{"id": 99, "ok": true, "result": 0}\n'
        b'{"id": 1, "ok": true, "result": "mine"}\n'
    )
    with ApiClient(path) as client:
        assert client.call("ping") == "mine"


def test_the_daemon_closing_without_answer_is_unavailable(
    fake_daemon: Callable[[bytes], Path],
) -> None:
    path = fake_daemon(b'{"id": 1, "ok": tr')
    with ApiClient(path) as client, pytest.raises(ApiUnavailable, match="lost"):
        client.call("ping")
