"""Turn a verified bundle into the files of a configuration generation.

A generation folder holds everything the box's services read, with paths relative to it, so
the ``current`` link switches all of it at once::

    qingka.toml              0640 root:qingka   daemon ([kiosk] table: the kiosk)
    pins/device-N.pin        0600 qingka        device PINs (pins/default.pin for discovered)
    endpoints.json           0644               bureau endpoint table
    bureau-ca.pem            0644               bureau CA certificates
    calendar.json            0644               filing calendar over the shipped table
    broker-ca.pem            0644               fleet broker CA
    broker-client.pem        0644               the box's broker client certificate
    fleet/password           0600 qingka        broker password (the MQTT user is the box id)
    fleet/client.key         0600 qingka        broker client key
    fleet/settings.toml      0644               [fleet], when the daemon has no such table yet
    network/*.nmconnection   0600 root          NetworkManager keyfiles (root-only, or NM
                                                ignores them)
    timesyncd.conf           0644               NTP servers for systemd-timesyncd
    provisioning.json        0644               which bundle made it, and the service inputs

Each file is tagged with the services that read it; :class:`Rendered` ``inputs`` holds one
digest per service, so the next apply restarts only what changed.
"""

from __future__ import annotations

import configparser
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from appliance.bureau.endpoints import EndpointError, EndpointTable
from appliance.calendar.filing import CalendarError, FilingCalendar
from provisioning import bundle, tomlwrite
from provisioning.bundle import BundleConfig, Secrets
from provisioning.errors import BadContent
from provisioning.pinhash import is_pin_hash

CONFIG_NAME = "qingka.toml"
META_NAME = "provisioning.json"
SERVICES = ("daemon", "kiosk", "network", "time")


@dataclass(frozen=True)
class GenFile:
    """One file of a generation: relative name, bytes, mode, owner, the services reading it."""

    name: str
    data: bytes
    mode: int
    owner: str  # "root", "root-group" (root:qingka) or "daemon" (qingka:qingka)
    feeds: tuple[str, ...]


@dataclass
class Rendered:
    """The files of a generation and one input digest per service."""

    files: list[GenFile] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    fleet_deferred: bool = False  # fleet settings kept in fleet/settings.toml, not qingka.toml

    def add(self, name: str, data: bytes, mode: int, owner: str, *feeds: str) -> None:
        """Add a file."""
        self.files.append(GenFile(name, data, mode, owner, feeds))


def _small(staged: Path, name: str) -> bytes:
    with (staged / name).open("rb") as handle:
        return handle.read(bundle.cap(name) + 1)


def _certificates(staged: Path, name: str) -> bytes:
    data = _small(staged, name)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise BadContent(f"{name} holds no PEM certificate") from None
    if not certificates:
        raise BadContent(f"{name} holds no PEM certificate")
    return data


def _keyfile(name: str, text: str) -> bytes:
    """Check a NetworkManager keyfile enough to know NetworkManager can read it."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(text, source=name)
    except configparser.Error as exc:
        raise BadContent(f"network keyfile {name}: {type(exc).__name__}") from None
    if not parser.has_section("connection") or not parser.has_option("connection", "id"):
        raise BadContent(f"network keyfile {name} has no [connection] id")
    if not parser.has_option("connection", "type"):
        raise BadContent(f"network keyfile {name} has no [connection] type")
    return text.encode("utf-8")


def _require(present: set[str], name: str, why: str) -> None:
    if name not in present:
        raise BadContent(f"{why} needs {name} in the bundle")


def render(
    config: BundleConfig,
    secrets: Secrets | None,
    staged: Path,
    present: set[str],
    data_dir: Path,
    api_socket: Path,
    header: str,
    api_group: str | None = "qingka",
    fleet_table: bool = True,
) -> Rendered:
    """Return the generation's files; :class:`BadContent` if the parts do not fit together."""
    out = Rendered()
    opened = secrets or Secrets()
    digests = {service: hashlib.sha256() for service in SERVICES}
    document: dict[str, Any] = {
        "data_dir": str(data_dir),
        "language": config.language,
        "time_zone": config.time_zone,
        "schedule": {
            "policy": config.policy,
            "check_interval_minutes": config.check_interval_minutes,
        },
        "api": {"socket": str(api_socket), "mode": "0660", "group": api_group},
        "usb": {"auto_discover": True},
    }
    if config.default_pin:
        if not opened.default_pin:
            raise BadContent("default_pin is set but the sealed secrets hold none")
        document["pin"] = {"file": "pins/default.pin"}
        out.add("pins/default.pin", opened.default_pin.encode() + b"\n", 0o600, "daemon", "daemon")

    bureau_table: dict[str, Any] = {}
    if config.bureau.base_url is not None:
        bureau_table["base_url"] = config.bureau.base_url
    else:
        _require(present, bundle.ENDPOINTS, "a bureau without base_url")
        try:
            EndpointTable.from_file(staged / bundle.ENDPOINTS)
        except (EndpointError, OSError) as exc:
            raise BadContent(f"{bundle.ENDPOINTS}: {exc}") from None
        bureau_table["endpoints_file"] = bundle.ENDPOINTS
        out.add(bundle.ENDPOINTS, _small(staged, bundle.ENDPOINTS), 0o644, "root", "daemon")
    _require(present, bundle.BUREAU_CA, "the bureau")
    out.add(bundle.BUREAU_CA, _certificates(staged, bundle.BUREAU_CA), 0o644, "root", "daemon")
    bureau_table["ca_bundle"] = bundle.BUREAU_CA
    bureau_table["public_key"] = config.bureau.public_key
    bureau_table.update(config.bureau.options)
    document["bureau"] = bureau_table

    if bundle.CALENDAR in present:
        try:
            FilingCalendar.from_file(staged / bundle.CALENDAR)
        except CalendarError as exc:
            raise BadContent(f"{bundle.CALENDAR}: {exc}") from None
        document["calendar"] = {"file": bundle.CALENDAR}
        out.add(bundle.CALENDAR, _small(staged, bundle.CALENDAR), 0o644, "root", "daemon")

    if config.fleet is not None:
        _require(present, bundle.BROKER_CA, "the fleet broker")
        out.add(bundle.BROKER_CA, _certificates(staged, bundle.BROKER_CA), 0o644, "root", "daemon")
        fleet: dict[str, Any] = {
            "broker": config.fleet.broker,
            "ca_file": bundle.BROKER_CA,
            "site": config.site,
            "box_id": config.box_id,
            "health_interval_seconds": config.fleet.health_interval_s,
        }
        if config.fleet.credentials:
            if opened.fleet_username or opened.fleet_password:
                # The broker's ACL knows a box by its id: the MQTT user is the box id.
                if opened.fleet_username not in (None, "", config.box_id):
                    raise BadContent("the fleet broker's username must be the box id")
                if not opened.fleet_password:
                    raise BadContent("fleet.credentials holds a username but no password")
                out.add(
                    "fleet/password",
                    opened.fleet_password.encode() + b"\n",
                    0o600,
                    "daemon",
                    "daemon",
                )
                fleet["credentials_file"] = "fleet/password"
            if opened.fleet_client_key:
                _require(present, bundle.BROKER_CLIENT, "a broker client key")
                out.add(
                    "fleet/client.key", opened.fleet_client_key.encode(), 0o600, "daemon", "daemon"
                )
                fleet["client_key"] = "fleet/client.key"
            if "credentials_file" not in fleet and "client_key" not in fleet:
                raise BadContent("fleet.credentials is set but the sealed secrets hold none")
        if bundle.BROKER_CLIENT in present:
            out.add(
                bundle.BROKER_CLIENT,
                _certificates(staged, bundle.BROKER_CLIENT),
                0o644,
                "root",
                "daemon",
            )
            fleet["client_cert"] = bundle.BROKER_CLIENT
        if fleet_table:
            document["fleet"] = fleet
        else:
            # This daemon has no [fleet] table yet and would refuse the whole file with one:
            # the settings wait beside it for the fleet reporting to be installed.
            out.add(
                "fleet/settings.toml",
                tomlwrite.dumps({"fleet": fleet}).encode(),
                0o644,
                "root",
                "daemon",
            )
            out.fleet_deferred = True

    kiosk: dict[str, Any] = dict(config.kiosk)
    for key, stored in (
        ("technician_pin_hash", opened.technician_pin_hash),
        ("operator_pin_hash", opened.operator_pin_hash),
    ):
        if stored is not None:
            if not is_pin_hash(stored):
                raise BadContent(f"kiosk.{key} is not a PIN hash this box can check")
            kiosk[key] = stored
    if kiosk:
        document["kiosk"] = kiosk

    devices = []
    for number, device in enumerate(config.devices, start=1):
        entry: dict[str, Any] = {"url": device.url, "taxpayer_id": device.taxpayer_id}
        if device.pin:
            pins = opened.device_pins
            pin = pins[number - 1] if number <= len(pins) else None
            if not pin:
                raise BadContent(f"device {number} needs a PIN the sealed secrets do not hold")
            name = f"pins/device-{number}.pin"
            out.add(name, pin.encode() + b"\n", 0o600, "daemon", "daemon")
            entry["pin_file"] = name
        devices.append(entry)
    if devices:
        document["device"] = devices

    missing = sorted(set(config.network) - set(opened.network))
    if missing:
        raise BadContent(f"network keyfile {missing[0]} is not in the sealed secrets")
    for name in config.network:
        out.add(f"network/{name}", _keyfile(name, opened.network[name]), 0o600, "root", "network")

    if config.ntp_servers:
        text = "[Time]\nNTP=" + " ".join(config.ntp_servers) + "\n"
        out.add("timesyncd.conf", text.encode(), 0o644, "root", "time")

    toml = tomlwrite.dumps(document, header).encode("utf-8")
    out.add(CONFIG_NAME, toml, 0o640, "root-group")
    # The kiosk reads [kiosk], the language and the socket; the daemon everything else.
    kiosk_view = {"kiosk": kiosk, "language": config.language, "api": document["api"]}
    daemon_view = {key: item for key, item in document.items() if key != "kiosk"}
    digests["kiosk"].update(json.dumps(kiosk_view, sort_keys=True).encode())
    digests["daemon"].update(json.dumps(daemon_view, sort_keys=True).encode())
    for item in sorted(out.files, key=lambda f: f.name):
        for service in item.feeds:
            digests[service].update(
                item.name.encode() + b"\x00" + hashlib.sha256(item.data).digest()
            )
    out.inputs = {service: digest.hexdigest() for service, digest in digests.items()}
    return out
