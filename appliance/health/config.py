"""The ``[fleet]`` table of the box's configuration: where the broker is and who the box is.

Example::

    [fleet]
    broker = "mqtts://fleet.example.cn:8883"
    ca_file = "fleet-ca.pem"               # the provisioned CA of the broker
    site = "wuhan-jianghan"
    box_id = "box-000123"
    credentials_file = "fleet-password"    # mode 0600; the MQTT username is the box id
    # or a client certificate whose common name is the box id:
    # client_cert = "box.pem"
    # client_key = "box.key"               # mode 0600
    health_interval_seconds = 60
    keepalive_seconds = 120

Paths are relative to the configuration file's folder. A bad table stops the daemon with one
sentence naming the key, like every other part of the file.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appliance.configfile import ConfigError, read_secret
from appliance.jsonfile import check_regular

# Box ids and site names become MQTT topic levels and Home Assistant discovery ids: the
# characters both accept, and no MQTT wildcard or separator.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
PROTOCOLS = ("auto", "5", "3.1.1")
DEFAULT_PORT = 8883
KNOWN_KEYS = {
    "broker",
    "ca_file",
    "site",
    "box_id",
    "credentials_file",
    "client_cert",
    "client_key",
    "protocol",
    "health_interval_seconds",
    "keepalive_seconds",
    "reconnect_min_seconds",
    "reconnect_max_seconds",
    "outbox_max_events",
    "command_window_seconds",
    "discovery",
    "discovery_prefix",
    "support_url",
    "disk_low_mb",
    "clock_drift_alert_seconds",
}


@dataclass(frozen=True)
class FleetConfig:
    """Everything the fleet link needs, checked."""

    host: str
    port: int
    ca_file: Path
    site: str
    box_id: str
    password: str | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    protocol: str = "auto"
    health_interval_s: float = 60.0
    keepalive_s: int = 120
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 120.0
    outbox_max_events: int = 10_000
    command_window_s: float = 300.0
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    support_url: str | None = None
    disk_low_mb: int = 200
    clock_drift_alert_s: float = 600.0

    @property
    def broker_url(self) -> str:
        """Return the broker as a URL (for screens and logs; it holds no secret)."""
        return f"mqtts://{self.host}:{self.port}"

    @property
    def username(self) -> str:
        """Return the MQTT username: the box id, which the broker's ACL patterns match."""
        return self.box_id


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"fleet.{key}", f"must be {names}, not {value!r}")
    return value


def _number(table: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = float(_typed(table, key, (int, float), default))
    if not low <= value <= high:
        raise ConfigError(f"fleet.{key}", f"must be between {low:g} and {high:g}")
    return value


def _identifier(table: dict[str, Any], key: str) -> str:
    value = _typed(table, key, str, None)
    if value is None:
        raise ConfigError(f"fleet.{key}", "is missing")
    if not ID_PATTERN.fullmatch(value):
        raise ConfigError(
            f"fleet.{key}", f"{value!r} must be 1 to 64 letters, digits, '-' or '_' (no spaces)"
        )
    return str(value)


def _file(table: dict[str, Any], key: str, base: Path, private: bool = False) -> Path | None:
    name = _typed(table, key, str, None)
    if name is None:
        return None
    path = base / str(name)
    try:
        # A FIFO here would hang the TLS set-up: only a regular file will do.
        check_regular(path)
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"fleet.{key}", f"cannot read {path}: {exc.strerror}") from None
    if private and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise ConfigError(
            f"fleet.{key}", f"{path} is mode {mode:04o}; it must be 0600 (chmod 600 {path})"
        )
    return path


def _broker(table: dict[str, Any]) -> tuple[str, int]:
    url = _typed(table, "broker", str, None)
    if url is None:
        raise ConfigError("fleet.broker", "is missing (for example mqtts://fleet.example.cn:8883)")
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError("fleet.broker", f"{url!r} is not a URL") from None
    if parts.scheme != "mqtts" or not parts.hostname:
        raise ConfigError(
            "fleet.broker", f"{url!r} must be mqtts://HOST[:PORT]: the box talks TLS only"
        )
    if parts.username or parts.password or parts.path not in ("", "/"):
        raise ConfigError(
            "fleet.broker", "must hold no user, password or path (use credentials_file)"
        )
    return parts.hostname, port


def parse_fleet(table: Any, base: Path) -> FleetConfig:
    """Check the ``[fleet]`` table; ``base`` is the configuration file's folder."""
    if not isinstance(table, dict):
        raise ConfigError("fleet", "must be a table ([fleet])")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"fleet.{unknown[0]}", "is not a setting of [fleet]")
    host, port = _broker(table)
    ca_file = _file(table, "ca_file", base)
    if ca_file is None:
        raise ConfigError("fleet.ca_file", "is missing: the box checks the broker's certificate")
    site = _identifier(table, "site")
    box_id = _identifier(table, "box_id")
    credentials = _file(table, "credentials_file", base, private=True)
    cert = _file(table, "client_cert", base)
    key = _file(table, "client_key", base, private=True)
    if (cert is None) != (key is None):
        raise ConfigError("fleet.client_key", "client_cert and client_key go together")
    if credentials is None and cert is None:
        raise ConfigError(
            "fleet.credentials_file", "is missing (or give client_cert and client_key)"
        )
    password = read_secret(credentials, "fleet.credentials_file") if credentials else None
    protocol = str(_typed(table, "protocol", str, "auto"))
    if protocol not in PROTOCOLS:
        raise ConfigError("fleet.protocol", f"must be one of {', '.join(PROTOCOLS)}")
    reconnect_min = _number(table, "reconnect_min_seconds", 1.0, 0.05, 600)
    reconnect_max = _number(table, "reconnect_max_seconds", 120.0, reconnect_min, 3600)
    prefix = str(_typed(table, "discovery_prefix", str, "homeassistant"))
    if not ID_PATTERN.fullmatch(prefix):
        raise ConfigError("fleet.discovery_prefix", "must be one topic level, like homeassistant")
    support_url = _typed(table, "support_url", str, None)
    if support_url is not None and not support_url.startswith(("https://", "http://")):
        raise ConfigError("fleet.support_url", "must be an http(s) URL")
    return FleetConfig(
        host=host,
        port=port,
        ca_file=ca_file,
        site=site,
        box_id=box_id,
        password=password,
        client_cert=cert,
        client_key=key,
        protocol=protocol,
        health_interval_s=_number(table, "health_interval_seconds", 60.0, 0.05, 86400),
        keepalive_s=int(_number(table, "keepalive_seconds", 120, 1, 65535)),
        reconnect_min_s=reconnect_min,
        reconnect_max_s=reconnect_max,
        outbox_max_events=int(_number(table, "outbox_max_events", 10_000, 10, 1_000_000)),
        command_window_s=_number(table, "command_window_seconds", 300.0, 5, 86400),
        discovery=bool(_typed(table, "discovery", bool, True)),
        discovery_prefix=prefix,
        support_url=support_url,
        disk_low_mb=int(_number(table, "disk_low_mb", 200, 0, 1_000_000)),
        clock_drift_alert_s=_number(table, "clock_drift_alert_seconds", 600.0, 1, 10**8),
    )
