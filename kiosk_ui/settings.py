"""The kiosk's settings: the ``[kiosk]`` table of the box's configuration file.

The daemon ignores this table and the kiosk reads nothing else of the file but the API socket,
so the kiosk starts even when the daemon's part of the file is being fixed. Example::

    [kiosk]
    language = "zh"              # or "en"
    idle_blank_minutes = 5       # 0: never blank the screen
    operator_pin = ""            # empty: the clear button needs no PIN
    technician_pin = "2580"
    # A provisioning bundle writes hashes instead (provisioning/pinhash.py); a role has either
    # its plain PIN or its hash, never both, and with a hash the default 2580 does not apply.
    # technician_pin_hash = "scrypt$14$8$1$<salt hex>$<hash hex>"
    # operator_pin_hash = "scrypt$14$8$1$<salt hex>$<hash hex>"
    device_pin_by_operator = false  # true: the operator PIN (not the service PIN) guards device
                                 # PIN entry from home; the service screen always offers it
    usb_dir = "/media/usb"       # where "export backups" writes
    fullscreen = true
    font = ""                    # a font file covering Chinese and Latin; empty: look for one
    provision_status = "/run/qingka/provision.json"  # what provisioning is doing; empty: ignore
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.api.protocol import default_socket_path
from appliance.configfile import decode_toml
from appliance.jsonfile import read_capped
from kiosk_ui.catalog import DEFAULT_LANGUAGE, LANGUAGES
from provisioning.pinhash import is_pin_hash

DEFAULT_CONFIG = Path("/etc/qingka/qingka.toml")
DEFAULT_TECHNICIAN_PIN = "2580"
# Where provisioning (provisioning/outbox.py) tells the kiosk what it is doing.
DEFAULT_PROVISION_STATUS = Path("/run/qingka/provision.json")
# The configuration file is a few KiB; the cap keeps a wrong path from being read whole.
MAX_CONFIG_BYTES = 256 * 1024
MAX_PIN_LENGTH = 12


class SettingsError(Exception):
    """A bad value in the ``[kiosk]`` table; ``key`` names it."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"配置错误 / configuration error: '{key}': {problem}")


@dataclass(frozen=True)
class KioskSettings:
    """What the kiosk needs to know, checked."""

    socket: Path
    language: str = DEFAULT_LANGUAGE
    idle_blank_s: float = 300.0
    operator_pin: str | None = None
    # None when the role's PIN is a hash: a hash, when given, is what the PIN pad checks.
    technician_pin: str | None = DEFAULT_TECHNICIAN_PIN
    device_pin_by_operator: bool = False
    usb_dir: Path = Path("/media/usb")
    fullscreen: bool = True
    font: Path | None = None
    technician_pin_hash: str | None = None
    operator_pin_hash: str | None = None
    # None: not watched (the settings file's default is DEFAULT_PROVISION_STATUS).
    provision_status: Path | None = None

    def __post_init__(self) -> None:
        # A role checks its hash or its plain PIN, never both: with a technician hash, the
        # default technician PIN 2580 must not open the service screen as well.
        if self.technician_pin_hash is not None:
            object.__setattr__(self, "technician_pin", None)
        if self.operator_pin_hash is not None:
            object.__setattr__(self, "operator_pin", None)


def _pin(value: Any, key: str) -> str | None:
    if not isinstance(value, str):
        raise SettingsError(key, "must be a string of digits")
    if not value:
        return None
    if not value.isdigit() or not 4 <= len(value) <= MAX_PIN_LENGTH:
        raise SettingsError(key, f"must be 4 to {MAX_PIN_LENGTH} digits")
    return value


def _pin_hash(table: dict[str, Any], role: str) -> str | None:
    """Return the role's PIN hash, checked; refuse it beside the same role's plain PIN."""
    key = f"{role}_pin_hash"
    if key not in table:
        return None
    value = table[key]
    if f"{role}_pin" in table:
        raise SettingsError(
            f"kiosk.{key}", f"is given together with kiosk.{role}_pin: keep one of the two"
        )
    if not isinstance(value, str) or not is_pin_hash(value):
        raise SettingsError(
            f"kiosk.{key}",
            "is not a PIN hash this box can check (qingka provision make writes scrypt$14$8$1$…)",
        )
    return value


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = read_capped(path, MAX_CONFIG_BYTES)  # a FIFO or a folder is refused, not waited on
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(str(path), f"cannot be read: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise SettingsError(str(path), f"is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return decode_toml(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(str(path), f"is not valid TOML: {exc}") from None


def _socket(data: dict[str, Any], base: Path) -> Path:
    api = data.get("api", {})
    if isinstance(api, dict) and isinstance(api.get("socket"), str):
        return base / str(api["socket"])
    return Path(default_socket_path())


def parse(data: dict[str, Any], base: Path, socket: Path | None = None) -> KioskSettings:
    """Return the settings in ``data`` (a parsed configuration file found in ``base``)."""
    table = data.get("kiosk", {})
    if not isinstance(table, dict):
        raise SettingsError("kiosk", "must be a table ([kiosk])")
    language = table.get("language", data.get("language", DEFAULT_LANGUAGE))
    if language not in LANGUAGES:
        raise SettingsError("kiosk.language", f"must be one of {', '.join(LANGUAGES)}")
    idle = table.get("idle_blank_minutes", 5)
    if isinstance(idle, bool) or not isinstance(idle, int | float) or not 0 <= idle <= 24 * 60:
        raise SettingsError("kiosk.idle_blank_minutes", "must be a number from 0 to 1440")
    technician_hash = _pin_hash(table, "technician")
    operator_hash = _pin_hash(table, "operator")
    technician = None
    if technician_hash is None:
        technician = _pin(
            table.get("technician_pin", DEFAULT_TECHNICIAN_PIN), "kiosk.technician_pin"
        )
        if technician is None:
            raise SettingsError("kiosk.technician_pin", "must not be empty")
    fullscreen = table.get("fullscreen", True)
    by_operator = table.get("device_pin_by_operator", False)
    for key, flag in (("fullscreen", fullscreen), ("device_pin_by_operator", by_operator)):
        if not isinstance(flag, bool):
            raise SettingsError(f"kiosk.{key}", "must be true or false")
    usb_dir = table.get("usb_dir", "/media/usb")
    font = table.get("font", "")
    status = table.get("provision_status", str(DEFAULT_PROVISION_STATUS))
    for key, value in (("usb_dir", usb_dir), ("font", font), ("provision_status", status)):
        if not isinstance(value, str):
            raise SettingsError(f"kiosk.{key}", "must be a string")
    return KioskSettings(
        socket=socket if socket is not None else _socket(data, base),
        language=language,
        idle_blank_s=float(idle) * 60,
        operator_pin=_pin(table.get("operator_pin", ""), "kiosk.operator_pin"),
        technician_pin=technician,
        device_pin_by_operator=by_operator,
        usb_dir=base / usb_dir,
        fullscreen=fullscreen,
        font=base / font if font else None,
        technician_pin_hash=technician_hash,
        operator_pin_hash=operator_hash,
        provision_status=base / status if status else None,
    )


def load(path: Path | None = None, socket: Path | None = None) -> KioskSettings:
    """Read the settings from ``path`` (default: the box's file; a missing file means defaults).

    The API socket is ``socket`` when given, else the file's ``[api] socket``, else
    ``QINGKA_API_SOCKET`` or the box's default.
    """
    config = path if path is not None else Path(os.environ.get("QINGKA_CONFIG", DEFAULT_CONFIG))
    return parse(_read(config), config.parent, socket)
