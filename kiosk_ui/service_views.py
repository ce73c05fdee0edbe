"""What the technician screen shows, from the daemon's ``diagnostics``, ``backups`` and ``logs``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from kiosk_ui.catalog import tr
from kiosk_ui.views import period_text, uptime_text

# A log line on the screen is a summary; the full line stays in the daemon's journal.
MAX_LOG_CHARS = 160
_LOG_SKIP = {"at", "level", "logger", "msg", "event", "types", "label_en", "message_en"}


def overview_lines(
    diagnostics: dict[str, Any] | None, connected: bool, kivy_version: str, lang: str
) -> list[str]:
    """Return the overview: versions, network, and what the box can reach."""
    lines = [tr("tech.kiosk", lang, kivy=kivy_version)]
    if not connected or diagnostics is None:
        return [*lines, tr("tech.daemon_down", lang)]
    addresses = [a for a in diagnostics.get("addresses", []) if isinstance(a, str)]
    lines = [
        tr(
            "tech.version",
            lang,
            version=diagnostics.get("version", "?"),
            python=diagnostics.get("python", "?"),
        ),
        *lines,
        tr("tech.system", lang, system=diagnostics.get("system", "?")),
        tr("tech.hostname", lang, name=diagnostics.get("hostname", "?")),
        tr(
            "tech.addresses",
            lang,
            addresses=", ".join(addresses) if addresses else tr("tech.no_address", lang),
        ),
        tr("tech.daemon_ok", lang, uptime=uptime_text(float(diagnostics.get("uptime_s", 0)), lang)),
    ]
    bureaus = [b for b in diagnostics.get("bureau", []) if isinstance(b, dict)]
    if not bureaus:
        lines.append(tr("tech.bureau_none", lang))
    for bureau in bureaus:
        host = urlsplit(str(bureau.get("url", ""))).netloc or str(bureau.get("url", ""))
        if bureau.get("reachable"):
            lines.append(tr("tech.bureau_ok", lang, host=host, ms=bureau.get("ms", "?")))
        else:
            lines.append(tr("tech.bureau_down", lang, host=host, error=bureau.get("error", "?")))
    broker = diagnostics.get("broker")
    if not isinstance(broker, dict):
        lines.append(tr("tech.broker_none", lang))
    else:
        lines.append(tr("tech.broker_ok" if broker.get("reachable") else "tech.broker_down", lang))
    return lines


def size_text(size: int) -> str:
    """Return a byte count as B, KB or MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def backup_lines(backups: list[dict[str, Any]], lang: str) -> list[str]:
    """Return one line per backed-up period, newest first."""
    rows = sorted(
        (b for b in backups if isinstance(b, dict)),
        key=lambda b: (str(b.get("device_no", "")), b.get("period") or 0),
        reverse=True,
    )
    lines = []
    for backup in rows:
        files = [f for f in backup.get("files", []) if isinstance(f, dict)]
        exported = any(f.get("exported_at") for f in files)
        lines.append(
            tr(
                "tech.backup_row",
                lang,
                device=backup.get("device_no", "?"),
                period=period_text(backup.get("period"), lang),
                files=len(files),
                size=size_text(sum(int(f.get("size", 0)) for f in files)),
                exported=tr("tech.exported" if exported else "tech.not_exported", lang),
            )
        )
    return lines


def log_line(raw: str) -> str:
    """Return a daemon log line (JSON) as "time level message key=value …", shortened."""
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return raw[:MAX_LOG_CHARS]
    at = str(record.get("at", ""))
    when = at[11:19] if len(at) >= 19 else at
    parts = [when, str(record.get("level", "")), str(record.get("msg", ""))]
    for key, value in record.items():
        if key in _LOG_SKIP or value in (None, "", [], {}):
            continue
        parts.append(f"{key}={value}")
    text = " ".join(p for p in parts if p)
    return text if len(text) <= MAX_LOG_CHARS else text[: MAX_LOG_CHARS - 1] + "…"
