"""Hundreds of abusive local-API clients at once, in a process of their own.

``python -m tests.appliance.api.abusers SOCKET SECONDS COUNT`` runs COUNT clients for SECONDS at
most, or until its standard input ends, an equal share of each kind: slow-loris partial lines,
request floods that read their replies, request floods that never read, endless lines, binary
garbage, and connect-and-close storms.
Every client starts over whenever the daemon closes it. It prints ``ready`` once all run, and a
JSON line of counts at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable

PING = b'{"id": 1, "cmd": "ping"}\n'
Abuse = Callable[[asyncio.StreamReader, asyncio.StreamWriter, random.Random], Awaitable[None]]


async def slowloris(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rng: random.Random
) -> None:
    for byte in b'{"id": 1, "cmd": "pi' * 100:
        writer.write(bytes((byte,)))
        await writer.drain()
        await asyncio.sleep(0.2)


async def flood(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rng: random.Random
) -> None:
    async def drain_replies() -> None:
        while await reader.read(65536):
            pass

    draining = asyncio.create_task(drain_replies())
    try:
        while True:
            writer.write(PING * 200)
            await writer.drain()
    finally:
        draining.cancel()


async def deaf_flood(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rng: random.Random
) -> None:
    while True:
        writer.write(PING * 200)
        await writer.drain()  # never reads: the daemon's replies back up


async def huge_lines(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rng: random.Random
) -> None:
    block = b"x" * 65536
    while True:
        writer.write(block)
        await writer.drain()


async def garbage(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rng: random.Random
) -> None:
    while True:
        writer.write(rng.randbytes(4096) + b"\n")
        await writer.drain()
        await asyncio.sleep(0)


async def storm(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rng: random.Random
) -> None:
    return  # connect, then close at once


KINDS: dict[str, Abuse] = {
    "slowloris": slowloris,
    "flood": flood,
    "deaf-flood": deaf_flood,
    "huge-lines": huge_lines,
    "garbage": garbage,
    "storm": storm,
}


class Clock:
    """When the abuse ends; moved closer when standard input ends."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


async def client(path: str, kind: str, clock: Clock, counts: Counter[str], seed: int) -> None:
    rng = random.Random(seed)
    abuse = KINDS[kind]
    while clock.left() > 0:
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except OSError:
            counts["connect-failed"] += 1
            await asyncio.sleep(0.01)
            continue
        counts[f"{kind}-connections"] += 1
        try:
            await asyncio.wait_for(abuse(reader, writer, rng), max(clock.left(), 0.01))
        except (OSError, TimeoutError):
            pass
        finally:
            writer.transport.abort()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def main(path: str, seconds: float, count: int) -> None:
    counts: Counter[str] = Counter()
    clock = Clock(seconds)
    kinds = list(KINDS)
    tasks = [
        asyncio.create_task(client(path, kinds[number % len(kinds)], clock, counts, number))
        for number in range(count)
    ]
    await asyncio.sleep(0.2)
    print("ready", flush=True)
    stdin_closed = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await asyncio.wait(
        [asyncio.ensure_future(stdin_closed), asyncio.create_task(asyncio.sleep(seconds))],
        return_when=asyncio.FIRST_COMPLETED,
    )
    clock.end = time.monotonic()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
