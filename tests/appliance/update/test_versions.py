"""Version strings, manifests, the anti-rollback floor and RAUC's error lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.update import floor
from appliance.update.errors import (
    BadRequest,
    BundleCorrupt,
    BundleMissing,
    Incompatible,
    InstallFailed,
    SignatureUntrusted,
    UpdateBusy,
    UpdateError,
    UpdateUnavailable,
    VersionTooOld,
    describe,
)
from appliance.update.manifest import MAX_MANIFEST_BYTES, parse_manifest, read_manifest
from appliance.update.rauc import classify
from appliance.update.versions import is_older, parse_version

numbers = st.lists(st.integers(0, 10**9 - 1), min_size=1, max_size=4)


@given(numbers, numbers)
def test_versions_order_like_their_numbers(a: list[int], b: list[int]) -> None:
    def trimmed(parts: list[int]) -> tuple[int, ...]:
        parts = list(parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    text_a, text_b = ".".join(map(str, a)), ".".join(map(str, b))
    assert is_older(text_a, text_b) == (trimmed(a) < trimmed(b))


@pytest.mark.parametrize(
    "text", ["", "v1.2", "1..2", "1.2.3.4.5", "1.2-rc1", " 1.2", "1" * 41, "１.２", "-1"]
)
def test_garbage_versions_are_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_version(text)


@given(st.text(max_size=60))
def test_any_text_is_a_version_or_bad_request(text: str) -> None:
    try:
        parse_version(text)
    except BadRequest:
        pass


def test_manifest_is_read() -> None:
    manifest = parse_manifest(
        "[update]\ncompatible=qingka-box-rpi-arm64\nversion=2026.2.0\n\n[bundle]\nformat=verity\n"
    )
    assert (manifest.compatible, manifest.version) == ("qingka-box-rpi-arm64", "2026.2.0")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[update]\nversion=1.0\n",
        "[update]\ncompatible=\nversion=1.0\n",
        "[update]\ncompatible=x\nversion=latest\n",
        "compatible=x\n",
        "[update\n",
    ],
)
def test_bad_manifests_are_corrupt(text: str) -> None:
    with pytest.raises(BundleCorrupt):
        parse_manifest(text)


@given(st.text(max_size=300))
def test_any_manifest_text_parses_or_is_corrupt(text: str) -> None:
    try:
        parse_manifest(text)
    except BundleCorrupt:
        pass


def test_an_oversized_manifest_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "manifest.raucm").write_text("[update]\n" + "#" * MAX_MANIFEST_BYTES)
    with pytest.raises(BundleCorrupt, match="larger than"):
        read_manifest(tmp_path)
    with pytest.raises(BundleCorrupt):
        read_manifest(tmp_path / "missing")


def test_the_floor_only_rises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(floor.IMAGE_VERSION_ENV, str(tmp_path / "image-version"))
    monkeypatch.setenv(floor.FLOOR_ENV, str(tmp_path / "rauc" / "floor"))
    (tmp_path / "image-version").write_text("2026.1.0\n")
    floor.check_not_older("2026.1.0")
    with pytest.raises(VersionTooOld):
        floor.check_not_older("2025.12.31")
    assert floor.raise_floor("2026.3.0")
    assert not floor.raise_floor("2026.2.0")
    assert floor.minimum_version() == "2026.3.0"
    with pytest.raises(VersionTooOld):
        floor.check_not_older("2026.2.9")
    (tmp_path / "rauc" / "floor").write_text("garbage\n")
    with pytest.raises(UpdateError, match="damaged"):
        floor.check_not_older("2027.1")


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ("No such file: /x.raucb", BundleMissing),
        ("LastError: Invalid bundle format: Signature size is 0", BundleCorrupt),
        (
            "signature verification failed: error:1700009E:CMS routines::verification failure\n"
            "CMS_verify:content verify error",
            BundleCorrupt,
        ),
        (
            "LastError: signature verification failed: Verify error: self-signed certificate",
            SignatureUntrusted,
        ),
        ("LastError: Installation error: Compatible mismatch: Expected 'a' but 'b'", Incompatible),
        ("LastError: Pre-install handler error: Child process exited with code 1", VersionTooOld),
        ("Error: Already processing a different method", UpdateBusy),
        ("The name de.pengutronix.rauc was not provided by any .service files", UpdateUnavailable),
        ("LastError: Failed writing image: No space", InstallFailed),
        ("", InstallFailed),
    ],
)
def test_rauc_errors_are_classified(output: str, kind: type[UpdateError]) -> None:
    error = classify(output)
    assert type(error) is kind
    assert error.detail


def test_every_error_says_itself_in_both_languages() -> None:
    error = SignatureUntrusted("x")
    assert describe(error, "zh").endswith("[U-102]")
    assert "trusted" in describe(error, "en")
