"""Where provisioning tells the kiosk and the fleet what it is doing and what came of it.

**Kiosk** (``/run/qingka/provision.json``, replaced atomically, mode 0644)::

    {"state": "working" | "applied" | "enrolled" | "refused" | "failed",
     "code": "P-…" | null, "message_zh": "正在配置…", "message_en": "Configuring…",
     "action_zh": …, "action_en": …, "box_id": "qk-…", "serial": 7 | null,
     "started_at": ISO, "updated_at": ISO, "pid": 1234}

The kiosk shows "正在配置…" while ``state`` is ``working`` and the result afterwards. A
``working`` file whose ``pid`` is gone, or older than ten minutes, is stale (the apply was
killed); the file lives on tmpfs, so a reboot clears it.

**Fleet** (``/var/lib/qingka/events/spool/<time>-<id>.json``, one file per event, written
durably; the publisher sends each to ``qingka/<site>/<box>/events`` with QoS 1 and deletes it
once acknowledged; ``id`` lets consumers drop repeats)::

    {"id": "<32 hex>", "event": "provisioned", "at": ISO, "box_id": …, "site": … | null,
     "result": "applied" | "enrolled" | "refused" | "failed", "code": "P-…",
     "message_zh": …, "message_en": …, "serial": … | null, "previous_serial": …,
     "generation": "gen-0007" | null, "restarted": ["daemon", …], "version": "0.1.0"}

Neither ever holds a secret.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from appliance.clock import clock
from provisioning import fileops

WORKING = "working"
STALE_AFTER_S = 600


def write_status(path: Path, fields: dict[str, Any]) -> None:
    """Replace the kiosk's status file (best effort: the kiosk is not worth failing an apply)."""
    body = {**fields, "updated_at": clock().stamp(), "pid": os.getpid()}
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, mode=0o755)
        fileops.replace_file(
            path, json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n", 0o644
        )
    except OSError:
        pass  # /run missing or full: the report on the stick still says everything


def spool_event(events_dir: Path, event: dict[str, Any]) -> Path:
    """Write one fleet event durably into the spool; return its file."""
    body = {"id": secrets.token_hex(16), "event": "provisioned", "at": clock().stamp(), **event}
    fileops.make_dirs(events_dir, 0o750)
    name = f"{clock().now():%Y%m%dT%H%M%S}-{body['id'][:12]}.json"
    path = events_dir / name
    fileops.replace_file(path, json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n", 0o640)
    return path
