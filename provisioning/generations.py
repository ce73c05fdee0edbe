"""Configuration generations and the one link that says which is in effect.

``config/gen-0007/`` is built completely under a temporary name (every file and folder synced),
renamed into place, and only then does ``config/current`` change: a new link is made under a
temporary name and renamed over the old one, which the kernel does atomically, then the folder
is synced. A power cut at any instant leaves ``current`` on the old generation or on the new
one, each whole. The previous generation is kept for rollback; older ones are pruned.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from provisioning import fileops
from provisioning.paths import Owners
from provisioning.render import META_NAME, GenFile

CURRENT = "current"
_GEN = re.compile(r"gen-(\d{4,9})")
MAX_META_BYTES = 64 * 1024
# Folders inside a generation: who may enter them.
_DIR_MODES = {"network": (0o700, "root"), "pins": (0o750, "root-group")}
_DEFAULT_DIR = (0o750, "root-group")


def gen_name(number: int) -> str:
    """Return the folder name of generation ``number``."""
    return f"gen-{number:04d}"


class ConfigStore:
    """The generations under ``config_dir``."""

    def __init__(self, config_dir: Path, owners: Owners | None = None) -> None:
        self.dir = config_dir
        self.owners = owners or Owners()

    def current(self) -> Path | None:
        """Return the generation ``current`` points at, or ``None``."""
        link = self.dir / CURRENT
        try:
            target = str(link.readlink())
        except OSError:
            return None
        if not _GEN.fullmatch(target) or not (self.dir / target).is_dir():
            return None
        return self.dir / target

    def numbers(self) -> list[int]:
        """Return the numbers of the generations present, ascending."""
        try:
            names = [path.name for path in self.dir.iterdir()]
        except FileNotFoundError:
            return []
        found = [_GEN.fullmatch(name) for name in names]
        return sorted(int(match[1]) for match in found if match)

    def meta(self, generation: Path | None) -> dict[str, Any]:
        """Return a generation's ``provisioning.json`` (empty if absent or unreadable)."""
        if generation is None:
            return {}
        try:
            with (generation / META_NAME).open("rb") as handle:
                data = json.loads(handle.read(MAX_META_BYTES))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def _mkdir(self, path: Path, mode: int, owner: str) -> None:
        fileops.mkdir(path, mode)
        ids = self.owners.of(owner)
        if ids is not None:
            fileops.chown(path, *ids)

    def build(self, files: list[GenFile], meta: dict[str, Any]) -> Path:
        """Write a new generation completely and durably; return its folder."""
        fileops.make_dirs(self.dir, 0o755)
        number = max(self.numbers(), default=0) + 1
        final = self.dir / gen_name(number)
        temp = self.dir / f".tmp-{gen_name(number)}-{os.getpid()}"
        fileops.remove_tree(temp)
        try:
            self._mkdir(temp, *_DEFAULT_DIR)
            folders = {temp}
            for item in [*files, GenFile(META_NAME, _meta_bytes(meta), 0o644, "root", ())]:
                target = temp / item.name
                if target.parent not in folders:
                    mode, owner = _DIR_MODES.get(target.parent.name, _DEFAULT_DIR)
                    self._mkdir(target.parent, mode, owner)
                    folders.add(target.parent)
                fileops.write_file(target, item.data, item.mode, self.owners.of(item.owner))
            for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
                fileops.fsync_dir(folder)
            fileops.rename(temp, final)
            temp = final  # from here a failure must remove the generation under its own name
            fileops.fsync_dir(self.dir)
        except BaseException:
            fileops.remove_tree(temp)
            raise
        return final

    def switch(self, generation: Path) -> None:
        """Point ``current`` at ``generation`` atomically and durably."""
        temp = self.dir / f".tmp-{CURRENT}-{os.getpid()}"
        temp.unlink(missing_ok=True)
        try:
            fileops.symlink(generation.name, temp)
            fileops.rename(temp, self.dir / CURRENT)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fileops.fsync_dir(self.dir)

    def discard(self, generation: Path) -> None:
        """Remove a generation that never became current."""
        if generation != self.current():
            fileops.remove_tree(generation)

    def prune(self) -> list[str]:
        """Remove every generation but ``current`` and the one before it, and leftovers.

        The previous generation stays so a technician can go back one step; a newer one that
        never became current (an apply that failed after building it) goes.
        """
        current = self.current()
        if current is None:
            return []  # without a current generation nothing tells which ones are good
        keep = {current.name}
        previous = self.previous()
        if previous is not None:
            keep.add(previous.name)
        removed = []
        for number in self.numbers():
            name = gen_name(number)
            if name not in keep:
                fileops.remove_tree(self.dir / name)
                removed.append(name)
        for path in self.dir.iterdir():
            if path.name.startswith(".tmp-"):
                fileops.remove_tree(path)
        return removed

    def previous(self) -> Path | None:
        """Return the newest generation older than ``current`` (the rollback target)."""
        current = self.current()
        if current is None:
            return None
        number = int(current.name.split("-")[1])
        older = [n for n in self.numbers() if n < number]
        return self.dir / gen_name(older[-1]) if older else None


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
