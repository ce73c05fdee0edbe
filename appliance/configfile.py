"""The primitives of reading the box's configuration: the one error, and private secret files.

Kept apart from the daemon's configuration (appliance/daemon/config.py) so that the tables other
parts of the box add (the fleet's ``[fleet]``) check their keys the same way without importing it.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from appliance.jsonfile import NotRegularFile, open_regular

# A PIN or password file is one line; anything longer is not one.
MAX_SECRET_BYTES = 4096
# The key of a problem with the file as a whole: its words name the file, so no label is shown.
FILE_KEY = "(file)"
# What Windows Notepad puts before UTF-8 text; TOML has no place for it.
UTF8_BOM = b"\xef\xbb\xbf"


def decode_toml(raw: bytes) -> dict[str, Any]:
    """Return the table of a TOML file's bytes, a leading UTF-8 byte-order mark allowed.

    The one place the box decodes its configuration files (the daemon's, the kiosk's, the
    office's settings). Raises ``UnicodeDecodeError`` or ``tomllib.TOMLDecodeError``.
    """
    text = raw.removeprefix(UTF8_BOM).decode("utf-8")
    try:
        return tomllib.loads(text)
    except RecursionError:
        # Arrays nested a few hundred deep exhaust the parser's stack: still just a bad file.
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None


class ConfigError(Exception):
    """A configuration problem; ``key`` names the setting."""

    code = "C-001"

    def __init__(self, key: str, problem: str, problem_zh: str = "") -> None:
        self.key = key
        self.problem = problem
        self.problem_zh = problem_zh
        super().__init__(f"config key '{key}': {problem}")

    def __str__(self) -> str:
        return f"配置错误 / configuration error: {self.located()} [{self.code}]"

    def located(self, lang: str = "en") -> str:
        """Return the problem after the setting it concerns (a file's own problems name it)."""
        zh = lang == "zh"
        problem = (self.problem_zh or self.problem) if zh else self.problem
        if self.key == FILE_KEY:
            return problem
        return f"{self.key}：{problem}" if zh else f"{self.key}: {problem}"


def read_secret(path: Path, key: str) -> str:
    """Read a one-line secret from a file that only its owner may read (mode 0600)."""
    try:
        handle = open_regular(path)
    except (IsADirectoryError, NotRegularFile):
        raise ConfigError(key, f"{path} is not a file", f"{path} 不是文件") from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    with handle:
        info = os.fstat(handle.fileno())
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            mode = stat.S_IMODE(info.st_mode)
            raise ConfigError(
                key,
                f"{path} is mode {mode:04o}; it must be 0600 (chmod 600 {path})",
                f"{path} 的权限是 {mode:04o}，必须是 0600（chmod 600 {path}）",
            )
        try:
            raw = handle.read(MAX_SECRET_BYTES + 1)
        except OSError as exc:
            raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise ConfigError(key, f"{path} is too long to hold a PIN")
    lines = raw.decode("utf-8", "replace").splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise ConfigError(key, f"{path} is empty")
    return value
