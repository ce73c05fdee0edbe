"""systemd notify: exact datagrams on a real socket standing in for systemd's, path and abstract."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.daemon.notify import Notifier


@pytest.fixture
def systemd_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket on a filesystem path, and the NOTIFY_SOCKET value naming it."""
    directory = Path(tempfile.mkdtemp(prefix="qk-", dir="/tmp"))
    path = directory / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def abstract_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket in the abstract namespace, and its ``@name`` NOTIFY_SOCKET value."""
    name = f"qingka-notify-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    yield sock, "@" + name
    sock.close()


def test_the_notifications_are_the_exact_datagrams(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    sock, address = systemd_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"})
    assert notifier.enabled
    notifier.ready()
    notifier.status("清卡 2 devices")
    notifier.watchdog()
    notifier.stopping()
    received = [sock.recv(4096) for _ in range(4)]
    assert received == [
        b"READY=1",
        "STATUS=清卡 2 devices".encode(),
        b"WATCHDOG=1",
        b"STOPPING=1",
    ]


def test_the_abstract_namespace_works(abstract_socket: tuple[socket.socket, str]) -> None:
    sock, address = abstract_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": address})
    notifier.ready()
    assert sock.recv(4096) == b"READY=1"
    assert notifier.notify("READY=1", "STATUS=up") is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_a_status_stays_on_one_line(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, address = systemd_socket
    Notifier(address).status("first line\nREADY=1\r\nlast")
    assert sock.recv(4096) == b"STATUS=first line READY=1 last"


def test_outside_systemd_everything_is_a_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.watchdog_interval() is None
    notifier.ready()
    notifier.watchdog()
    notifier.status("x")
    notifier.stopping()
    assert notifier.notify("READY=1") is False


def test_from_env_reads_the_process_environment(
    systemd_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = systemd_socket
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = Notifier.from_env()
    assert notifier.watchdog_interval() == 15.0
    notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "2000000"}, 1.0),
        ({"WATCHDOG_USEC": "500"}, 0.00025),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}, 1.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_the_watchdog_interval_is_half_the_timeout(
    env: dict[str, str], interval: float | None
) -> None:
    assert Notifier.from_env(env).watchdog_interval() == interval


def test_an_address_that_is_no_unix_socket_disables_notification(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert "vsock:2:1234" in caplog.text


def test_a_failure_is_logged_once_and_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = Path(tempfile.mkdtemp(prefix="qk-", dir="/tmp"))
    path = directory / "notify"
    notifier = Notifier(str(path))
    try:
        with caplog.at_level(logging.INFO, logger="appliance.daemon.notify"):
            assert notifier.notify("WATCHDOG=1") is False
            assert notifier.notify("WATCHDOG=1") is False
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.bind(str(path))
            try:
                assert notifier.notify("WATCHDOG=1") is True
                assert notifier.notify("WATCHDOG=1") is True
                assert receiver.recv(64) == b"WATCHDOG=1"
            finally:
                receiver.close()
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 2
        assert "cannot notify" in messages[0]
        assert "again" in messages[1]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_no_watchdog_pings_unless_systemd_asks(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, address = systemd_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": address})
    notifier.watchdog()
    notifier.ready()
    assert sock.recv(4096) == b"READY=1"


def test_a_reader_that_stopped_reading_never_blocks(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    _, address = systemd_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
    # The kernel queues a few datagrams per socket; far more must not block the sender.
    sent = [notifier.notify("WATCHDOG=1") for _ in range(500)]
    assert sent[0] is True
    assert sent[-1] is False
