"""Every parser of stick bytes: round trips, and garbage of any shape ends in its typed error."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clock import clock
from provisioning import bundle, enrollment, manifest, sealing, signing, tomlwrite, trust
from provisioning.errors import (
    BadContent,
    BadEnrollment,
    BadManifest,
    BadSignatureFile,
    BadTrustStore,
    RevokedKey,
    SecretUnreadable,
    SignatureInvalid,
    TrustUpdateRefused,
    UnknownKey,
)
from provisioning.identity import BoxIdentity
from provisioning.manifest import FileEntry, Manifest
from provisioning.pinhash import hash_pin, is_pin_hash, verify_pin

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def good_manifest() -> Manifest:
    now = clock().now().replace(microsecond=0)
    return Manifest(
        serial=7,
        created=now,
        expires=now + timedelta(days=30),
        creator="办公室",
        targets=("qk-0123456789ab",),
        files=(FileEntry("config.json", 10, "a" * 64),),
    )


def test_manifest_round_trip() -> None:
    made = good_manifest()
    assert manifest.parse(made.to_bytes()) == made


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"serial": 0}, "serial"),
        ({"serial": True}, "serial"),
        ({"serial": 2**60}, "serial"),
        ({"format": "qingka-bundle/9"}, "format"),
        ({"targets": []}, "targets"),
        ({"targets": ["QK-0123"]}, "targets"),
        ({"expires": "2020-01-01T00:00:00"}, "expires"),
        ({"extra": 1}, "extra"),
        ({"files": [{"path": "../x", "size": 1, "sha256": "a" * 64}]}, "path"),
        ({"files": [{"path": "/etc/x", "size": 1, "sha256": "a" * 64}]}, "path"),
        ({"files": [{"path": "a/./b", "size": 1, "sha256": "a" * 64}]}, "path"),
        ({"files": [{"path": "x", "size": -1, "sha256": "a" * 64}]}, "size"),
        ({"files": [{"path": "x", "size": 1, "sha256": "A" * 64}]}, "sha256"),
        (
            {
                "files": [
                    {"path": "X", "size": 1, "sha256": "a" * 64},
                    {"path": "x", "size": 1, "sha256": "a" * 64},
                ]
            },
            "twice",
        ),
    ],
)
def test_manifest_refusals(change: dict[str, Any], words: str) -> None:
    data = json.loads(good_manifest().to_bytes())
    data.update(change)
    with pytest.raises(BadManifest, match=words):
        manifest.parse(json.dumps(data).encode())


def test_manifest_validity_is_at_most_a_year() -> None:
    data = json.loads(good_manifest().to_bytes())
    created = datetime.fromisoformat(data["created"])
    data["expires"] = (created + timedelta(days=400)).isoformat()
    with pytest.raises(BadManifest):
        manifest.parse(json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=400))
def test_fuzz_manifest_bytes(raw: bytes) -> None:
    try:
        manifest.parse(raw)
    except BadManifest:
        pass


@settings(max_examples=200, deadline=None)
@given(data=JSON)
def test_fuzz_manifest_shapes(data: Any) -> None:
    for document in (data, {**json.loads(good_manifest().to_bytes()), "files": data}):
        try:
            manifest.parse(json.dumps(document).encode())
        except BadManifest:
            pass


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(["serial", "created", "targets", "creator"]), value=JSON)
def test_fuzz_manifest_fields(field: str, value: Any) -> None:
    data = json.loads(good_manifest().to_bytes())
    data[field] = value
    try:
        manifest.parse(json.dumps(data, allow_nan=True).encode())
    except BadManifest:
        pass


def test_manifest_too_large_or_deeply_nested() -> None:
    with pytest.raises(BadManifest):
        manifest.parse(b" " * (manifest.MAX_MANIFEST_BYTES + 1))
    with pytest.raises(BadManifest):
        manifest.parse(b"[" * 50000 + b"]" * 50000)


def test_signature_and_trust() -> None:
    key = signing.generate()
    store = trust.TrustStore(0).with_key(key.public_key(), "office")
    data = b"manifest bytes"
    signature = signing.sign(data, key)
    assert store.verify(data, signing.parse_signature(signature.to_bytes())) == signature.key_id
    with pytest.raises(SignatureInvalid):
        store.verify(data + b"!", signature)
    other = signing.generate()
    with pytest.raises(UnknownKey):
        store.verify(data, signing.sign(data, other))
    with pytest.raises(RevokedKey):
        store.without(signature.key_id).verify(data, signature)
    assert trust.parse(store.to_bytes()) == store


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=300) | JSON.map(lambda d: json.dumps(d).encode()))
def test_fuzz_signature_trust_enrollment(raw: bytes) -> None:
    for parse, error in (
        (signing.parse_signature, BadSignatureFile),
        (trust.parse, BadTrustStore),
        (enrollment.parse, BadEnrollment),
        (bundle.parse_config, BadContent),
        (bundle.parse_secrets, SecretUnreadable),
    ):
        try:
            parse(raw)
        except error:
            pass


def test_trust_store_refuses_a_key_id_that_is_not_its_key() -> None:
    key = signing.generate()
    data = json.loads(trust.TrustStore(0).with_key(key.public_key(), "x").to_bytes())
    data["keys"][0]["id"] = "0" * 16
    with pytest.raises(BadTrustStore, match="does not belong"):
        trust.parse(json.dumps(data).encode())


def test_rotation_rules_directly() -> None:
    a, b = signing.generate(), signing.generate()
    current = trust.TrustStore(0).with_key(a.public_key(), "a")
    kid_a = signing.key_id(a.public_key())
    rotated = current.with_key(b.public_key(), "b").without(kid_a)
    trust.check_update(current, rotated, kid_a)  # the old key hands over to the new one
    for bad in (
        trust.TrustStore(current.version, rotated.keys, rotated.revoked),  # not newer
        trust.TrustStore(rotated.version + 1, {}, rotated.revoked),  # trusts nothing
    ):
        with pytest.raises(TrustUpdateRefused):
            trust.check_update(current, bad, kid_a)
    with pytest.raises(TrustUpdateRefused):
        trust.check_update(
            rotated, rotated.with_key(a.public_key(), "a"), signing.key_id(b.public_key())
        )
    with pytest.raises(TrustUpdateRefused):
        trust.check_update(current, rotated, signing.key_id(b.public_key()))  # not a current key


def test_sealed_secrets_open_only_for_their_box_bundle_and_file() -> None:
    box = BoxIdentity("qk-0123456789ab", X25519PrivateKey.generate())
    aad = sealing.associated_data(box.box_id, 7, "secrets.sealed")
    blob = sealing.seal(box.public, b"pin 1234", aad)
    assert sealing.open_sealed(box.private, blob, aad) == b"pin 1234"
    assert b"1234" not in blob
    other = X25519PrivateKey.generate()
    with pytest.raises(SecretUnreadable):
        sealing.open_sealed(other, blob, aad)
    with pytest.raises(SecretUnreadable):
        sealing.open_sealed(
            box.private, blob, sealing.associated_data(box.box_id, 8, "secrets.sealed")
        )
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(SecretUnreadable):
        sealing.open_sealed(box.private, bytes(tampered), aad)
    zero_point = sealing.MAGIC + b"\x00" * 32 + b"\x00" * 12 + b"\x00" * 32
    with pytest.raises(SecretUnreadable):
        sealing.open_sealed(box.private, zero_point, aad)


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(max_size=200))
def test_fuzz_sealed_blobs(blob: bytes) -> None:
    key = X25519PrivateKey.generate()
    try:
        sealing.open_sealed(key, sealing.MAGIC + blob, b"aad")
    except SecretUnreadable:
        pass


def test_pin_hashes() -> None:
    stored = hash_pin("2580")
    assert is_pin_hash(stored) and verify_pin("2580", stored) and not verify_pin("2581", stored)
    assert not verify_pin("2580", "scrypt$30$8$1$" + "0" * 32 + "$" + "0" * 64)  # too costly
    assert not is_pin_hash("2580")
    with pytest.raises(ValueError):
        hash_pin("12")


@settings(max_examples=200, deadline=None)
@given(
    document=st.dictionaries(
        st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
        st.text(max_size=30)
        | st.integers(-(2**63), 2**63 - 1)
        | st.booleans()
        | st.lists(st.text(max_size=10), max_size=3),
        max_size=6,
    )
)
def test_toml_writer_round_trips_any_string(document: dict[str, Any]) -> None:
    table = {"section": dict(document)}
    assert tomllib.loads(tomlwrite.dumps({**document, **table})) == {**document, **table}


def good_config() -> bundle.BundleConfig:
    return bundle.BundleConfig(
        box_id="qk-0123456789ab",
        site="wuhan-01",
        name="店",
        language="zh",
        time_zone="Asia/Shanghai",
        ntp_servers=("ntp.example.cn",),
        policy="auto",
        check_interval_minutes=15,
        devices=(bundle.Device("usb://1432:07d0", "91420100MA00000038", True),),
        default_pin=False,
        bureau=bundle.Bureau("https://bureau.example.cn", "04" + "ab" * 64, {}),
        fleet=bundle.Fleet("mqtts://fleet.example.cn:8883", 60, True),
        kiosk={"language": "en"},
        network=("wifi.nmconnection",),
    )


def test_bundle_config_round_trip() -> None:
    assert bundle.parse_config(good_config().to_bytes()) == good_config()


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(
        [
            ("box", "id"),
            ("box", "site"),
            ("time_zone",),
            ("ntp_servers",),
            ("schedule", "policy"),
            ("schedule", "check_interval_minutes"),
            ("devices",),
            ("bureau", "base_url"),
            ("bureau", "public_key"),
            ("bureau", "connect_timeout"),
            ("fleet", "broker"),
            ("kiosk", "usb_dir"),
            ("kiosk", "idle_blank_minutes"),
            ("network",),
        ]
    ),
    value=JSON | st.text(alphabet="/.:?&=\\\x00 abc汉0", max_size=30),
)
def test_fuzz_bundle_config_fields(path: tuple[str, ...], value: Any) -> None:
    data = json.loads(good_config().to_bytes())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        bundle.parse_config(json.dumps(data).encode())
    except BadContent:
        pass
