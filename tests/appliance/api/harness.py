"""A real API server on a background event loop, and a raw line client to poke it with."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from appliance.api.client import LineReader
from appliance.api.errors import ApiError
from appliance.api.schema import Arg, ArgSchema
from appliance.api.server import ApiServer
from tests import waiting

T = TypeVar("T")

# Generous: only reached when something is broken, and then the test should fail, not hang.
WAIT = 10.0


class ServerThread:
    """Run ``server`` in its own event loop on a daemon thread."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        self.run(self.server.start())
        return self

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` in the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT)

    def stop(self) -> None:
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)
        self.loop.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after :data:`WAIT` seconds."""
    waiting.wait_until(condition, WAIT, what, interval=0.002)


class RawClient:
    """A plain socket speaking lines, for what ApiClient would refuse to send."""

    # Every one opened, for the fixture that closes them after each test.
    opened: ClassVar[list[RawClient]] = []

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        RawClient.opened.append(self)
        self.sock.settimeout(WAIT)
        self.sock.connect(str(path))
        self.reader = LineReader(self.sock.recv)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.reader.read_line())
        return message

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(json.dumps(message).encode() + b"\n")
        return self.read()

    def read_until_id(self, request_id: object) -> list[dict[str, Any]]:
        """Return every message read up to and including the reply to ``request_id``."""
        messages = [self.read()]
        while messages[-1].get("id") != request_id:
            messages.append(self.read())
        return messages

    def close(self) -> None:
        self.sock.close()


class NapCount:
    """How many ``nap`` commands run at once, and the most there were."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0


naps = NapCount()


def register_test_commands(server: ApiServer) -> None:
    """Give ``server`` commands covering every kind of handler."""

    def echo(args: dict[str, Any]) -> dict[str, Any]:
        return args

    async def add(args: dict[str, Any]) -> int:
        total: int = args["a"] + args["b"]
        return total

    async def nap(args: dict[str, Any]) -> str:
        naps.now += 1
        naps.most = max(naps.most, naps.now)
        try:
            await asyncio.sleep(args["seconds"])
        finally:
            naps.now -= 1
        return "rested"

    def block(args: dict[str, Any]) -> str:
        time.sleep(args["seconds"])
        return "done"

    def crash(args: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    async def refuse(args: dict[str, Any]) -> None:
        raise ApiError("E-042", "device is busy", "税盘占用中", {"device": "sim-1"})

    def unencodable(args: dict[str, Any]) -> object:
        return {"when": object()}

    def huge(args: dict[str, Any]) -> str:
        return "x" * (5 * 1024 * 1024)

    server.register(
        "echo",
        echo,
        ArgSchema(
            Arg("text", str, max_len=100),
            Arg("count", int, required=False, default=1, minimum=1, maximum=10),
        ),
    )
    server.register("add", add, ArgSchema(Arg("a", int), Arg("b", int)))
    server.register("nap", nap, ArgSchema(Arg("seconds", float, minimum=0, maximum=60)))
    server.register("block", block, ArgSchema(Arg("seconds", float, minimum=0, maximum=60)))
    server.register("crash", crash, ArgSchema())
    server.register("refuse", refuse, ArgSchema())
    server.register("unencodable", unencodable, ArgSchema())
    server.register("huge", huge, ArgSchema())
