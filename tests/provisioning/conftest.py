"""An office (signing key, trust store), a box (paths below a temporary root) and bundles."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provisioning import fileops, identity, office
from provisioning.apply import Applier
from provisioning.paths import Owners, Paths
from provisioning.services import RunResult
from simulators import catalog

# Secrets the tests look for in everything written out: none may ever appear.
DEVICE_PIN = "73915046"
DEFAULT_PIN = "55120987"
BROKER_PASSWORD = "s3cret-broker-Pa55word"
TECHNICIAN_PIN = "864209"
WIFI_PSK = "wifi-psk-Qk7Zr2Lm9Xv"
SECRET_VALUES = (DEVICE_PIN, DEFAULT_PIN, BROKER_PASSWORD, TECHNICIAN_PIN, WIFI_PSK)

CALENDAR_2027 = {"deadlines": {"2027": [20, 24, 16, 20, 21, 15, 15, 16, 15, 22, 16, 15]}}
BUREAU_KEY = "04" + "ab" * 64


def self_signed(name: str) -> bytes:
    """Return a PEM certificate (a CA file needs a real certificate, not just any text)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def ca_pem() -> bytes:
    return self_signed("qingka test CA")


class Recorder:
    """A service runner that records commands instead of running systemd."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    def __call__(self, command: Sequence[str]) -> RunResult:
        self.commands.append(tuple(command))
        return RunResult(1, "") if command[0] == "journalctl" else RunResult(0, "")

    def restarted(self) -> list[str]:
        return [c[2] for c in self.commands if c[:2] == ("systemctl", "try-restart")] + [
            "nmcli" for c in self.commands if c[0] == "nmcli"
        ]


@dataclass
class Office:
    """The office folder: signing key and trust store."""

    dir: Path
    key: Path
    key_id: str

    @property
    def trust(self) -> Path:
        return self.dir / "trust.json"


@pytest.fixture
def the_office(tmp_path: Path) -> Office:
    folder = tmp_path / "office"
    kid, key = office.keygen(folder, "office-2026")
    return Office(folder, key, kid)


@dataclass
class Box:
    """One box below a temporary root, with the office's trust store in its image."""

    root: Path
    paths: Paths
    runner: Recorder = field(default_factory=Recorder)
    installed: list[Path] = field(default_factory=list)

    def applier(self, **overrides: object) -> Applier:
        options: dict[str, object] = {
            "runner": self.runner,
            "installer": self.installed.append,
            "owners": Owners(),
            "id_sources": [self.root / "machine-id"],
            "health_wait_s": 0.0,
        }
        options.update(overrides)
        return Applier(self.paths, **options)  # type: ignore[arg-type]

    def identity(self) -> identity.BoxIdentity:
        return identity.load_or_create(self.paths.keys_dir, [self.root / "machine-id"])

    def config_text(self) -> str:
        return self.paths.config_file.read_text()

    def current(self) -> str | None:
        link = self.paths.config_dir / "current"
        return str(link.readlink()) if link.is_symlink() else None


@pytest.fixture
def box(tmp_path: Path, the_office: Office) -> Box:
    root = tmp_path / "box"
    paths = Paths.under(root)
    paths.image_trust_dir.mkdir(parents=True)
    shutil.copy(the_office.trust, paths.image_trust_dir / "trust.json")
    (root / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    return Box(root, paths)


def write_settings(
    folder: Path,
    box_id: str,
    public_key: str,
    ca_pem: bytes,
    *,
    serial: int | None = None,
    device_url: str = "sim://needs-clearing?index=3",
    extra: str = "",
    policy: str = "button-only",
    calendar: dict[str, object] | None = None,
    kiosk_language: str = "zh",
) -> Path:
    """Write an office settings file for ``box_id`` and the files it names; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bureau-ca.pem").write_bytes(ca_pem)
    (folder / "broker-ca.pem").write_bytes(ca_pem)

    (folder / "calendar-2027.json").write_text(json.dumps(calendar or CALENDAR_2027))
    (folder / "shop-wifi.nmconnection").write_text(
        "[connection]\nid=shop-wifi\ntype=wifi\n\n[wifi]\nssid=shop\n\n"
        f"[wifi-security]\nkey-mgmt=wpa-psk\npsk={WIFI_PSK}\n"
    )
    taxpayer = catalog.taxpayer(3).taxpayer_id
    lines = [
        'creator = "测试办公室 tester"',
        *([f"serial = {serial}"] if serial is not None else []),
        "valid_days = 30",
        'time_zone = "Asia/Shanghai"',
        'ntp_servers = ["ntp.example.cn", "10.1.2.3"]',
        f'default_pin = "{DEFAULT_PIN}"',
        "",
        "[box]",
        f'id = "{box_id}"',
        f'public_key = "{public_key}"',
        'site = "wuhan-01"',
        'name = "测试商店"',
        "",
        "[schedule]",
        f'policy = "{policy}"',
        "check_interval_minutes = 30",
        "",
        "[bureau]",
        'base_url = "https://bureau.example.cn:8443"',
        'ca_bundle = "bureau-ca.pem"',
        f'public_key = "{BUREAU_KEY}"',
        "",
        "[fleet]",
        'broker = "mqtts://fleet.example.cn:8883"',
        'ca_file = "broker-ca.pem"',
        f'username = "{box_id}"',
        f'password = "{BROKER_PASSWORD}"',
        "",
        "[kiosk]",
        f'language = "{kiosk_language}"',
        f'technician_pin = "{TECHNICIAN_PIN}"',
        "",
        "[calendar]",
        'file = "calendar-2027.json"',
        "",
        "[network]",
        'keyfiles = ["shop-wifi.nmconnection"]',
        "",
        "[[device]]",
        f'url = "{device_url}"',
        f'taxpayer_id = "{taxpayer}"',
        f'pin = "{DEVICE_PIN}"',
        "",
        extra,
    ]
    path = folder / "settings.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


MakeStick = Callable[..., Path]


@pytest.fixture
def make_stick(tmp_path: Path, the_office: Office, box: Box, ca_pem: bytes) -> MakeStick:
    """Return a function that makes a signed stick for the box (serial and extras given)."""
    count = iter(range(1, 1000))

    def make(serial: int = 100, sign: bool = True, **options: object) -> Path:
        me = box.identity()
        number = next(count)
        stick = tmp_path / f"stick-{number}"
        stick.mkdir()
        settings = write_settings(
            tmp_path / f"settings-{number}",
            me.box_id,
            me.public_text,
            ca_pem,
            serial=serial,
            **options,  # type: ignore[arg-type]
        )
        office.make(settings, stick)
        if sign:
            office.sign_stick(stick, the_office.key)
        return stick

    return make


@pytest.fixture(autouse=True)
def no_fault_hook() -> Iterator[None]:
    yield
    fileops.set_fault_hook(None)


def snapshot(paths: Paths) -> dict[str, object]:
    """Return every file, link and mode of the box's configuration, trust and state."""
    found: dict[str, object] = {}
    for top in (paths.config_dir, paths.trust_dir, paths.state_dir / "state.json"):
        if not top.exists():
            continue
        items = [top] if top.is_file() else sorted(top.rglob("*"))
        for item in items:
            key = str(item.relative_to(paths.data_dir))
            if item.is_symlink():
                found[key] = ("link", str(item.readlink()))
            elif item.is_file():
                found[key] = ("file", item.stat().st_mode, item.read_bytes())
            elif item.is_dir():
                found[key] = ("dir", item.stat().st_mode)
    return found


def resign(stick: Path, office_: Office, change: Callable[[dict[str, object]], None]) -> None:
    """Change the manifest on ``stick`` and sign it again with the office key."""

    path = stick / "QINGKA" / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))
    office.sign_stick(stick, office_.key)


def rehash(stick: Path, office_: Office) -> None:
    """Make the manifest match the bundle folder again (as a forger with the key would)."""

    def change(data: dict[str, object]) -> None:
        entries = []
        for item in sorted((stick / "QINGKA" / "bundle").iterdir()):
            body = item.read_bytes()
            entries.append(
                {"path": item.name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            )
        data["files"] = entries

    resign(stick, office_, change)


def reports(stick: Path) -> list[dict[str, object]]:
    """Return the JSON reports on the stick, oldest first."""

    folder = stick / "QINGKA" / "reports"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
