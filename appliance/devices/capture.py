"""Capture and replay of the bulk transfers of a device, as JSON lines.

A capture records every transfer a driver makes (direction, bytes as hex, timing, and the errors
the pipe raised), so an exchange with a real device in the field becomes a test fixture:
``replay://FILE`` plays it back to the same driver code, which must ask exactly the same bytes in
the same order. Line format::

    {"op": "open", "descriptor": {...}, "url": "..."}
    {"op": "out", "t": 0.0012, "hex": "55534243..."}
    {"op": "in", "t": 0.0031, "max": 31, "hex": "..."}          (or "error": "stall" ...)
    {"op": "clear", "t": ..., "endpoint": "in"}
    {"op": "reset", "t": ...}
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from appliance.devices.errors import (
    DeviceBusy,
    DeviceError,
    DeviceGone,
    DeviceTimeout,
    ProtocolError,
    Stalled,
)
from appliance.devices.pipe import DEFAULT_TIMEOUT_MS, Pipe, UsbDescriptor
from appliance.jsonfile import open_regular_for_writing, read_capped

# A capture of a whole clearing is a few hundred lines of a few hundred bytes. The caps keep a
# wrong file (a disk image, say) from being read into memory whole.
MAX_CAPTURE_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024

_ERRORS: dict[str, type[DeviceError]] = {
    "gone": DeviceGone,
    "timeout": DeviceTimeout,
    "busy": DeviceBusy,
    "protocol": ProtocolError,
}


_DESCRIPTOR_FIELDS = {"vid": int, "pid": int, "manufacturer": str, "product": str, "serial": str}


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, Stalled):
        return "stall"
    for name, kind in _ERRORS.items():
        if isinstance(exc, kind):
            return name
    return "gone"


class CapturePipe:
    """Wraps a pipe and writes every transfer to a JSONL file as it happens."""

    def __init__(self, inner: Pipe, path: Path, url: str) -> None:
        self._inner = inner
        self.name = inner.name
        self.descriptor = inner.descriptor
        self._start = time.monotonic()
        self._file: TextIO = io.TextIOWrapper(open_regular_for_writing(path), encoding="utf-8")
        self._write({"op": "open", "url": url, "descriptor": asdict(inner.descriptor)})

    def _write(self, record: dict[str, Any]) -> None:
        if "op" in record and record["op"] != "open":
            record["t"] = round(time.monotonic() - self._start, 6)
        self._file.write(json.dumps(record, sort_keys=True) + "\n")
        self._file.flush()  # a capture must survive the crash it is meant to explain

    def write_out(self, data: bytes, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Send and record one OUT transfer."""
        record: dict[str, Any] = {"op": "out", "hex": data.hex()}
        try:
            self._inner.write_out(data, timeout_ms)
        except DeviceError as exc:
            record["error"] = _error_name(exc)
            record["detail"] = str(exc)
            raise
        finally:
            self._write(record)

    def read_in(self, max_length: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bytes:
        """Receive and record one IN transfer."""
        record: dict[str, Any] = {"op": "in", "max": max_length}
        try:
            data = self._inner.read_in(max_length, timeout_ms)
            record["hex"] = data.hex()
            return data
        except DeviceError as exc:
            record["error"] = _error_name(exc)
            record["detail"] = str(exc)
            raise
        finally:
            self._write(record)

    def clear_stall(self, endpoint: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Clear a halt and record it."""
        record: dict[str, Any] = {"op": "clear", "endpoint": endpoint}
        try:
            self._inner.clear_stall(endpoint, timeout_ms)
        except DeviceError as exc:
            record["error"] = _error_name(exc)
            record["detail"] = str(exc)
            raise
        finally:
            self._write(record)

    def reset(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Reset and record it."""
        record: dict[str, Any] = {"op": "reset"}
        try:
            self._inner.reset(timeout_ms)
        except DeviceError as exc:
            record["error"] = _error_name(exc)
            record["detail"] = str(exc)
            raise
        finally:
            self._write(record)

    def close(self) -> None:
        """Close the device and the capture file; never raises."""
        try:
            self._inner.close()
        finally:
            if not self._file.closed:
                try:
                    self._write({"op": "close"})
                    self._file.close()
                except OSError:
                    pass  # a full or vanished disk: the capture simply ends here


class ReplayPipe:
    """Plays a capture back: answers exactly what the device answered, checks every request."""

    def __init__(self, path: Path) -> None:
        self.name = f"replay://{path}"
        self._records = load_capture(path)
        self._pos = 1
        head = self._records[0].get("descriptor")
        if not isinstance(head, dict) or set(head) != set(_DESCRIPTOR_FIELDS):
            raise ProtocolError(f"capture {path} has no valid descriptor", self.name)
        for key, kind in _DESCRIPTOR_FIELDS.items():
            value = head[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ProtocolError(
                    f"capture {path}: descriptor {key} is not {kind.__name__}", self.name
                )
        if not (0 <= head["vid"] <= 0xFFFF and 0 <= head["pid"] <= 0xFFFF):
            raise ProtocolError(f"capture {path}: VID or PID out of range", self.name)
        self.descriptor = UsbDescriptor(**head)

    def _next(self, op: str) -> dict[str, Any]:
        if self._pos >= len(self._records) or self._records[self._pos].get("op") == "close":
            raise ProtocolError(
                f"replay ran out at step {self._pos}: the driver asked one more {op!r}", self.name
            )
        record = self._records[self._pos]
        if record.get("op") != op:
            raise ProtocolError(
                f"replay diverged at step {self._pos}: capture has {record.get('op')!r},"
                f" driver did {op!r}",
                self.name,
            )
        self._pos += 1
        return record

    def _raise_recorded(self, record: dict[str, Any]) -> None:
        error = record.get("error")
        if error is None:
            return
        if error == "stall":
            op = record["op"]
            endpoint = "in" if op == "in" else "out" if op == "out" else record.get("endpoint")
            if endpoint in ("in", "out"):
                raise Stalled(str(endpoint), self.name, str(record.get("detail", "")))
            raise ProtocolError(str(record.get("detail", "recorded stall")), self.name)
        kind = _ERRORS.get(str(error), DeviceGone)
        raise kind(str(record.get("detail", error)), self.name)

    def write_out(self, data: bytes, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Check that ``data`` is what the capture recorded next."""
        record = self._next("out")
        if record.get("hex") != data.hex():
            raise ProtocolError(
                f"replay diverged at step {self._pos - 1}: driver sent {data.hex()},"
                f" capture has {record.get('hex')}",
                self.name,
            )
        self._raise_recorded(record)

    def read_in(self, max_length: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bytes:
        """Return what the device sent at this point of the capture."""
        record = self._next("in")
        self._raise_recorded(record)
        data = bytes.fromhex(str(record.get("hex", "")))
        if len(data) > max_length:
            raise ProtocolError(
                f"captured {len(data)} bytes for a {max_length}-byte read", self.name
            )
        return data

    def clear_stall(self, endpoint: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Follow a recorded halt clearing."""
        self._raise_recorded(self._next("clear"))

    def reset(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Follow a recorded reset."""
        self._raise_recorded(self._next("reset"))

    def close(self) -> None:
        """Nothing to release."""

    @property
    def finished(self) -> bool:
        """Tell whether every recorded transfer was played."""
        rest = self._records[self._pos :]
        return all(record.get("op") == "close" for record in rest)


def load_capture(path: Path) -> list[dict[str, Any]]:
    """Read and check a capture file; :class:`ProtocolError` for anything that is not one."""
    name = f"replay://{path}"
    try:
        raw = read_capped(path, MAX_CAPTURE_BYTES)
    except OSError as exc:
        raise DeviceGone(f"cannot read capture: {exc}", name) from exc
    if len(raw) > MAX_CAPTURE_BYTES:
        raise ProtocolError(f"capture is larger than {MAX_CAPTURE_BYTES} bytes", name)
    lines = raw.splitlines()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_BYTES:
            raise ProtocolError(f"capture line {number} is longer than {MAX_LINE_BYTES}", name)
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise ProtocolError(f"capture line {number} is not JSON", name) from None
        if not isinstance(record, dict) or record.get("op") not in (
            "open",
            "out",
            "in",
            "clear",
            "reset",
            "close",
        ):
            raise ProtocolError(f"capture line {number} is not a transfer record", name)
        if "hex" in record:
            try:
                bytes.fromhex(str(record["hex"]))
            except ValueError:
                raise ProtocolError(f"capture line {number}: hex is not hex", name) from None
        records.append(record)
    if not records or records[0]["op"] != "open":
        raise ProtocolError("capture does not start with an open record", name)
    return records
