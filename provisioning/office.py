"""The office side: make a bundle for one box from a settings file, and sign it.

The settings file (TOML) is what the office writes by hand; it holds secrets in plain text and
never goes on a stick. :func:`make` turns it into ``QINGKA/`` on the stick: ``config.json``
(no secret), the secrets sealed to the box's public key, the files it names, and an unsigned
manifest; :func:`sign_stick` adds the signature. Before anything is written, the bundle is
rendered and loaded exactly as the box will (:mod:`provisioning.validate`), so a mistake shows
in the office, not at the shop. Example in ``docs/provisioning.md``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from appliance.clock import clock
from appliance.configfile import decode_toml
from provisioning import bundle, enrollment, fileops, sealing, signing, trust
from provisioning.bundle import BundleConfig, Bureau, Device, Fleet, Secrets
from provisioning.errors import BadContent, BadOfficeConfig, ProvisionError
from provisioning.generations import ConfigStore
from provisioning.identity import public_from_text
from provisioning.manifest import MAX_MANIFEST_BYTES, FileEntry, Manifest
from provisioning.manifest import parse as parse_manifest
from provisioning.paths import api_group
from provisioning.pinhash import hash_pin
from provisioning.render import render
from provisioning.stick import BUNDLE, MANIFEST, SIGNATURE, Stick
from provisioning.validate import check_generation, daemon_knows

MAX_SETTINGS_BYTES = 256 * 1024
DEFAULT_VALID_DAYS = 30
# Files the settings name are read in slices and hashed on the way to the stick.
_SLICE = 1 << 20


def _fail(key: str, problem: str) -> BadOfficeConfig:
    return BadOfficeConfig(f"{key}: {problem}")


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _fail(key, "must be a table")
    return value


def _str(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _fail(f"{where}{key}", "is missing or not a string")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise _fail(key, "must be a list")
    return value


@dataclass
class Made:
    """What :func:`make` wrote."""

    manifest: Manifest
    stick: Path


class _Settings:
    """The office settings file, read and turned into the bundle's parts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent
        try:
            raw = fileops.read_regular(path, MAX_SETTINGS_BYTES, BadOfficeConfig)
        except OSError as exc:
            raise _fail(str(path), exc.strerror or "cannot be read") from None
        if len(raw) > MAX_SETTINGS_BYTES:
            raise _fail(str(path), f"is larger than {MAX_SETTINGS_BYTES} bytes")
        try:
            self.data = decode_toml(raw)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise _fail(str(path), f"is not valid TOML: {exc}") from None
        self.files: dict[str, Path] = {}

    def file(self, key: str, value: Any) -> Path:
        """Return a file the settings name (relative to the settings file)."""
        if not isinstance(value, str) or not value:
            raise _fail(key, "must name a file")
        path = self.base / value
        if not path.is_file():
            raise _fail(key, f"{path} is not a file")
        return path

    def attach(self, name: str, key: str, value: Any) -> None:
        """Put the file named by ``key`` into the bundle as ``name``."""
        path = self.file(key, value)
        size = path.stat().st_size
        if size > bundle.cap(name):
            raise _fail(key, f"{path} is {size} bytes, at most {bundle.cap(name)}")
        self.files[name] = path

    def public_key(self, box: dict[str, Any], box_id: str) -> str:
        """Return the box's public key, from its enrollment request or written out."""
        if "enrollment" in box:
            path = self.file("box.enrollment", box["enrollment"])
            try:
                request = enrollment.parse(path.read_bytes()[: enrollment.MAX_REQUEST_BYTES + 1])
            except ProvisionError as exc:
                raise _fail("box.enrollment", str(exc)) from None
            if request.box_id != box_id:
                raise _fail("box.enrollment", f"is the request of {request.box_id}, not {box_id}")
            return request.public_key
        text = _str(box, "public_key", "box.")
        try:
            public_from_text(text)
        except ValueError as exc:
            raise _fail("box.public_key", str(exc)) from None
        return text

    def parts(self) -> tuple[BundleConfig, Secrets, str]:
        """Return (configuration, secrets, box public key)."""
        data = self.data
        box = _table(data, "box")
        box_id = _str(box, "id", "box.")
        public_key = self.public_key(box, box_id)
        devices, pins = [], []
        entries = data.get("device", [])
        if not isinstance(entries, list):
            raise _fail("device", "must be an array of tables ([[device]])")
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                raise _fail(f"device[{number}]", "must be a table")
            pin = entry.get("pin")
            if pin is not None and not isinstance(pin, str):
                raise _fail(f"device[{number}].pin", 'must be a string ("88888888")')
            devices.append(
                Device(
                    _str(entry, "url", f"device[{number}]."), entry.get("taxpayer_id"), bool(pin)
                )
            )
            pins.append(pin or None)
        bureau = _table(data, "bureau")
        if "endpoints_file" in bureau:
            self.attach(bundle.ENDPOINTS, "bureau.endpoints_file", bureau["endpoints_file"])
        self.attach(bundle.BUREAU_CA, "bureau.ca_bundle", bureau.get("ca_bundle"))
        if "public_key_file" in bureau:
            path = self.file("bureau.public_key_file", bureau["public_key_file"])
            bureau_key = path.read_text("ascii", errors="replace").strip()[:1000]
        else:
            bureau_key = _str(bureau, "public_key", "bureau.")
        options = {k: v for k, v in bureau.items() if k in bundle.BUREAU_OPTIONS}
        fleet_table = data.get("fleet")
        fleet = None
        secrets_fleet: dict[str, str | None] = {}
        if fleet_table is not None:
            if not isinstance(fleet_table, dict):
                raise _fail("fleet", "must be a table")
            self.attach(bundle.BROKER_CA, "fleet.ca_file", fleet_table.get("ca_file"))
            if "client_cert" in fleet_table:
                self.attach(bundle.BROKER_CLIENT, "fleet.client_cert", fleet_table["client_cert"])
            client_key = None
            if "client_key" in fleet_table:
                key_path = self.file("fleet.client_key", fleet_table["client_key"])
                client_key = key_path.read_text("ascii", errors="replace")[:16384]
            secrets_fleet = {
                "username": fleet_table.get("username"),
                "password": fleet_table.get("password"),
                "client_key": client_key,
            }
            fleet = Fleet(
                _str(fleet_table, "broker", "fleet."),
                fleet_table.get("health_interval_s", 60),
                any(secrets_fleet.values()),
            )
        kiosk_table = dict(_table(data, "kiosk"))
        hashes: dict[str, str | None] = {}
        for key in ("technician_pin", "operator_pin"):
            pin = kiosk_table.pop(key, None)
            if pin:
                try:
                    salt = hashlib.sha256(f"qingka-pin\x00{box_id}\x00{key}".encode()).digest()
                    hashes[key] = hash_pin(str(pin), salt[:16])
                except ValueError as exc:
                    raise _fail(f"kiosk.{key}", str(exc)) from None
        calendar = _table(data, "calendar")
        if "file" in calendar:
            self.attach(bundle.CALENDAR, "calendar.file", calendar["file"])
        network: dict[str, str] = {}
        keyfiles = _table(data, "network").get("keyfiles", [])
        if not isinstance(keyfiles, list):
            raise _fail("network.keyfiles", "must be a list of files")
        for number, name in enumerate(keyfiles, start=1):
            path = self.file(f"network.keyfiles[{number}]", name)
            if path.stat().st_size > bundle.MAX_KEYFILE_BYTES:
                raise _fail(f"network.keyfiles[{number}]", "is larger than 16 KiB")
            network[path.name] = path.read_text("utf-8", errors="replace")
        update = _table(data, "update")
        if "bundle" in update:
            self.attach(bundle.UPDATE, "update.bundle", update["bundle"])
        trust_table = _table(data, "trust")
        if "file" in trust_table:
            self.attach(bundle.TRUST, "trust.file", trust_table["file"])
        default_pin = data.get("default_pin")
        if default_pin is not None and not isinstance(default_pin, str):
            raise _fail("default_pin", "must be a string")
        schedule = _table(data, "schedule")
        config = BundleConfig(
            box_id=box_id,
            site=_str(box, "site", "box."),
            name=str(box.get("name", "")),
            language=_str(data, "language", "", "zh"),
            time_zone=_str(data, "time_zone", "", "Asia/Shanghai"),
            ntp_servers=tuple(_list(data, "ntp_servers")),
            policy=_str(schedule, "policy", "schedule.", "auto"),
            check_interval_minutes=schedule.get("check_interval_minutes", 15),
            devices=tuple(devices),
            default_pin=bool(default_pin),
            bureau=Bureau(bureau.get("base_url"), bureau_key, options),
            fleet=fleet,
            kiosk=kiosk_table,
            network=tuple(network),
        )
        secrets = Secrets(
            device_pins=tuple(pins),
            default_pin=default_pin or None,
            fleet_username=secrets_fleet.get("username"),
            fleet_password=secrets_fleet.get("password"),
            fleet_client_key=secrets_fleet.get("client_key"),
            technician_pin_hash=hashes.get("technician_pin"),
            operator_pin_hash=hashes.get("operator_pin"),
            network=network,
        )
        return config, secrets, public_key

    def serial(self) -> int:
        """Return the bundle serial: given, or the time in seconds (always growing)."""
        value = self.data.get("serial", int(clock().timestamp()))
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**53:
            raise _fail("serial", "must be a positive whole number")
        return value


def _chunks(path: Path, digest: Any) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_SLICE):
            digest.update(chunk)
            yield chunk


def make(settings_path: Path, stick_root: Path) -> Made:
    """Write a bundle (unsigned) for the box the settings name onto the stick at ``stick_root``."""
    settings = _Settings(settings_path)
    config, secrets, public_key = settings.parts()
    serial = settings.serial()
    creator = _str(settings.data, "creator", "")
    valid_days = settings.data.get("valid_days", DEFAULT_VALID_DAYS)
    if not isinstance(valid_days, int) or isinstance(valid_days, bool) or not 0 < valid_days <= 366:
        raise _fail("valid_days", "must be 1 to 366")
    try:
        config_bytes = config.to_bytes()
    except (TypeError, ValueError) as exc:
        raise BadOfficeConfig(f"a setting has a value of the wrong kind: {exc}") from None
    try:
        checked = bundle.parse_config(config_bytes)  # the box reads it with this very parser
    except BadContent as exc:
        raise BadOfficeConfig(exc.detail) from None
    sealed = sealing.seal(
        public_from_text(public_key),
        secrets.to_bytes(),
        sealing.associated_data(config.box_id, serial, bundle.SECRETS),
    )
    inline = {bundle.CONFIG: config_bytes}
    if secrets != Secrets():
        inline[bundle.SECRETS] = sealed
    _rehearse(checked, secrets, inline, settings.files)

    stick = Stick(stick_root)
    for name in (MANIFEST, SIGNATURE, BUNDLE):
        stick.remove((), name)
    entries = []
    for name, data in inline.items():
        stick.write((BUNDLE,), name, data)
        entries.append(FileEntry(name, len(data), hashlib.sha256(data).hexdigest()))
    for name, path in settings.files.items():
        digest = hashlib.sha256()
        written = stick.write_chunks((BUNDLE,), name, _chunks(path, digest))
        entries.append(FileEntry(name, written.stat().st_size, digest.hexdigest()))
    created = clock().now().replace(microsecond=0)
    manifest = Manifest(
        serial=serial,
        created=created,
        expires=created + timedelta(days=valid_days),
        creator=creator,
        targets=(config.box_id,),
        files=tuple(sorted(entries, key=lambda entry: entry.path)),
    )
    parse_manifest(manifest.to_bytes())  # the box's parser must accept what the office writes
    stick.write((), MANIFEST, manifest.to_bytes())
    return Made(manifest, stick_root)


def _rehearse(
    config: BundleConfig, secrets: Secrets, inline: dict[str, bytes], files: dict[str, Path]
) -> None:
    """Render and load the bundle as the box will, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="qingka-make-") as temp:
        staged = Path(temp) / "staged"
        staged.mkdir()
        for name, data in inline.items():
            (staged / name).write_bytes(data)
        for name, path in files.items():
            if name != bundle.UPDATE:  # the box hands it on unread
                (staged / name).write_bytes(path.read_bytes())
        present = set(inline) | set(files)
        try:
            rendered = render(
                config,
                secrets,
                staged,
                present,
                Path(temp) / "data",
                Path(temp) / "api.sock",
                "rehearsal",
                api_group(),
                daemon_knows("fleet"),
            )
            generation = ConfigStore(Path(temp) / "config").build(rendered.files, {})
            check_generation(generation)
        except ProvisionError as exc:
            raise BadOfficeConfig(str(exc.detail or exc.words.en)) from None
        if bundle.TRUST in files:
            try:
                trust.parse((staged / bundle.TRUST).read_bytes())
            except ProvisionError as exc:
                raise BadOfficeConfig(f"trust.file: {exc.detail}") from None


def sign_stick(stick_root: Path, key_path: Path) -> signing.Signature:
    """Sign the manifest on the stick with the key at ``key_path``."""
    key = signing.load_private(key_path)
    stick = Stick(stick_root)
    raw = stick.read_top(MANIFEST, MAX_MANIFEST_BYTES)
    if raw is None:
        raise BadOfficeConfig(f"{stick.folder} has no {MANIFEST}: run qingka provision make first")
    parse_manifest(raw)
    signature = signing.sign(raw, key)
    stick.write((), SIGNATURE, signature.to_bytes())
    return signature


def keygen(directory: Path, name: str) -> tuple[str, Path]:
    """Make a signing key in ``directory`` and add it to ``directory/trust.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / f"{name}.key"
    if key_path.exists():
        raise BadOfficeConfig(f"{key_path} exists; choose another name")
    key = signing.generate()
    signing.write_private(key_path, key)
    public = key.public_key()
    kid = signing.key_id(public)
    (directory / f"{name}.pub").write_text(
        json.dumps({"id": kid, "public_key": signing.public_text(public), "name": name}) + "\n"
    )
    trust_path = directory / trust.TRUST_FILE
    current = trust.read_file(trust_path) or trust.TrustStore(0)
    trust_path.write_bytes(current.with_key(public, name).to_bytes())
    return kid, key_path


def revoke(trust_path: Path, kid: str) -> trust.TrustStore:
    """Revoke key ``kid`` in the trust store file at ``trust_path`` (a new version)."""
    current = trust.read_file(trust_path)
    if current is None:
        raise BadOfficeConfig(f"{trust_path} does not exist")
    updated = current.without(kid)
    if not updated.keys:
        raise BadOfficeConfig("revoking it would leave no trusted key")
    trust_path.write_bytes(updated.to_bytes())
    return updated
