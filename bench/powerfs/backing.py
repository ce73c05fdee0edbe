"""The disk below a power-cut volume: a real folder it starts from and is written back to."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

from bench.powerfs.model import Volume
from bench.powerfs.nodes import ROOT_INO, Kind, Node


def load(volume: Volume, backing: Path) -> None:
    """Take a real directory tree as the durable content of an empty volume."""
    with volume.lock:
        _load_dir(volume, backing, volume.nodes[ROOT_INO])


def _load_dir(volume: Volume, folder: Path, node: Node) -> None:
    for entry in sorted(folder.iterdir()):
        info = entry.lstat()
        if stat.S_ISLNK(info.st_mode):
            child = volume.new_node(Kind.LINK, 0o777)
            child.target = str(entry.readlink())
        elif stat.S_ISDIR(info.st_mode):
            child = volume.new_node(Kind.DIR, info.st_mode)
            _load_dir(volume, entry, child)
        elif stat.S_ISREG(info.st_mode):
            child = volume.new_node(Kind.FILE, info.st_mode)
            child.data = bytearray(entry.read_bytes())
            child.durable = bytes(child.data)
        else:
            continue  # sockets, FIFOs: nothing the box keeps on its data partition
        child.uid, child.gid = info.st_uid, info.st_gid
        child.path = str(Path(node.path or "/", entry.name))
        node.entries[entry.name] = child.ino
        node.durable_entries[entry.name] = child.ino


def save(volume: Volume, backing: Path) -> None:
    """Write the durable state into ``backing`` (emptied first): the disk after a shutdown."""
    with volume.lock:
        for path in sorted(backing.iterdir(), reverse=True):
            _remove_tree(path)
        _save_dir(volume, volume.nodes[ROOT_INO], backing)


def _save_dir(volume: Volume, node: Node, folder: Path) -> None:
    for name, ino in sorted(node.durable_entries.items()):
        child = volume.nodes.get(ino)
        if child is None:
            continue
        path = folder / name
        if child.kind is Kind.DIR:
            path.mkdir(mode=0o700)
            _save_dir(volume, child, path)
        elif child.kind is Kind.LINK:
            path.symlink_to(child.target)
            continue
        else:
            path.write_bytes(child.durable)
        path.chmod(child.mode)


def walk(volume: Volume, durable: bool = False) -> Iterator[tuple[str, Node]]:
    """Yield (path, inode) of every name, of the tree readers see or of the durable one."""
    with volume.lock:
        stack = [("", volume.nodes[ROOT_INO])]
        while stack:
            prefix, node = stack.pop()
            names = node.durable_entries if durable else node.entries
            for name, ino in sorted(names.items()):
                child = volume.nodes.get(ino)
                if child is None:
                    continue
                yield f"{prefix}/{name}", child
                if child.kind is Kind.DIR:
                    stack.append((f"{prefix}/{name}", child))


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _remove_tree(child)
        path.rmdir()
    else:
        path.unlink()
