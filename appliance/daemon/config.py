"""The daemon's configuration file (TOML): read, checked, and turned into typed settings.

A bad file stops the daemon with one sentence naming the key and what is wrong with it, never a
traceback: the person reading it is a technician at a shop counter.

Example::

    data_dir = "/var/lib/qingka"

    [schedule]
    policy = "auto"                  # or "button-only"
    check_interval_minutes = 15

    [api]
    socket = "/run/qingka/api.sock"
    mode = "0660"
    group = "qingka"

    [pin]
    file = "/etc/qingka/pin"         # must be mode 0600

    [usb]
    auto_discover = true

    [[device]]
    url = "usb://1432:07d0"
    taxpayer_id = "91420103MA0000000A"

    [bureau]
    endpoints_file = "/etc/qingka/endpoints.json"   # or base_url = "https://..."
    ca_bundle = "/etc/qingka/bureau-ca.pem"
    public_key = "04ab..."                          # or public_key_file

    [calendar]
    file = "/etc/qingka/calendar.json"              # optional, over the shipped table
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.bureau.config import BureauConfig
from appliance.bureau.endpoints import EndpointError, EndpointTable
from appliance.bureau.retry import RetryPolicy
from appliance.calendar.filing import CalendarError, FilingCalendar, default_calendar
from appliance.clearing.engine import POLICY_AUTO, POLICY_BUTTON, DeviceSpec
from appliance.devices.errors import BadDeviceAddress
from appliance.devices.urls import DeviceUrl
from appliance.protocol.commands import DEFAULT_PIN
from appliance.taxpayer import is_valid_taxpayer_id

if TYPE_CHECKING:
    from appliance.health.config import FleetConfig

DEFAULT_PATH = Path("/etc/qingka/qingka.toml")
# A configuration file is a few KiB; the cap keeps a wrong path (a log, an image) from being read.
MAX_CONFIG_BYTES = 256 * 1024
MAX_SECRET_BYTES = 4096


class ConfigError(Exception):
    """A configuration problem; ``key`` names the setting."""

    code = "C-001"

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")

    def __str__(self) -> str:
        return f"配置错误 / configuration error: '{self.key}': {self.problem} [{self.code}]"


@dataclass(frozen=True)
class DaemonConfig:
    """Everything the daemon needs, checked."""

    path: Path
    data_dir: Path
    policy: str
    check_interval_s: float
    api_socket: Path
    api_mode: int
    api_group: str | None
    devices: list[DeviceSpec]
    usb_auto_discover: bool
    default_pin: str
    bureau: BureauConfig
    calendar: FilingCalendar
    language: str = "zh"
    extra: dict[str, Any] = field(default_factory=dict)
    fleet: FleetConfig | None = None  # the [fleet] table (appliance/health/config.py)

    @property
    def database_path(self) -> Path:
        """Return the journal database file."""
        return self.data_dir / "qingka.db"

    @property
    def backup_dir(self) -> Path:
        """Return the root of the backups."""
        return self.data_dir


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table ([" + key + "])")
    return value


def _get(
    data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None
) -> Any:
    if key not in data:
        if default is None:
            raise ConfigError(f"{where}{key}", "is missing")
        return default
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}{key}", f"must be {names}, not {value!r}")
    return value


def read_secret(path: Path, key: str) -> str:
    """Read a one-line secret from a file that only its owner may read (mode 0600)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise ConfigError(key, f"{path} is mode {mode:04o}; it must be 0600 (chmod 600 {path})")
    with path.open("rb") as handle:
        raw = handle.read(MAX_SECRET_BYTES + 1)
    if len(raw) > MAX_SECRET_BYTES:
        raise ConfigError(key, f"{path} is too long to hold a PIN")
    lines = raw.decode("utf-8", "replace").splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise ConfigError(key, f"{path} is empty")
    return value


def _bureau(data: dict[str, Any], base: Path) -> BureauConfig:
    where = "bureau."
    try:
        if "base_url" in data:
            endpoints = EndpointTable.per_authority(_get(data, "base_url", str, where))
        elif "endpoints_file" in data:
            endpoints = EndpointTable.from_file(base / _get(data, "endpoints_file", str, where))
        elif "endpoints" in data:
            endpoints = EndpointTable.from_mapping(_get(data, "endpoints", dict, where))
        else:
            raise ConfigError("bureau.base_url", "is missing (or give endpoints_file/endpoints)")
    except (EndpointError, OSError) as exc:
        raise ConfigError("bureau.endpoints", str(exc)) from None
    ca = base / _get(data, "ca_bundle", str, where)
    if not ca.is_file():
        raise ConfigError("bureau.ca_bundle", f"file {ca} does not exist")
    if "public_key_file" in data:
        key_path = base / _get(data, "public_key_file", str, where)
        try:
            key_hex = key_path.read_text("ascii", errors="replace").strip()[:1000]
        except OSError as exc:
            raise ConfigError("bureau.public_key_file", f"cannot read {key_path}: {exc}") from None
    else:
        key_hex = _get(data, "public_key", str, where)
    try:
        public_key = bytes.fromhex(key_hex)
    except ValueError:
        raise ConfigError("bureau.public_key", "is not hex") from None
    try:
        return BureauConfig(
            endpoints=endpoints,
            ca_bundle=ca,
            bureau_public_key=public_key,
            connect_timeout=float(_get(data, "connect_timeout", (int, float), where, 5.0)),
            read_timeout=float(_get(data, "read_timeout", (int, float), where, 15.0)),
            attempt_timeout=float(_get(data, "attempt_timeout", (int, float), where, 30.0)),
            retry=RetryPolicy(
                max_attempts=int(_get(data, "retry_attempts", int, where, 5)),
                deadline=float(_get(data, "retry_deadline", (int, float), where, 60.0)),
            ),
        )
    except ValueError as exc:
        raise ConfigError("bureau", str(exc)) from None


def _devices(entries: Any, base: Path, default_pin: str) -> list[DeviceSpec]:
    if not isinstance(entries, list):
        raise ConfigError("device", "must be an array of tables ([[device]])")
    specs = []
    for number, entry in enumerate(entries, start=1):
        where = f"device[{number}]."
        if not isinstance(entry, dict):
            raise ConfigError(f"device[{number}]", "must be a table")
        url = _get(entry, "url", str, where)
        try:
            DeviceUrl.parse(url)
        except BadDeviceAddress as exc:
            raise ConfigError(f"{where}url", exc.detail) from None
        taxpayer = entry.get("taxpayer_id")
        if taxpayer is not None and (
            not isinstance(taxpayer, str) or not is_valid_taxpayer_id(taxpayer)
        ):
            raise ConfigError(
                f"{where}taxpayer_id", f"{taxpayer!r} is not a valid 18-character taxpayer ID"
            )
        pin = default_pin
        if "pin_file" in entry:
            pin = read_secret(base / _get(entry, "pin_file", str, where), f"{where}pin_file")
        specs.append(DeviceSpec(url=url, pin=pin, expected_taxpayer=taxpayer))
    return specs


def load_config(path: Path) -> DaemonConfig:
    """Read and check the configuration at ``path``; :class:`ConfigError` names what is wrong."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("(file)", f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("(file)", f"{path} is not valid TOML: {exc}") from None
    base = path.parent
    data_dir = base / _get(data, "data_dir", str, "", "/var/lib/qingka")
    schedule = _table(data, "schedule")
    policy = _get(schedule, "policy", str, "schedule.", POLICY_AUTO)
    if policy not in (POLICY_AUTO, POLICY_BUTTON):
        raise ConfigError("schedule.policy", f"must be '{POLICY_AUTO}' or '{POLICY_BUTTON}'")
    interval = float(_get(schedule, "check_interval_minutes", (int, float), "schedule.", 15))
    if not 0 < interval <= 24 * 60:
        raise ConfigError("schedule.check_interval_minutes", "must be between 0 and 1440")
    api = _table(data, "api")
    try:
        mode = int(_get(api, "mode", str, "api.", "0660"), 8)
    except ValueError:
        raise ConfigError("api.mode", 'must be an octal mode like "0660"') from None
    pin_table = _table(data, "pin")
    default_pin = (
        read_secret(base / _get(pin_table, "file", str, "pin."), "pin.file")
        if "file" in pin_table
        else DEFAULT_PIN
    )
    usb = _table(data, "usb")
    calendar = default_calendar()
    calendar_table = _table(data, "calendar")
    if "file" in calendar_table:
        cal_path = base / _get(calendar_table, "file", str, "calendar.")
        try:
            calendar = calendar.merged(FilingCalendar.from_file(cal_path))
        except (CalendarError, OSError) as exc:
            raise ConfigError("calendar.file", str(exc)) from None
    language = _get(data, "language", str, "", "zh")
    if language not in ("zh", "en"):
        raise ConfigError("language", "must be 'zh' or 'en'")
    from appliance.health.config import parse_fleet  # noqa: PLC0415 - it imports this module

    fleet = parse_fleet(data["fleet"], base) if "fleet" in data else None
    return DaemonConfig(
        path=path,
        data_dir=data_dir,
        policy=policy,
        check_interval_s=interval * 60,
        api_socket=base / _get(api, "socket", str, "api.", "/run/qingka/api.sock"),
        api_mode=mode,
        api_group=api.get("group") if isinstance(api.get("group"), str) else None,
        devices=_devices(data.get("device", []), base, default_pin),
        usb_auto_discover=bool(_get(usb, "auto_discover", bool, "usb.", False) or False),
        default_pin=default_pin,
        bureau=_bureau(_table(data, "bureau"), base),
        calendar=calendar,
        language=language,
        fleet=fleet,
    )
