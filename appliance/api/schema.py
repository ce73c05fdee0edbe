"""Declarative argument schemas: what a command accepts, checked before its handler runs.

A handler receives a dict holding exactly its declared arguments, each of the declared type and
within bounds; an optional argument that was left out (or sent as ``null``) holds its default.
Anything else in the request (an unknown name, a wrong type, a value out of bounds) is an A-400
reply naming the argument, and the handler never runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.api.errors import ApiError, bad_request

# Keys of the request envelope, never arguments.
ENVELOPE_KEYS = frozenset({"id", "cmd"})
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")

_KIND_WORDS: dict[type[Any], tuple[str, str]] = {
    str: ("a string", "字符串"),
    int: ("an integer", "整数"),
    float: ("a number", "数字"),
    bool: ("true or false", "布尔值"),
    list: ("a list", "列表"),
}
# Argument names a client made up are echoed in the error message; keep the echo short.
_ECHO_LIMIT = 40


def _echo(name: str) -> str:
    return name if len(name) <= _ECHO_LIMIT else name[:_ECHO_LIMIT] + "…"


@dataclass(frozen=True)
class Arg:
    """One argument: its name, JSON type and bounds.

    ``minimum``/``maximum`` bound numbers; ``min_len``/``max_len`` bound the characters of a
    string or the items of a list; ``pattern`` must match a whole string; ``choices`` lists the
    only values allowed; ``items`` describes each element of a list.
    """

    name: str
    kind: type[Any]
    required: bool = True
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    min_len: int = 0
    max_len: int | None = None
    pattern: str | None = None
    choices: tuple[Any, ...] | None = None
    items: Arg | None = None

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name) or self.name in ENVELOPE_KEYS:
            raise ValueError(f"bad argument name {self.name!r}")
        if self.kind not in _KIND_WORDS:
            raise ValueError(f"argument {self.name}: unsupported type {self.kind!r}")
        if (self.kind is list) != (self.items is not None):
            raise ValueError(f"argument {self.name}: items describe list elements, and only them")
        if self.required and self.default is not None:
            raise ValueError(f"argument {self.name}: a required argument has no default")
        if self.default is not None:
            # Catch a default that contradicts its own bounds at definition, not on a request.
            try:
                self.check(self.default)
            except ApiError as error:
                raise ValueError(f"default of {error.message}") from error

    def check(self, value: Any) -> Any:
        """Return ``value`` if it fits this argument (an int widened for float); else raise."""
        kind = self.kind
        if isinstance(value, bool) and kind is not bool:
            raise self._wrong_type()
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind):
            raise self._wrong_type()
        if isinstance(value, int | float) and not isinstance(value, bool):
            self._check_range(value)
        if isinstance(value, str | list):
            self._check_length(len(value))
        if (
            isinstance(value, str)
            and self.pattern is not None
            and not re.fullmatch(self.pattern, value)
        ):
            raise self._invalid("has the wrong format", "格式不正确")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(choice) for choice in self.choices)
            raise self._invalid(f"must be one of {allowed}", f"只能是 {allowed} 之一")
        if isinstance(value, list) and self.items is not None:
            return [self.items.check(item) for item in value]
        return value

    def _check_range(self, value: float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise self._invalid(f"must be at least {self.minimum:g}", f"不能小于 {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise self._invalid(f"must be at most {self.maximum:g}", f"不能大于 {self.maximum:g}")

    def _check_length(self, length: int) -> None:
        unit_en, unit_zh = ("items", "项") if self.kind is list else ("characters", "个字符")
        if length < self.min_len:
            raise self._invalid(
                f"needs at least {self.min_len} {unit_en}", f"至少需要 {self.min_len} {unit_zh}"
            )
        if self.max_len is not None and length > self.max_len:
            raise self._invalid(
                f"allows at most {self.max_len} {unit_en}", f"最多 {self.max_len} {unit_zh}"
            )

    def _wrong_type(self) -> ApiError:
        en, zh = _KIND_WORDS[self.kind]
        return self._invalid(f"must be {en}", f"应为{zh}")

    def _invalid(self, en: str, zh: str) -> ApiError:
        return bad_request(f"argument '{self.name}' {en}", f"参数 {self.name} {zh}", arg=self.name)


class ArgSchema:
    """The arguments a command accepts; a request with anything else is refused."""

    def __init__(self, *args: Arg) -> None:
        names = [arg.name for arg in args]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate argument names in {names}")
        self.args: tuple[Arg, ...] = args
        self._by_name = {arg.name: arg for arg in args}

    def validate(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Return the checked arguments of request ``message``; raise an A-400 ApiError."""
        for key in message:
            if key not in ENVELOPE_KEYS and key not in self._by_name:
                raise bad_request(
                    f"unknown argument '{_echo(key)}'", f"未知参数 {_echo(key)}", arg=_echo(key)
                )
        checked: dict[str, Any] = {}
        for arg in self.args:
            value = message.get(arg.name)
            if value is None:
                if arg.required:
                    raise bad_request(
                        f"argument '{arg.name}' is required", f"缺少参数 {arg.name}", arg=arg.name
                    )
                # A fresh copy: a handler that appends to a list default must not change it.
                default = arg.default
                checked[arg.name] = list(default) if isinstance(default, list) else default
            else:
                checked[arg.name] = arg.check(value)
        return checked
