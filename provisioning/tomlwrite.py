"""A small TOML writer for the configuration files provisioning generates.

The standard library reads TOML but does not write it. The generated file holds only strings,
numbers, booleans, lists of those, tables and arrays of tables, so this writes exactly that and
escapes every string, whatever bytes it came from; the result is read back with ``tomllib``
(and the daemon's own loader) before it is used.
"""

from __future__ import annotations

import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def string(text: str) -> str:
    """Return ``text`` as a TOML basic string (control characters escaped)."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def value(item: Any) -> str:
    """Return one TOML value."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if not math.isfinite(item):
            raise ValueError("TOML here holds finite numbers only")
        return repr(item)
    if isinstance(item, str):
        return string(item)
    if isinstance(item, list | tuple):
        return "[" + ", ".join(value(element) for element in item) + "]"
    raise TypeError(f"cannot write {type(item).__name__} as a TOML value")


def _key(name: str) -> str:
    if not _BARE_KEY.fullmatch(name):
        raise ValueError(f"key {name!r} is not a bare key")
    return name


def _pairs(table: dict[str, Any]) -> list[str]:
    return [
        f"{_key(name)} = {value(item)}"
        for name, item in table.items()
        if item is not None
        and not isinstance(item, dict)
        and not (isinstance(item, list) and item and isinstance(item[0], dict))
    ]


def dumps(document: dict[str, Any], header: str = "") -> str:
    """Return ``document`` as TOML: plain keys, then tables, then arrays of tables."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if lines:
        lines.append("")
    lines.extend(_pairs(document))
    for name, item in document.items():
        if isinstance(item, dict):
            lines.extend(["", f"[{_key(name)}]", *_pairs(item)])
    for name, item in document.items():
        if isinstance(item, list) and item and isinstance(item[0], dict):
            for element in item:
                lines.extend(["", f"[[{_key(name)}]]", *_pairs(element)])
    return "\n".join(lines) + "\n"
