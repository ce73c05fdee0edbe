"""The box's configuration file (TOML): read, checked, and turned into typed settings.

A bad file stops everything with one sentence naming the key and what is wrong with it (and the
key it was probably meant to be), never a traceback: the person reading it is a technician at a
shop counter. Every key is checked before anything starts; a key this version does not know is
a mistake, not something to ignore (``polcy = "button-only"`` would otherwise run ``auto``).

``qingka config example`` prints a commented example (docs/qingka.example.toml);
``qingka config check FILE`` checks a file without starting anything.
"""

from __future__ import annotations

import difflib
import grp
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.bureau.config import BureauConfig
from appliance.bureau.endpoints import EndpointError, EndpointTable
from appliance.bureau.retry import RetryPolicy
from appliance.calendar.filing import CalendarError, FilingCalendar, default_calendar
from appliance.clearing.specs import POLICIES, POLICY_AUTO, DeviceSpec
from appliance.clock import DEFAULT_ZONE, ClockError, zone_named

# Re-exported: most of the box reads its configuration errors from here.
from appliance.configfile import ConfigError as ConfigError  # noqa: PLC0414
from appliance.configfile import decode_toml
from appliance.configfile import read_secret as read_secret  # noqa: PLC0414
from appliance.devices.errors import BadDeviceAddress
from appliance.devices.urls import DeviceUrl, replay_file_problem
from appliance.jsonfile import NotRegularFile, check_regular, read_capped
from appliance.protocol.commands import DEFAULT_PIN
from appliance.taxpayer import is_valid_taxpayer_id

if TYPE_CHECKING:
    from appliance.health.config import FleetConfig

DEFAULT_PATH = Path("/etc/qingka/qingka.toml")
DEFAULT_DATA_DIR = "/var/lib/qingka"
DEFAULT_SOCKET = "/run/qingka/api.sock"
# A configuration file is a few KiB; the cap keeps a wrong path (a log, an image) from being read.
MAX_CONFIG_BYTES = 256 * 1024
# sockaddr_un holds 108 bytes with the terminating zero: a longer path cannot be bound.
MAX_SOCKET_PATH_BYTES = 107
LANGUAGES = ("zh", "en")

# Every key this version knows, per table ("" is the top level). A table whose keys another
# part of the box checks (the kiosk's) is listed with None.
KNOWN_KEYS: dict[str, frozenset[str] | None] = {
    "": frozenset(
        {
            "data_dir",
            "language",
            "time_zone",
            "schedule",
            "api",
            "pin",
            "usb",
            "device",
            "bureau",
            "calendar",
            "backup",
            "kiosk",
            "fleet",
        }
    ),
    "schedule": frozenset({"policy", "check_interval_minutes"}),
    "api": frozenset({"socket", "mode", "group"}),
    "pin": frozenset({"file"}),
    "usb": frozenset({"auto_discover"}),
    "device": frozenset({"url", "taxpayer_id", "pin_file"}),
    "bureau": frozenset(
        {
            "base_url",
            "endpoints_file",
            "endpoints",
            "ca_bundle",
            "public_key",
            "public_key_file",
            "connect_timeout",
            "read_timeout",
            "attempt_timeout",
            "retry_attempts",
            "retry_deadline",
        }
    ),
    "calendar": frozenset({"file"}),
    "backup": frozenset({"export_dir", "retention_months"}),
    "kiosk": None,
}

# Tables other parts of the box add (name -> parser of the raw table and the file's folder);
# their result lands in ``DaemonConfig.extensions[name]``.
TableParser = Callable[[dict[str, Any], Path], Any]
EXTENSIONS: dict[str, TableParser] = {}


@dataclass(frozen=True)
class DaemonConfig:
    """Everything the box needs, checked."""

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
    bureau: BureauConfig | None
    calendar: FilingCalendar
    language: str = "zh"
    time_zone: str = DEFAULT_ZONE
    export_dir: Path = Path("/media")
    retention_months: int = 24
    extensions: dict[str, Any] = field(default_factory=dict)
    fleet: FleetConfig | None = None  # the [fleet] table (appliance/health/config.py)

    @property
    def database_path(self) -> Path:
        """Return the journal database file."""
        return self.data_dir / "qingka.db"

    @property
    def backup_dir(self) -> Path:
        """Return the root of the backups."""
        return self.data_dir

    def bureau_config(self) -> BureauConfig:
        """Return the bureau settings; :class:`ConfigError` for a file that has none."""
        if self.bureau is None:
            raise ConfigError(
                "bureau",
                "is missing: the box cannot reach the tax bureau",
                "缺少 [bureau]：本机无法连接税务局",
            )
        return self.bureau


def _closest(key: str, known: frozenset[str]) -> str | None:
    """Return the known key ``key`` was most likely meant to be (a typo, or a part of it)."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    if close:
        return close[0]
    partial = sorted(k for k in known if key and (k.startswith(key) or key.startswith(k)))
    return partial[0] if partial else None


def _suggest(key: str, known: frozenset[str]) -> str:
    close = _closest(key, known)
    if close:
        return f"; did you mean '{close}'?"
    return f"; known here: {', '.join(sorted(known))}"


def _check_keys(data: dict[str, Any], table: str, where: str) -> None:
    known = KNOWN_KEYS.get(table)
    if known is None:
        return
    if table == "":
        known = known | frozenset(EXTENSIONS)
    for key, value in data.items():
        if key not in known:
            kind = "table" if isinstance(value, dict) else "key"
            hint = _suggest(key, known)
            close = _closest(key, known)
            hint_zh = f"；是不是想写 {close}？" if close else ""
            raise ConfigError(
                f"{where}{key}",
                f"is not a {kind} this box knows{hint}",
                f"本机不认识这个{'表' if kind == 'table' else '设置项'}{hint_zh}",
            )


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table ([" + key + "])", f"应写成表 [{key}]")
    _check_keys(value, key, f"{key}.")
    return value


def _get(
    data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None
) -> Any:
    if key not in data:
        if default is None:
            raise ConfigError(f"{where}{key}", "is missing", "缺少这一项")
        return default
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        words = {"str": "a string in quotes", "int": "a whole number", "float": "a number"}
        wanted = " or ".join(words.get(name, name) for name in names.split(" or "))
        words_zh = {"str": "带引号的文字", "int": "整数", "float": "数字"}
        wanted_zh = "或".join(words_zh.get(name, name) for name in names.split(" or "))
        raise ConfigError(
            f"{where}{key}",
            f"must be {wanted}, not {value!r}",
            f"应为{wanted_zh}，而不是 {value!r}",
        )
    return value


def _number(
    data: dict[str, Any], key: str, where: str, default: float, low: float, high: float
) -> float:
    value = float(_get(data, key, (int, float), where, default))
    if not low <= value <= high:
        raise ConfigError(
            f"{where}{key}",
            f"must be between {low:g} and {high:g}, not {value:g}",
            f"应在 {low:g} 到 {high:g} 之间，而不是 {value:g}",
        )
    return value


def _bureau(data: dict[str, Any], base: Path) -> BureauConfig | None:
    if not data:
        return None
    where = "bureau."
    try:
        if "base_url" in data:
            endpoints = EndpointTable.per_authority(_get(data, "base_url", str, where))
        elif "endpoints_file" in data:
            endpoints_file = base / _get(data, "endpoints_file", str, where)
            try:
                endpoints = EndpointTable.from_file(endpoints_file)
            except OSError as exc:
                raise ConfigError(
                    "bureau.endpoints_file", f"cannot read {endpoints_file}: {exc.strerror}"
                ) from None
        elif "endpoints" in data:
            endpoints = EndpointTable.from_mapping(_get(data, "endpoints", dict, where))
        else:
            raise ConfigError("bureau.base_url", "is missing (or give endpoints_file/endpoints)")
    except (EndpointError, OSError) as exc:
        raise ConfigError("bureau.endpoints", str(exc)) from None
    ca = base / _get(data, "ca_bundle", str, where)
    try:
        check_regular(ca)
    except FileNotFoundError:
        raise ConfigError(
            "bureau.ca_bundle", f"file {ca} does not exist", f"文件 {ca} 不存在"
        ) from None
    except OSError as exc:
        raise ConfigError("bureau.ca_bundle", f"cannot read {ca}: {exc.strerror}") from None
    if "public_key_file" in data:
        key_path = base / _get(data, "public_key_file", str, where)
        try:
            key_hex = read_capped(key_path, 1000).decode("ascii", "replace").strip()
        except OSError as exc:
            raise ConfigError(
                "bureau.public_key_file", f"cannot read {key_path}: {exc.strerror}"
            ) from None
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
            connect_timeout=_number(data, "connect_timeout", where, 5.0, 0.1, 300),
            read_timeout=_number(data, "read_timeout", where, 15.0, 0.1, 600),
            attempt_timeout=_number(data, "attempt_timeout", where, 30.0, 0.1, 3600),
            retry=RetryPolicy(
                max_attempts=int(_number(data, "retry_attempts", where, 5, 1, 100)),
                deadline=_number(data, "retry_deadline", where, 60.0, 0.1, 24 * 3600),
            ),
        )
    except ValueError as exc:
        raise ConfigError("bureau", str(exc)) from None


def check_device_url(url: str, base: Path, key: str) -> None:
    """Check a device address as far as can be done without opening it."""
    try:
        parsed = DeviceUrl.parse(url)
        parsed.check()
    except BadDeviceAddress as exc:
        raise ConfigError(key, exc.detail) from None
    if parsed.scheme == "replay":
        problem = replay_file_problem(base / parsed.target)
        if problem is not None:
            raise ConfigError(key, problem)


def _devices(entries: Any, base: Path, default_pin: str) -> list[DeviceSpec]:
    if not isinstance(entries, list):
        raise ConfigError("device", "must be an array of tables ([[device]])")
    specs = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"device[{number}]."
        if not isinstance(entry, dict):
            raise ConfigError(f"device[{number}]", "must be a table")
        _check_keys(entry, "device", where)
        url = _get(entry, "url", str, where)
        check_device_url(url, base, f"{where}url")
        if url in seen:
            raise ConfigError(f"{where}url", f"{url} is listed twice")
        seen.add(url)
        taxpayer = entry.get("taxpayer_id")
        if taxpayer is not None and (
            not isinstance(taxpayer, str) or not is_valid_taxpayer_id(taxpayer)
        ):
            raise ConfigError(
                f"{where}taxpayer_id",
                f"{taxpayer!r} is not a valid 18-character taxpayer ID",
                f"{taxpayer!r} 不是有效的18位纳税人识别号",
            )
        pin = default_pin
        if "pin_file" in entry:
            pin = read_secret(base / _get(entry, "pin_file", str, where), f"{where}pin_file")
        specs.append(DeviceSpec(url=url, pin=pin, expected_taxpayer=taxpayer))
    return specs


def _path_text(value: str, key: str) -> str:
    """Return a path setting's text; an empty one is refused (it would mean the config's folder)."""
    if not value.strip():
        raise ConfigError(key, "is empty; give a path", "为空；请填写路径")
    return value


def _data_dir(data: dict[str, Any], base: Path) -> Path:
    path: Path = base / _path_text(_get(data, "data_dir", str, "", DEFAULT_DATA_DIR), "data_dir")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            "data_dir", f"{existing} is a file, not a folder", f"{existing} 是文件，不是文件夹"
        )
    return path


def _api(api: dict[str, Any], base: Path) -> tuple[Path, int, str | None]:
    socket: Path = base / _path_text(_get(api, "socket", str, "api.", DEFAULT_SOCKET), "api.socket")
    if len(os.fsencode(socket)) > MAX_SOCKET_PATH_BYTES:
        raise ConfigError(
            "api.socket",
            f"{socket} is longer than the {MAX_SOCKET_PATH_BYTES} bytes a socket allows",
            f"路径超过了套接字允许的 {MAX_SOCKET_PATH_BYTES} 字节",
        )
    try:
        mode = int(_get(api, "mode", str, "api.", "0660"), 8)
    except ValueError:
        raise ConfigError("api.mode", 'must be an octal mode like "0660"') from None
    if not 0 <= mode <= 0o777:
        raise ConfigError("api.mode", 'must be an octal mode like "0660"')
    group = None
    if "group" in api:
        group = _get(api, "group", str, "api.")
        try:
            grp.getgrnam(group)
        except KeyError:
            raise ConfigError(
                "api.group",
                f"there is no group named {group!r} on this system",
                f"本机没有名为 {group!r} 的用户组",
            ) from None
    return socket, mode, group


def parse_config(data: dict[str, Any], path: Path) -> DaemonConfig:
    """Check parsed TOML ``data`` (of the file at ``path``) key by key."""
    _check_keys(data, "", "")
    base = path.parent
    data_dir = _data_dir(data, base)
    schedule = _table(data, "schedule")
    policy = _get(schedule, "policy", str, "schedule.", POLICY_AUTO)
    if policy not in POLICIES:
        choices = " or ".join(repr(p) for p in POLICIES)
        raise ConfigError("schedule.policy", f"must be {choices}", f"只能是 {choices}")
    interval = _number(schedule, "check_interval_minutes", "schedule.", 15, 0.01, 24 * 60)
    socket, mode, group = _api(_table(data, "api"), base)
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
        except CalendarError as exc:
            raise ConfigError("calendar.file", str(exc)) from None
        except OSError as exc:
            raise ConfigError("calendar.file", f"cannot read {cal_path}: {exc.strerror}") from None
    language = _get(data, "language", str, "", "zh")
    if language not in LANGUAGES:
        raise ConfigError("language", "must be 'zh' or 'en'", "只能是 'zh' 或 'en'")
    zone = _get(data, "time_zone", str, "", DEFAULT_ZONE)
    try:
        zone_named(zone)
    except ClockError as exc:
        raise ConfigError("time_zone", str(exc)) from None
    backup = _table(data, "backup")
    _table(data, "kiosk")  # the kiosk checks its own keys; here only that it is a table
    extensions = {
        name: parser(_get(data, name, dict, "", {}), base) for name, parser in EXTENSIONS.items()
    }
    from appliance.health.config import parse_fleet  # noqa: PLC0415 - it imports this module

    fleet = parse_fleet(data["fleet"], base) if "fleet" in data else None
    return DaemonConfig(
        path=path,
        data_dir=data_dir,
        policy=policy,
        check_interval_s=interval * 60,
        api_socket=socket,
        api_mode=mode,
        api_group=group,
        devices=_devices(data.get("device", []), base, default_pin),
        usb_auto_discover=bool(_get(usb, "auto_discover", bool, "usb.", False) or False),
        default_pin=default_pin,
        bureau=_bureau(_table(data, "bureau"), base),
        calendar=calendar,
        language=language,
        time_zone=zone,
        export_dir=base / _get(backup, "export_dir", str, "backup.", "/media"),
        retention_months=int(_number(backup, "retention_months", "backup.", 24, 1, 1200)),
        extensions=extensions,
        fleet=fleet,
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file of at most :data:`MAX_CONFIG_BYTES`; :class:`ConfigError` otherwise."""
    try:
        raw = read_capped(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError(
            "(file)",
            f"there is no configuration file at {path} "
            f"(write one from 'qingka config example', or give --config FILE)",
            f"没有配置文件 {path}（可用 qingka config example 生成示例，或用 --config 指定文件）",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            "(file)",
            f"{path} is a folder, not a configuration file",
            f"{path} 是文件夹，不是配置文件",
        ) from None
    except NotRegularFile:
        raise ConfigError(
            "(file)",
            f"{path} is not a regular file (a FIFO or a device), not a configuration file",
            f"{path} 不是普通文件（而是管道或设备），不是配置文件",
        ) from None
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("(file)", f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return decode_toml(raw)
    except UnicodeDecodeError:
        raise ConfigError("(file)", f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"{path} is not valid TOML: {exc}") from None


def load_config(path: Path) -> DaemonConfig:
    """Read and check the configuration at ``path``; :class:`ConfigError` names what is wrong."""
    return parse_config(read_toml(path), path)


# A CA bundle is a few hundred KiB at most (Debian's whole store is about 200 KiB).
MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024


def check_ca_bundle(path: Path) -> None:
    """Load the CA certificates at ``path`` as the bureau client will; ConfigError if unusable."""
    import ssl  # noqa: PLC0415 - only the daemon and `config check` load it

    try:
        raw = read_capped(path, MAX_CA_BUNDLE_BYTES)
    except OSError as exc:
        raise ConfigError("bureau.ca_bundle", f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_CA_BUNDLE_BYTES:
        raise ConfigError("bureau.ca_bundle", f"{path} is larger than {MAX_CA_BUNDLE_BYTES} bytes")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        # PEM text (comments outside the certificates may be anything), else one DER certificate.
        if b"-----BEGIN" in raw:
            context.load_verify_locations(cadata=raw.decode("ascii", "ignore"))
        else:
            context.load_verify_locations(cadata=raw)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(
            "bureau.ca_bundle",
            f"{path} holds no CA certificate this box can load ({exc})",
            f"{path} 中没有可用的 CA 证书",
        ) from None


def check_startable(config: DaemonConfig) -> None:
    """Make the checks the daemon makes before it starts; ``qingka config check`` makes them too.

    A file every command can read may still not start the daemon: it needs the bureau, a CA it
    can load, and a socket path that nothing but a socket holds.
    """
    bureau = config.bureau_config()
    check_ca_bundle(bureau.ca_bundle)
    socket = config.api_socket
    try:
        info = socket.lstat()
    except OSError:
        return  # nothing there yet: the daemon creates it (its folder may come with systemd)
    if not stat.S_ISSOCK(info.st_mode):
        raise ConfigError(
            "api.socket",
            f"{socket} exists and is not a socket; remove it or choose another path",
            f"{socket} 已存在且不是套接字；请删除它或换一个路径",
        )
