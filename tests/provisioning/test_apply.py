"""Applying a stick: the happy path, every refusal, restarts of what changed, no secret out."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import provisioning.apply as apply_module
from appliance.clock import FixedClock, clock, set_clock
from appliance.daemon.config import load_config
from provisioning import office, report, signing, state, trust
from provisioning.errors import NotNewer, ProvisionError
from provisioning.identity import public_key_text
from provisioning.pinhash import verify_pin
from provisioning.render import render
from tests.provisioning.conftest import (
    BROKER_PASSWORD,
    DEFAULT_PIN,
    DEVICE_PIN,
    SECRET_VALUES,
    TECHNICIAN_PIN,
    WIFI_PSK,
    Box,
    MakeStick,
    Office,
    rehash,
    reports,
    snapshot,
    write_settings,
)


def applied(box: Box, stick: Path) -> report.Outcome:
    outcome = box.applier().apply(stick)
    assert outcome.result == "applied", outcome
    return outcome


@pytest.fixture
def first(box: Box, make_stick: MakeStick) -> dict[str, object]:
    """The box after a first bundle (serial 100): its snapshot."""
    applied(box, make_stick(serial=100))
    box.runner.commands.clear()
    return snapshot(box.paths)


def test_apply_writes_a_whole_generation_the_daemon_loads(box: Box, make_stick: MakeStick) -> None:
    outcome = applied(box, make_stick(serial=100))
    assert outcome.code == "P-000" and outcome.generation == "gen-0001"
    current = box.paths.config_dir / "current"
    assert current.is_symlink() and str(current.readlink()) == "gen-0001"
    config = load_config(box.paths.config_file)
    assert config.policy == "button-only"
    assert config.devices[0].pin == DEVICE_PIN
    assert config.default_pin == DEFAULT_PIN
    # The provisioned calendar, not the weekend fallback (2027-05-15 is a Saturday -> 17th).
    assert config.calendar.deadline(2027, 5).day == 21
    assert config.calendar.is_official(2027, 5)
    gen = current.resolve()
    modes = {p.relative_to(gen).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in gen.rglob("*")}
    assert modes["qingka.toml"] == 0o640
    assert modes["pins/device-1.pin"] == 0o600
    assert modes["fleet/password"] == 0o600
    assert modes["network"] == 0o700
    assert modes["network/shop-wifi.nmconnection"] == 0o600
    assert modes["bureau-ca.pem"] == 0o644
    data = tomllib.loads(box.config_text())
    assert data["time_zone"] == "Asia/Shanghai"
    assert data["fleet"]["credentials_file"] == "fleet/password"
    assert verify_pin(TECHNICIAN_PIN, data["kiosk"]["technician_pin_hash"])
    assert not verify_pin("000000", data["kiosk"]["technician_pin_hash"])
    assert (gen / "timesyncd.conf").read_text() == "[Time]\nNTP=ntp.example.cn 10.1.2.3\n"
    assert json.loads((box.paths.state_dir / "state.json").read_text())["serial"] == 100
    assert reports(make_stick_last(box))[-1]["code"] == "P-000"


def make_stick_last(box: Box) -> Path:
    """Return the stick of the last report the box wrote (sticks live beside the box)."""
    sticks = sorted(box.root.parent.glob("stick-*"), key=lambda p: p.stat().st_mtime)
    return sticks[-1]


def test_restart_only_what_changed(box: Box, make_stick: MakeStick, first: object) -> None:
    # Same settings, new serial: nothing any service reads changed.
    applied(box, make_stick(serial=200))
    assert box.runner.restarted() == []
    # A new calendar: only the daemon reads it.
    calendar = {"deadlines": {"2027": [21, 24, 16, 20, 21, 15, 15, 16, 15, 22, 16, 15]}}
    applied(box, make_stick(serial=300, calendar=calendar))
    assert box.runner.restarted() == ["qingka-daemon.service"]
    box.runner.commands.clear()
    # The schedule policy is the daemon's too; the kiosk's table is untouched.
    applied(box, make_stick(serial=400, calendar=calendar, policy="auto"))
    assert box.runner.restarted() == ["qingka-daemon.service"]


def test_kiosk_only_change_restarts_only_the_kiosk(
    box: Box, make_stick: MakeStick, first: object
) -> None:
    applied(box, make_stick(serial=200, kiosk_language="en"))
    assert box.runner.restarted() == ["qingka-kiosk.service"]


def test_generations_keep_the_previous_and_prune_older(
    box: Box, make_stick: MakeStick, first: object
) -> None:
    for serial in (200, 300, 400):
        applied(box, make_stick(serial=serial))
    names = sorted(p.name for p in box.paths.config_dir.iterdir())
    assert names == ["current", "gen-0003", "gen-0004"]
    assert box.current() == "gen-0004"


@pytest.mark.parametrize(
    ("name", "tamper", "code"),
    [
        ("unsigned", "unsigned", "P-202"),
        ("manifest changed after signing", "manifest", "P-203"),
        ("file changed, manifest not", "content", "P-206"),
        ("file grew", "size", "P-207"),
        ("extra file in the bundle", "extra", "P-107"),
        ("listed file missing", "missing", "P-107"),
        ("signature of another key", "foreign-key", "P-204"),
        ("garbage signature file", "garbage-sig", "P-202"),
        ("garbage manifest, signed", "garbage-manifest", "P-201"),
        ("unknown file name, signed", "unknown-name", "P-301"),
        ("path with .., signed", "dotdot", "P-201"),
        ("absolute path, signed", "absolute", "P-201"),
    ],
)
def test_refusals_leave_the_configuration_whole(
    box: Box,
    make_stick: MakeStick,
    the_office: Office,
    first: dict[str, object],
    tmp_path: Path,
    name: str,
    tamper: str,
    code: str,
) -> None:
    stick = make_stick(serial=200)
    folder = stick / "QINGKA"
    config = folder / "bundle" / "config.json"
    if tamper == "unsigned":
        (folder / "manifest.sig").unlink()
    elif tamper == "manifest":
        text = (folder / "manifest.json").read_text().replace('"serial": 200', '"serial": 201')
        (folder / "manifest.json").write_text(text)
    elif tamper == "content":
        body = config.read_bytes()
        config.write_bytes(body.replace(b"button-only", b"auto-button"))
    elif tamper == "size":
        config.write_bytes(config.read_bytes() + b" ")
    elif tamper == "extra":
        (folder / "bundle" / "calendar2.json").write_text("{}")
    elif tamper == "missing":
        (folder / "bundle" / "calendar.json").unlink()
    elif tamper == "foreign-key":
        office.keygen(tmp_path / "rogue", "rogue")
        office.sign_stick(stick, tmp_path / "rogue" / "rogue.key")
    elif tamper == "garbage-sig":
        (folder / "manifest.sig").write_bytes(os.urandom(300))
    elif tamper == "garbage-manifest":
        (folder / "manifest.json").write_bytes(b'{"format": "qingka-bundle/1", "serial": "x"}')
        key = signing.load_private(the_office.key)
        raw = (folder / "manifest.json").read_bytes()
        (folder / "manifest.sig").write_bytes(signing.sign(raw, key).to_bytes())
    elif tamper in ("unknown-name", "dotdot", "absolute"):
        target = {"unknown-name": "notes.txt", "dotdot": "../x", "absolute": "/etc/passwd"}[tamper]
        (folder / "bundle" / "notes.txt").write_text("hello")

        def change(data: dict[str, object]) -> None:
            files = list(data["files"])  # type: ignore[call-overload]
            files.append(
                {"path": target, "size": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}
            )
            data["files"] = files

        key = signing.load_private(the_office.key)
        raw_path = folder / "manifest.json"
        data = json.loads(raw_path.read_text())
        change(data)
        raw_path.write_text(json.dumps(data))
        (folder / "manifest.sig").write_bytes(signing.sign(raw_path.read_bytes(), key).to_bytes())
    outcome = box.applier().apply(stick)
    assert (outcome.result, outcome.code) == ("refused", code), name
    assert snapshot(box.paths) == first
    assert box.runner.restarted() == []
    last = reports(stick)[-1]
    assert last["result"] == "refused" and last["code"] == code
    assert last["box"]["id"] == box.identity().box_id  # type: ignore[index]


def test_replayed_older_bundle_is_refused_even_without_the_state_file(
    box: Box, make_stick: MakeStick, first: dict[str, object]
) -> None:
    older = make_stick(serial=50)
    same = make_stick(serial=100)
    assert box.applier().apply(older).code == "P-210"
    assert box.applier().apply(same).code == "P-210"
    (box.paths.state_dir / "state.json").unlink()  # the generation still carries the serial
    assert box.applier().apply(older).code == "P-210"


def test_bundle_for_another_box_is_refused_and_the_box_enrolls(
    box: Box, the_office: Office, ca_pem: bytes, tmp_path: Path, first: dict[str, object]
) -> None:

    other_public = box.identity().public_text
    settings = write_settings(tmp_path / "other", "qk-00000000beef", other_public, ca_pem)
    stick = tmp_path / "stick-other"
    stick.mkdir()
    office.make(settings, stick)
    office.sign_stick(stick, the_office.key)
    outcome = box.applier().apply(stick)
    assert outcome.code == "P-208"
    assert snapshot(box.paths) == first
    request = json.loads((stick / "QINGKA" / "enroll" / f"{outcome.box_id}.json").read_text())
    assert request["public_key"] == box.identity().public_text


def test_secrets_sealed_to_another_key_are_refused_with_an_enrollment(
    box: Box, the_office: Office, ca_pem: bytes, tmp_path: Path, first: dict[str, object]
) -> None:

    wrong = public_key_text(X25519PrivateKey.generate().public_key())
    settings = write_settings(tmp_path / "s", box.identity().box_id, wrong, ca_pem, serial=200)
    stick = tmp_path / "stick-wrong-key"
    stick.mkdir()
    office.make(settings, stick)
    office.sign_stick(stick, the_office.key)
    outcome = box.applier().apply(stick)
    assert outcome.code == "P-302"
    assert snapshot(box.paths) == first
    assert (stick / "QINGKA" / "enroll" / f"{outcome.box_id}.json").exists()


def test_expired_bundle_is_refused(
    box: Box, make_stick: MakeStick, first: dict[str, object]
) -> None:
    stick = make_stick(serial=200)
    old = set_clock(FixedClock(clock().now() + timedelta(days=31)))
    try:
        outcome = box.applier().apply(stick)
    finally:
        set_clock(old)
    assert outcome.code == "P-209"
    assert snapshot(box.paths) == first


def test_revoked_key_is_refused(
    box: Box, make_stick: MakeStick, the_office: Office, first: dict[str, object]
) -> None:
    # A newer image ships a store that revokes the office key and trusts a new one.
    office.keygen(the_office.dir, "office-2027")
    office.revoke(the_office.trust, the_office.key_id)
    (box.paths.image_trust_dir / "trust.json").write_bytes(the_office.trust.read_bytes())
    outcome = box.applier().apply(make_stick(serial=200))
    assert outcome.code == "P-205"
    assert snapshot(box.paths) == first


def test_key_rotation_through_a_bundle_signed_by_a_current_key(
    box: Box, make_stick: MakeStick, the_office: Office, first: dict[str, object]
) -> None:
    new_kid, new_key = office.keygen(the_office.dir, "office-2027")
    store = office.revoke(the_office.trust, the_office.key_id)
    rotation = the_office.trust
    applied(box, make_stick(serial=200, extra=f'[trust]\nfile = "{rotation}"\n'))
    on_box = trust.effective(box.paths.image_trust_dir, box.paths.trust_dir)
    assert on_box.version == store.version and new_kid in on_box.keys
    assert the_office.key_id in on_box.revoked
    # The old key is now refused; the new one is trusted.
    assert box.applier().apply(make_stick(serial=300)).code == "P-205"
    stick = make_stick(serial=300, sign=False)
    office.sign_stick(stick, new_key)
    applied(box, stick)


@pytest.mark.parametrize(
    ("rule", "code"),
    [("older version", "P-211"), ("takes back a revocation", "P-211"), ("no key", "P-211")],
)
def test_rotation_rules(
    box: Box,
    make_stick: MakeStick,
    the_office: Office,
    tmp_path: Path,
    first: dict[str, object],
    rule: str,
    code: str,
) -> None:
    current = trust.read_file(the_office.trust)
    assert current is not None
    if rule == "older version":
        store = trust.TrustStore(current.version, current.keys, current.revoked)
    elif rule == "takes back a revocation":
        # The box's image already revokes some old key; a store without it breaks the rule.
        image = current.without("00000000deadbeef")
        (box.paths.image_trust_dir / "trust.json").write_bytes(image.to_bytes())
        store = trust.TrustStore(image.version + 1, current.keys, frozenset())
    else:
        store = trust.TrustStore(current.version + 1, {}, frozenset({the_office.key_id}))
    path = tmp_path / f"rotation-{rule.replace(' ', '-')}.json"
    path.write_bytes(store.to_bytes())
    stick = make_stick(serial=200, sign=False) if rule == "no key" else None
    if stick is None:
        stick = make_stick(serial=200, extra=f'[trust]\nfile = "{path}"\n')
    else:
        # make refuses a store with no key: put it on the stick as a forger with the key would.
        (stick / "QINGKA" / "bundle" / "trust.json").write_bytes(path.read_bytes())
        rehash(stick, the_office)
    before = snapshot(box.paths)
    outcome = box.applier().apply(stick)
    assert outcome.code == code, outcome
    assert snapshot(box.paths) == before


def test_a_config_the_daemon_cannot_load_changes_nothing(
    box: Box, make_stick: MakeStick, first: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:

    def broken(*args: object, **kwargs: object) -> object:
        rendered = render(*args, **kwargs)  # type: ignore[arg-type]
        for number, item in enumerate(rendered.files):
            if item.name == "qingka.toml":
                data = item.data.replace(b'policy = "button-only"', b'policy = "sometimes"')
                rendered.files[number] = type(item)(item.name, data, item.mode, item.owner, ())
        return rendered

    monkeypatch.setattr(apply_module, "render", broken)
    outcome = box.applier().apply(make_stick(serial=200))
    assert outcome.code == "P-303" and "schedule.policy" in outcome.detail
    assert snapshot(box.paths) == first
    assert sorted(p.name for p in box.paths.config_dir.iterdir()) == ["current", "gen-0001"]


def test_enrollment_of_a_fresh_box(box: Box, tmp_path: Path) -> None:
    stick = tmp_path / "empty-stick"
    stick.mkdir()
    outcome = box.applier().apply(stick)
    assert (outcome.result, outcome.code) == ("enrolled", "P-010")
    key = box.paths.keys_dir / "box.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(box.paths.keys_dir.stat().st_mode) == 0o700
    request = json.loads((stick / "QINGKA" / "enroll" / f"{outcome.box_id}.json").read_text())
    assert request["public_key"] == outcome.public_key
    assert box.current() is None


def test_update_bundle_is_handed_to_the_update_module(
    box: Box, make_stick: MakeStick, tmp_path: Path
) -> None:
    raucb = tmp_path / "update.raucb"
    raucb.write_bytes(b"hsqs" + os.urandom(3000))
    seen: list[bytes] = []
    stick = make_stick(serial=100, extra=f'[update]\nbundle = "{raucb}"\n')
    outcome = box.applier(installer=lambda path: seen.append(path.read_bytes())).apply(stick)
    assert outcome.result == "applied" and outcome.update is not None
    assert outcome.update.installed and seen == [raucb.read_bytes()]
    # An image without the update module: the configuration still applies, the report says so.
    stick = make_stick(serial=200, extra=f'[update]\nbundle = "{raucb}"\n')
    outcome = box.applier(installer=None).apply(stick)
    assert outcome.result == "applied"
    assert any("no update module" in w for w in outcome.warnings)


def test_no_secret_leaves_the_box(
    box: Box,
    make_stick: MakeStick,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:

    caplog.set_level(logging.DEBUG)
    stick = make_stick(serial=100)
    # A lost stick leaks nothing: no secret in any file of the bundle.
    for item in (stick / "QINGKA").rglob("*"):
        if item.is_file():
            body = item.read_bytes()
            for secret in SECRET_VALUES:
                assert secret.encode() not in body, (item, secret)
    applied(box, stick)
    # A refusal after the secrets were opened (config refused) still writes nothing secret.
    written = [stick / "QINGKA" / "reports", box.paths.status_file, box.paths.events_dir]
    texts = [caplog.text, capsys.readouterr().out]
    for top in written:
        files = [top] if top.is_file() else list(top.rglob("*"))
        texts.extend(p.read_text() for p in files if p.is_file())
    blob = "\n".join(texts)
    for secret in (*SECRET_VALUES, BROKER_PASSWORD, WIFI_PSK):
        assert secret not in blob, secret


def test_redactor_cuts_a_secret_a_log_line_quoted() -> None:
    redactor = report.Redactor([DEVICE_PIN, "[wifi]\npsk=" + WIFI_PSK])
    data = redactor.data({"log": [f"pin was {DEVICE_PIN}", f"psk={WIFI_PSK}"]})
    assert DEVICE_PIN not in json.dumps(data) and WIFI_PSK not in json.dumps(data)


def test_kiosk_status_and_fleet_event(box: Box, make_stick: MakeStick) -> None:
    applied(box, make_stick(serial=100))
    status = json.loads(box.paths.status_file.read_text())
    assert status["state"] == "applied" and status["code"] == "P-000"
    assert status["message_zh"] == "新配置已生效" and status["report"] is True
    events = [json.loads(p.read_text()) for p in box.paths.events_dir.iterdir()]
    assert len(events) == 1
    event = events[0]
    assert event["event"] == "provisioned" and event["result"] == "applied"
    assert event["serial"] == 100 and event["site"] == "wuhan-01"
    assert len(event["id"]) == 32


def test_one_apply_at_a_time(box: Box, make_stick: MakeStick) -> None:

    stick = make_stick(serial=100)
    with state.exclusive(box.paths.state_dir):
        outcome = box.applier().apply(stick)
    assert (outcome.result, outcome.code) == ("failed", "P-402")
    assert box.current() is None
    assert not box.paths.status_file.exists()  # the kiosk still shows the apply holding the lock
    assert reports(stick)[-1]["code"] == "P-402"


def test_error_words_are_plain_chinese_first() -> None:

    text = str(NotNewer("serial 5, this box is at 7"))
    assert text.startswith("配置包不比本机当前配置新") and text.endswith("[P-210]")
    assert "no rollback" in text
    assert issubclass(NotNewer, ProvisionError)
