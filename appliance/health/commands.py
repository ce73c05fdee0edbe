"""Commands from the fleet: parsed strictly, refused with a reason, never half-applied.

A command is one JSON object, at most :data:`MAX_COMMAND_BYTES`::

    {"id": "ops-20261105-0001", "issued": "2026-11-05T10:00:00+08:00",
     "command": "clear", "args": {"device": "661100000001"}}

It is refused — with an error result, and nothing changed — when it is not JSON or not that
shape, names an unknown command or argument, is larger than the cap, was issued outside the
time window around the box's clock (stale, or from a clock far ahead), or repeats a request id
the box has already seen (a replay).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appliance.health.errors import CommandRejected

# A command is a few hundred bytes; the cap keeps a hostile or broken sender from making the
# box parse megabytes (the broker would pass up to 256 MiB).
MAX_COMMAND_BYTES = 4096
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
DEVICE = re.compile(r"[A-Za-z0-9._:/?=&-]{1,300}")
POLICIES = ("auto", "button-only")
COMMANDS = ("clear", "refresh", "set-policy", "diagnostics", "update")
# An update names its bundle by an HTTPS address and the bundle's SHA-256.
UPDATE_URL = re.compile(r"https://[!-~]{1,2000}")
SHA256 = re.compile(r"[0-9a-f]{64}")
# Arguments of each command: name -> (type, required).
_ARGS: dict[str, dict[str, tuple[type, bool]]] = {
    "clear": {"device": (str, False)},
    "refresh": {},
    "set-policy": {"policy": (str, True)},
    "diagnostics": {"lines": (int, False)},
    "update": {"url": (str, True), "sha256": (str, True)},
}
MAX_DIAGNOSTIC_LINES = 200

MALFORMED = "F-400"
TOO_LARGE = "F-413"
UNKNOWN = "F-404"
STALE = "F-408"
REPLAYED = "F-409"


@dataclass(frozen=True)
class Command:
    """A command that passed every check of its shape (time and replay are checked apart)."""

    request_id: str
    issued: datetime
    name: str
    args: dict[str, Any] = field(default_factory=dict)


def _reject(code: str, en: str, zh: str) -> CommandRejected:
    return CommandRejected(en, zh, code)


def parse_command(raw: bytes) -> Command:
    """Return the command in ``raw``; :class:`CommandRejected` says why it is refused."""
    if len(raw) > MAX_COMMAND_BYTES:
        raise _reject(
            TOO_LARGE, f"command larger than {MAX_COMMAND_BYTES} bytes", "命令过长，已拒绝"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _reject(MALFORMED, "command is not UTF-8 JSON", "命令格式错误") from None
    if not isinstance(data, dict):
        raise _reject(MALFORMED, "command is not a JSON object", "命令格式错误")
    extra = sorted(set(data) - {"id", "issued", "command", "args"})
    if extra:
        raise _reject(MALFORMED, f"unknown field {extra[0]!r}", "命令含有未知字段")
    request_id = data.get("id")
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise _reject(MALFORMED, "id must be 1-64 letters, digits or ._:-", "命令编号无效")
    try:
        return _checked(data, request_id)
    except CommandRejected as exc:
        # The sender waits for an answer to this id: a refusal must carry it.
        exc.request_id = request_id
        name = data.get("command")
        exc.command = name if isinstance(name, str) and name in COMMANDS else None
        raise


def _checked(data: dict[str, Any], request_id: str) -> Command:
    """Return the command whose id was read; :class:`CommandRejected` for any other field."""
    issued_text = data.get("issued")
    if not isinstance(issued_text, str) or len(issued_text) > 40:
        raise _reject(MALFORMED, "issued must be an ISO time with offset", "命令时间无效")
    try:
        issued = datetime.fromisoformat(issued_text)
    except ValueError:
        raise _reject(MALFORMED, "issued must be an ISO time with offset", "命令时间无效") from None
    if issued.tzinfo is None:
        raise _reject(MALFORMED, "issued must carry its UTC offset", "命令时间缺少时区")
    name = data.get("command")
    if name not in COMMANDS:
        raise _reject(UNKNOWN, f"unknown command {str(name)[:40]!r}", "未知命令")
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise _reject(MALFORMED, "args must be a JSON object", "命令参数格式错误")
    schema = _ARGS[name]
    for key, value in args.items():
        if key not in schema:
            raise _reject(MALFORMED, f"{name} takes no argument {str(key)[:40]!r}", "命令参数无效")
        kind, _ = schema[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _reject(MALFORMED, f"argument {key} must be {kind.__name__}", "命令参数无效")
    for key, (_, required) in schema.items():
        if required and key not in args:
            raise _reject(MALFORMED, f"{name} needs the argument {key}", "命令缺少参数")
    if name == "clear" and "device" in args and not DEVICE.fullmatch(args["device"]):
        raise _reject(MALFORMED, "device must be a device number or URL", "设备编号无效")
    if name == "set-policy" and args["policy"] not in POLICIES:
        raise _reject(
            MALFORMED, "policy must be auto or button-only", "策略只能是 auto 或 button-only"
        )
    if name == "update" and not UPDATE_URL.fullmatch(args["url"]):
        raise _reject(MALFORMED, "url must be an https:// address", "更新地址必须是 https:// 地址")
    if name == "update" and not SHA256.fullmatch(args["sha256"]):
        raise _reject(
            MALFORMED, "sha256 must be 64 lowercase hex digits", "校验值必须是 64 位十六进制"
        )
    if name == "diagnostics" and not 1 <= args.get("lines", 1) <= MAX_DIAGNOSTIC_LINES:
        raise _reject(MALFORMED, f"lines must be 1..{MAX_DIAGNOSTIC_LINES}", "日志行数无效")
    return Command(request_id, issued, name, dict(args))


def check_fresh(command: Command, now: datetime, window_s: float) -> None:
    """Refuse a command issued more than ``window_s`` from ``now`` (either way)."""
    age = (now - command.issued).total_seconds()
    if abs(age) > window_s:
        raise _reject(
            STALE,
            f"command issued {age:.0f} s from the box's clock; the window is {window_s:.0f} s",
            "命令已过期（或发送方时钟不准），已拒绝",
        )


def replayed() -> CommandRejected:
    """Return the refusal of a request id seen before."""
    return _reject(REPLAYED, "this request id was already used", "重复的命令编号，已拒绝")
