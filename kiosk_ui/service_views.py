"""What the technician screen shows, from the daemon's ``diagnostics``, ``backups`` and ``logs``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from appliance.clock import clock
from kiosk_ui.catalog import tr, tr_or
from kiosk_ui.views import period_text, uptime_text, when_text

# A log line on the screen wraps; past this it is a summary (the whole line stays in the journal).
MAX_LOG_CHARS = 400
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
    lines.append(_fleet_line(diagnostics, lang))
    return lines


def _fleet_line(diagnostics: dict[str, Any], lang: str) -> str:
    """Return the fleet broker's line: reachable or not, and when the box last published."""
    fleet = diagnostics.get("fleet")
    if not isinstance(fleet, dict):
        fleet = diagnostics.get("broker")  # a daemon from before the fleet key
    if not isinstance(fleet, dict):
        return tr("tech.broker_none", lang)
    line = tr("tech.broker_ok" if fleet.get("reachable") else "tech.broker_down", lang)
    published = when_text(fleet.get("last_publish"), clock().now(), lang)
    return tr("tech.broker_published", lang, line=line, when=published) if published else line


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


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def log_line(raw: str, lang: str = "zh") -> str:
    """Return a daemon log line (JSON) as a sentence: "10:00:04  上报汇总 35%  设备 6619…".

    The words a person reads come first (a step's label, an outcome's message, in ``lang``),
    then the identifying fields; the line wraps on the screen instead of being cut.
    """
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict):
        return _shorten(raw)
    at = str(record.get("at", ""))
    parts = [at[11:19] if len(at) >= 19 else at]
    level = str(record.get("level", "")).lower()
    if level in ("warning", "error", "critical"):
        parts.append(tr(f"log.{'error' if level == 'critical' else level}", lang))
    said = [
        record.get(key)
        for key in (f"label_{lang}", f"message_{lang}", "label_zh", "message_zh", "msg")
        if _scalar(record.get(key))
    ]
    parts.append(str(said[0]) if said else "")
    if isinstance(record.get("progress"), int):
        parts[-1] += f" {record['progress']}%"
    for key, value in record.items():
        if key in _LOG_SKIP or key.startswith(("label_", "message_", "action_")):
            continue
        if key == "progress" or not _scalar(value) or str(value) in parts[-1]:
            continue
        if key == "step" and said and said[0] != record.get("msg"):
            continue  # the step's label says it
        shown = tr_or(f"outcome.{value}", lang, str(value)) if key == "kind" else value
        parts.append(f"{tr_or(f'log.key.{key}', lang, key)} {shown}")
    return _shorten("  ".join(p for p in parts if p))


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LOG_CHARS else text[: MAX_LOG_CHARS - 1] + "…"
