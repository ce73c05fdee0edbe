"""Strict reading of JSON documents from outside: size cap, exact keys, typed fields.

Every document on a stick (manifest, signature, bundle configuration, enrollment request, trust
store) is read with these helpers, so each refusal names the key and what is wrong with it, and
garbage of any shape ends in the caller's error type, never in a ``KeyError`` or a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from provisioning.errors import ProvisionError


def load_json(raw: bytes, cap: int, error: type[ProvisionError], what: str) -> dict[str, Any]:
    """Return the JSON object in ``raw`` (at most ``cap`` bytes); ``error`` if it is not one."""
    if len(raw) > cap:
        raise error(f"{what}: {len(raw)} bytes, more than {cap}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers too long to convert.
        raise error(f"{what}: not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise error(f"{what}: not a JSON object")
    return data


class Fields:
    """Typed access to one JSON object; every problem raises ``error`` naming ``where`` + key."""

    def __init__(self, data: Any, error: type[ProvisionError], where: str) -> None:
        if not isinstance(data, dict):
            raise error(f"{where or 'document'}: must be an object")
        self.data: dict[str, Any] = data
        self.error = error
        self.where = where

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> ProvisionError:
        """Return the error for ``key`` (for the caller to raise)."""
        return self.error(f"{self._name(key)}: {problem}")

    def only(self, allowed: Iterable[str]) -> None:
        """Refuse keys other than ``allowed`` (a typo must not be silently ignored)."""
        extra = sorted(set(self.data) - set(allowed))
        if extra:
            raise self.fail(extra[0][:40], "is not a known key")

    def has(self, key: str) -> bool:
        """Tell whether ``key`` is present and not null."""
        return self.data.get(key) is not None

    def text(
        self, key: str, max_len: int, pattern: re.Pattern[str] | None = None, empty: bool = False
    ) -> str:
        """Return a string field of at most ``max_len`` characters, matching ``pattern``."""
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self.fail(key, "is missing or not a string")
        if len(value) > max_len:
            raise self.fail(key, f"is longer than {max_len} characters")
        if not value and not empty:
            raise self.fail(key, "is empty")
        if pattern is not None and value and not pattern.fullmatch(value):
            raise self.fail(key, "has a form that is not allowed")
        return value

    def optional_text(
        self, key: str, max_len: int, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        """Return a string field or ``None`` when absent or null."""
        return self.text(key, max_len, pattern) if self.has(key) else None

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        """Return an integer field within ``low``..``high``."""
        if not self.has(key) and default is not None:
            return default
        value = self.data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(key, "is missing or not a whole number")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}")
        return value

    def number(self, key: str, low: float, high: float, default: float) -> float:
        """Return a number field within ``low``..``high`` (``default`` when absent)."""
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.fail(key, "is not a number")
        if not low <= value <= high:  # also refuses nan
            raise self.fail(key, f"must be between {low} and {high}")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        """Return a true/false field."""
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def texts(
        self, key: str, max_items: int, max_len: int, pattern: re.Pattern[str] | None = None
    ) -> list[str]:
        """Return a list of strings (empty when absent)."""
        if not self.has(key):
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        if len(value) > max_items:
            raise self.fail(key, f"has more than {max_items} entries")
        out = []
        for number, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item or len(item) > max_len:
                raise self.fail(f"{key}[{number}]", f"must be a string of 1..{max_len} characters")
            if pattern is not None and not pattern.fullmatch(item):
                raise self.fail(f"{key}[{number}]", "has a form that is not allowed")
            out.append(item)
        return out

    def table(self, key: str, required: bool = False) -> Fields | None:
        """Return a nested object, or ``None`` when absent and not ``required``."""
        if not self.has(key):
            if required:
                raise self.fail(key, "is missing")
            return None
        return Fields(self.data[key], self.error, self._name(key))

    def items(self, key: str, max_items: int) -> list[Fields]:
        """Return a list of objects (empty when absent)."""
        if not self.has(key):
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        if len(value) > max_items:
            raise self.fail(key, f"has more than {max_items} entries")
        return [
            Fields(item, self.error, f"{self._name(key)}[{number}]")
            for number, item in enumerate(value, start=1)
        ]
