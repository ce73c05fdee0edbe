"""Structured logs: one JSON line per record on standard output (journald keeps them on the box)."""

from __future__ import annotations

import json
import logging
import sys
from collections import deque
from typing import Any

from appliance.clock import clock


class JsonLines(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the line."""
        line: dict[str, Any] = {
            # The product's clock and zone, like every time a person reads (formatting follows
            # the record within microseconds).
            "at": clock().stamp("milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


# The technician screen shows the last 200 lines; older ones are in journald.
RECENT_LINES = 200


class Recent(logging.Handler):
    """Keeps the last lines in memory, for the technician screen (journald has the rest)."""

    def __init__(self, size: int = RECENT_LINES) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=size)
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one formatted line."""
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a log line that cannot be formatted is dropped
            self.handleError(record)


recent = Recent()


def setup(level: int = logging.INFO) -> None:
    """Send every log record to standard output as JSON lines, and keep the last ones."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler, recent]
    root.setLevel(level)
