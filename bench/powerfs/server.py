"""The process that mounts a power-cut volume and takes commands on its standard input.

    python -m bench.powerfs MOUNTPOINT [--backing DIR]

One JSON object a line in, one a line out. Commands (``op``):

``freeze``                 hold every change from now on (the instant of a cut)
``arm`` (``after``)          freeze at the ``after``-th change from now; the volume then says
                           ``{"event": "tripped", "op": …, "path": …}`` on a line of its own
``disarm``                 stop waiting; answers whether it had tripped already (``tripped``)
``cut`` (``seed``, ``keep``)  lose what was not synced, each part kept with probability ``keep``;
                           held changes fail; serve what survived and take changes again
``thaw``                   let held changes go on, without a cut
``sync``                   make everything durable (a clean shutdown's ``sync``)
``stats``                  counts of inodes, changes, unsynced pages and directory operations
``quit``                   sync, write the volume into the backing directory, unmount

The first line out is ``{"ready": true}`` once the kernel has the mount. With ``--backing`` the
volume starts as a copy of DIR and ``quit`` writes the surviving state back there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from bench.powerfs import backing as disk
from bench.powerfs.model import Kind, Volume


class Server:
    """The volume, its mount and the command loop."""

    def __init__(self, mountpoint: Path, backing: Path | None, out: TextIO) -> None:
        self.mountpoint = mountpoint
        self.backing = backing
        self.out = out
        self.volume = Volume(os.getuid(), os.getgid())
        if backing is not None:
            disk.load(self.volume, backing)
        self._out_lock = threading.Lock()
        self.volume.on_trip = lambda where: self.say({"event": "tripped", **where})

    def say(self, reply: dict[str, Any]) -> None:
        """Write one reply line."""
        with self._out_lock:
            self.out.write(json.dumps(reply) + "\n")
            self.out.flush()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one command and return its reply."""
        op = request.get("op")
        volume = self.volume
        if op == "freeze":
            volume.freeze()
            return {"ok": True}
        if op == "arm":
            volume.arm(int(request.get("after", 1)))
            return {"ok": True}
        if op == "disarm":
            return {"ok": True, "tripped": volume.disarm()}
        if op == "thaw":
            volume.thaw()
            return {"ok": True}
        if op == "cut":
            rng = random.Random(int(request.get("seed", 0)))
            report = volume.cut(rng, float(request.get("keep", 0.5)))
            return {"ok": True, "cut": report.to_json()}
        if op == "sync":
            volume.sync()
            return {"ok": True}
        if op == "stats":
            return {"ok": True, **self.stats()}
        if op == "quit":
            volume.sync()
            if self.backing is not None:
                disk.save(volume, self.backing)
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def stats(self) -> dict[str, int]:
        """Return what the volume holds and how much of it is not synced."""
        with self.volume.lock:
            nodes = list(self.volume.nodes.values())
            return {
                "inodes": len(nodes),
                "files": sum(1 for n in nodes if n.kind is Kind.FILE),
                "bytes": sum(len(n.data) for n in nodes),
                "dirty_pages": sum(len(n.dirty) for n in nodes),
                "pending_dir_ops": len(self.volume.pending),
                "changes": self.volume.changes,
                "cuts": self.volume.cuts,
            }

    def commands(self, source: TextIO) -> None:
        """Serve commands until ``quit`` or the end of input, then unmount."""
        for line in source:
            try:
                request = json.loads(line)
                reply = self.handle(request if isinstance(request, dict) else {})
            except (ValueError, OSError) as exc:
                reply = {"ok": False, "error": str(exc)}
            self.say(reply)
            if reply.get("ok") and request.get("op") == "quit":
                break
        unmount(self.mountpoint)


def unmount(mountpoint: Path) -> None:
    """Unmount (lazily: a process may still hold a file open)."""
    subprocess.run(
        ["fusermount3", "-u", "-z", str(mountpoint)], capture_output=True, check=False, timeout=30
    )


def main(argv: list[str] | None = None) -> None:
    """Mount and serve until told to quit."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--backing", type=Path)
    args = parser.parse_args(argv)
    # mfusepy takes libfuse 2 when both are installed; the volume is written for libfuse 3
    # (what Debian 12 ships as fuse3), so ask for it before mfusepy loads.
    os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")
    if os.environ.get("POWERFS_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    from bench.powerfs.ops import PowerFuse, PowerOps  # noqa: PLC0415 - imports mfusepy

    server = Server(args.mountpoint, args.backing, sys.stdout)

    class ReadyOps(PowerOps):
        def init_with_config(self, conn_info: Any, config: Any) -> None:
            super().init_with_config(conn_info, config)
            server.say({"ready": True})

    threading.Thread(
        target=server.commands, args=(sys.stdin,), name="commands", daemon=True
    ).start()
    PowerFuse(
        ReadyOps(server.volume),
        str(args.mountpoint),
        foreground=True,
        raw_fi=True,
        fsname="powerfs",
        subtype="powerfs",
    )
