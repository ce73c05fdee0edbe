"""What a bundle holds: its file names and caps, ``config.json`` and the sealed secrets.

Files of ``QINGKA/bundle/`` (flat; any other name is refused):

===================  ==========  =============================================================
name                 cap         what
===================  ==========  =============================================================
config.json          256 KiB     the box's settings, no secret (:class:`BundleConfig`)
secrets.sealed       256 KiB     :class:`Secrets`, sealed to the box's key (provisioning.sealing)
calendar.json        64 KiB      filing calendar (``{"deadlines": {"2027": [...]}}``)
endpoints.json       64 KiB      bureau endpoint table
bureau-ca.pem        64 KiB      CA certificates for the bureau
broker-ca.pem        64 KiB      CA certificates for the fleet broker
broker-client.pem    64 KiB      the box's client certificate for the broker (key: secret)
trust.json           64 KiB      a new trust store (key rotation, revocations)
update.raucb         4 GiB - 1   a RAUC update bundle, handed to the update module
===================  ==========  =============================================================
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from appliance.clock import ClockError, zone_named
from appliance.devices.errors import BadDeviceAddress
from appliance.devices.urls import DeviceUrl
from appliance.taxpayer import is_valid_taxpayer_id
from provisioning.errors import BadContent, SecretUnreadable
from provisioning.fields import Fields, load_json
from provisioning.manifest import BOX_ID, MAX_FILE_SIZE, Manifest

CONFIG = "config.json"
SECRETS = "secrets.sealed"
CALENDAR = "calendar.json"
ENDPOINTS = "endpoints.json"
BUREAU_CA = "bureau-ca.pem"
BROKER_CA = "broker-ca.pem"
BROKER_CLIENT = "broker-client.pem"
TRUST = "trust.json"
UPDATE = "update.raucb"

SMALL = 64 * 1024
CAPS: dict[str, int] = {
    CONFIG: 256 * 1024,
    SECRETS: 256 * 1024,
    CALENDAR: SMALL,
    ENDPOINTS: SMALL,
    BUREAU_CA: SMALL,
    BROKER_CA: SMALL,
    BROKER_CLIENT: SMALL,
    TRUST: SMALL,
    UPDATE: MAX_FILE_SIZE,
}
CONFIG_FORMAT = "qingka-config/1"
SECRETS_FORMAT = "qingka-secrets/1"
MAX_DEVICES = 16
MAX_KEYFILES = 8
MAX_KEYFILE_BYTES = 16 * 1024
POLICIES = ("auto", "button-only")
LANGUAGES = ("zh", "en")
SITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}|[0-9A-Fa-f:]{2,39}")
KEYFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}\.nmconnection")
PUBLIC_KEY_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){16,200}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")
_PIN = re.compile(r"\d{4,16}")


def cap(path: str) -> int:
    """Return the size cap of a bundle file (0 for a name the bundle may not hold)."""
    return CAPS.get(path, 0)


def check_names(manifest: Manifest) -> None:
    """Refuse a manifest that lists a file a bundle may not hold, or lacks ``config.json``."""
    for entry in manifest.files:
        if entry.path not in CAPS:
            raise BadContent(f"{entry.path} is not a file a bundle may hold")
    if not manifest.enroll and manifest.file(CONFIG) is None:
        raise BadContent(f"the bundle has no {CONFIG}")


def _url(fields: Fields, key: str, schemes: tuple[str, ...]) -> str:
    text = fields.text(key, 300, _PRINTABLE)
    parts = urlsplit(text)
    if parts.scheme not in schemes or not parts.hostname:
        raise fields.fail(key, f"must be a {' or '.join(schemes)} URL with a host")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise fields.fail(key, "has a bad port") from None
    return text


@dataclass(frozen=True)
class Device:
    """One tax device the box serves."""

    url: str
    taxpayer_id: str | None
    pin: bool  # a PIN for it is in the sealed secrets


@dataclass(frozen=True)
class Bureau:
    """How the box reaches the tax bureau."""

    base_url: str | None
    public_key: str
    options: dict[str, float]  # connect_timeout, read_timeout, retry_attempts, retry_deadline


@dataclass(frozen=True)
class Fleet:
    """How the box reaches the fleet broker (MQTT over TLS)."""

    broker: str
    health_interval_s: int
    credentials: bool  # username/password or client key in the sealed secrets


@dataclass(frozen=True)
class BundleConfig:
    """``config.json``: every setting of the box that is not a secret."""

    box_id: str
    site: str
    name: str
    language: str
    time_zone: str
    ntp_servers: tuple[str, ...]
    policy: str
    check_interval_minutes: float
    devices: tuple[Device, ...]
    default_pin: bool
    bureau: Bureau
    fleet: Fleet | None
    kiosk: dict[str, Any]
    network: tuple[str, ...]  # keyfile names; their contents are secrets

    def to_bytes(self) -> bytes:
        """Return ``config.json``'s bytes."""
        data: dict[str, Any] = {
            "format": CONFIG_FORMAT,
            "box": {"id": self.box_id, "site": self.site, "name": self.name},
            "language": self.language,
            "time_zone": self.time_zone,
            "ntp_servers": list(self.ntp_servers),
            "schedule": {
                "policy": self.policy,
                "check_interval_minutes": self.check_interval_minutes,
            },
            "devices": [
                {"url": d.url, "taxpayer_id": d.taxpayer_id, "pin": d.pin} for d in self.devices
            ],
            "default_pin": self.default_pin,
            "bureau": {
                "base_url": self.bureau.base_url,
                "public_key": self.bureau.public_key,
                **self.bureau.options,
            },
            "fleet": None
            if self.fleet is None
            else {
                "broker": self.fleet.broker,
                "health_interval_s": self.fleet.health_interval_s,
                "credentials": self.fleet.credentials,
            },
            "kiosk": self.kiosk,
            "network": list(self.network),
        }
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


BUREAU_OPTIONS = {
    "connect_timeout": (0.5, 120.0),
    "read_timeout": (0.5, 600.0),
    "attempt_timeout": (0.5, 600.0),
    "retry_attempts": (1, 20),
    "retry_deadline": (1.0, 3600.0),
}


def _bureau(fields: Fields) -> Bureau:
    fields.only(("base_url", "public_key", *BUREAU_OPTIONS))
    base_url = _url(fields, "base_url", ("https",)) if fields.has("base_url") else None
    options: dict[str, float] = {}
    for key, (low, high) in BUREAU_OPTIONS.items():
        if fields.has(key):
            if key == "retry_attempts":
                options[key] = fields.integer(key, int(low), int(high))
            else:
                options[key] = fields.number(key, low, high, low)
    return Bureau(base_url, fields.text("public_key", 400, PUBLIC_KEY_HEX), options)


def _kiosk(fields: Fields | None) -> dict[str, Any]:
    if fields is None:
        return {}
    fields.only(("language", "idle_blank_minutes", "usb_dir", "fullscreen"))
    out: dict[str, Any] = {}
    if fields.has("language"):
        out["language"] = fields.text("language", 2)
        if out["language"] not in LANGUAGES:
            raise fields.fail("language", "must be zh or en")
    if fields.has("idle_blank_minutes"):
        out["idle_blank_minutes"] = fields.number("idle_blank_minutes", 0, 1440, 5)
    if fields.has("usb_dir"):
        out["usb_dir"] = fields.text("usb_dir", 200, _PRINTABLE)
        if not PurePosixPath(out["usb_dir"]).is_absolute():
            raise fields.fail("usb_dir", "must be an absolute path")
    if fields.has("fullscreen"):
        out["fullscreen"] = fields.flag("fullscreen", True)
    return out


def parse_config(raw: bytes) -> BundleConfig:
    """Read and check ``config.json``; :class:`BadContent` names what is wrong."""
    fields = Fields(load_json(raw, CAPS[CONFIG], BadContent, CONFIG), BadContent, "")
    fields.only(
        (
            "format",
            "box",
            "language",
            "time_zone",
            "ntp_servers",
            "schedule",
            "devices",
            "default_pin",
            "bureau",
            "fleet",
            "kiosk",
            "network",
        )
    )
    if fields.data.get("format") != CONFIG_FORMAT:
        raise fields.fail("format", f"must be {CONFIG_FORMAT!r}")
    box = fields.table("box", required=True)
    assert box is not None
    box.only(("id", "site", "name"))
    language = fields.text("language", 2) if fields.has("language") else "zh"
    if language not in LANGUAGES:
        raise fields.fail("language", "must be zh or en")
    time_zone = fields.text("time_zone", 64) if fields.has("time_zone") else "Asia/Shanghai"
    try:
        zone_named(time_zone)
    except ClockError as exc:
        raise fields.fail("time_zone", str(exc)) from None
    schedule = fields.table("schedule") or Fields({}, BadContent, "schedule")
    schedule.only(("policy", "check_interval_minutes"))
    policy = schedule.text("policy", 20) if schedule.has("policy") else "auto"
    if policy not in POLICIES:
        raise schedule.fail("policy", f"must be one of {', '.join(POLICIES)}")
    devices = []
    for entry in fields.items("devices", MAX_DEVICES):
        entry.only(("url", "taxpayer_id", "pin"))
        url = entry.text("url", 300, _PRINTABLE)
        try:
            DeviceUrl.parse(url)
        except BadDeviceAddress as exc:
            raise entry.fail("url", exc.detail) from None
        taxpayer = entry.optional_text("taxpayer_id", 18)
        if taxpayer is not None and not is_valid_taxpayer_id(taxpayer):
            raise entry.fail("taxpayer_id", "is not a valid 18-character taxpayer ID")
        devices.append(Device(url, taxpayer, entry.flag("pin", False)))
    bureau = fields.table("bureau", required=True)
    assert bureau is not None
    fleet_fields = fields.table("fleet")
    fleet = None
    if fleet_fields is not None:
        fleet_fields.only(("broker", "health_interval_s", "credentials"))
        fleet = Fleet(
            _url(fleet_fields, "broker", ("mqtts", "mqtt")),
            fleet_fields.integer("health_interval_s", 10, 86400, 60),
            fleet_fields.flag("credentials", False),
        )
    network = fields.texts("network", MAX_KEYFILES, 72, KEYFILE)
    if len({name.lower() for name in network}) != len(network):
        raise fields.fail("network", "names a keyfile twice")
    return BundleConfig(
        box_id=box.text("id", 15, BOX_ID),
        site=box.text("site", 64, SITE),
        name=box.text("name", 80, _PRINTABLE, empty=True) if box.has("name") else "",
        language=language,
        time_zone=time_zone,
        ntp_servers=tuple(fields.texts("ntp_servers", 8, 253, HOST)),
        policy=policy,
        check_interval_minutes=schedule.number("check_interval_minutes", 1, 1440, 15),
        devices=tuple(devices),
        default_pin=fields.flag("default_pin", False),
        bureau=_bureau(bureau),
        fleet=fleet,
        kiosk=_kiosk(fields.table("kiosk")),
        network=tuple(network),
    )


@dataclass(frozen=True)
class Secrets:
    """What only the box may read: device PINs, broker credentials, PIN hashes, Wi-Fi keys."""

    device_pins: tuple[str | None, ...] = ()
    default_pin: str | None = None
    fleet_username: str | None = None
    fleet_password: str | None = None
    fleet_client_key: str | None = None  # PEM
    technician_pin_hash: str | None = None
    operator_pin_hash: str | None = None
    network: dict[str, str] = field(default_factory=dict)

    def values(self) -> list[str]:
        """Return every secret string, for redaction of anything written out."""
        found = [
            *(pin for pin in self.device_pins if pin),
            self.default_pin,
            # The broker username is the box's name on the fleet, not a secret: not redacted.
            self.fleet_password,
            self.fleet_client_key,
            self.technician_pin_hash,
            self.operator_pin_hash,
            *self.network.values(),
        ]
        return [value for value in found if value]

    def to_bytes(self) -> bytes:
        """Return the plaintext to seal."""
        data = {
            "format": SECRETS_FORMAT,
            "device_pins": list(self.device_pins),
            "default_pin": self.default_pin,
            "fleet": {
                "username": self.fleet_username,
                "password": self.fleet_password,
                "client_key": self.fleet_client_key,
            },
            "kiosk": {
                "technician_pin_hash": self.technician_pin_hash,
                "operator_pin_hash": self.operator_pin_hash,
            },
            "network": self.network,
        }
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def parse_secrets(raw: bytes) -> Secrets:
    """Read opened secrets; :class:`SecretUnreadable` names what is wrong (never a value)."""
    fields = Fields(load_json(raw, CAPS[SECRETS], SecretUnreadable, SECRETS), SecretUnreadable, "")
    fields.only(("format", "device_pins", "default_pin", "fleet", "kiosk", "network"))
    if fields.data.get("format") != SECRETS_FORMAT:
        raise fields.fail("format", f"must be {SECRETS_FORMAT!r}")
    pins: list[str | None] = []
    raw_pins = fields.data.get("device_pins") or []
    if not isinstance(raw_pins, list) or len(raw_pins) > MAX_DEVICES:
        raise fields.fail("device_pins", "must be a short list")
    for number, pin in enumerate(raw_pins, start=1):
        if pin is not None and (not isinstance(pin, str) or not _PIN.fullmatch(pin)):
            raise fields.fail(f"device_pins[{number}]", "is not a PIN of 4 to 16 digits")
        pins.append(pin)
    default_pin = fields.optional_text("default_pin", 16, _PIN)
    fleet = fields.table("fleet") or Fields({}, SecretUnreadable, "fleet")
    fleet.only(("username", "password", "client_key"))
    kiosk = fields.table("kiosk") or Fields({}, SecretUnreadable, "kiosk")
    kiosk.only(("technician_pin_hash", "operator_pin_hash"))
    network: dict[str, str] = {}
    table = fields.data.get("network") or {}
    if not isinstance(table, dict) or len(table) > MAX_KEYFILES:
        raise fields.fail("network", "must be a small table")
    for name, text in table.items():
        if not isinstance(name, str) or not KEYFILE.fullmatch(name):
            raise fields.fail("network", "has a keyfile name that is not allowed")
        if not isinstance(text, str) or len(text.encode("utf-8")) > MAX_KEYFILE_BYTES:
            raise fields.fail(f"network.{name}", "must be text of at most 16 KiB")
        network[name] = text
    return Secrets(
        device_pins=tuple(pins),
        default_pin=default_pin,
        fleet_username=fleet.optional_text("username", 200, _PRINTABLE),
        fleet_password=fleet.optional_text("password", 500),
        fleet_client_key=fleet.optional_text("client_key", 16 * 1024),
        technician_pin_hash=kiosk.optional_text("technician_pin_hash", 200),
        operator_pin_hash=kiosk.optional_text("operator_pin_hash", 200),
        network=network,
    )
