"""What the office sees of a stick: verification, a readable inventory, enrollment requests.

Nothing here opens the sealed secrets (the office has no box key, and a box never prints
them): ``inspect`` shows that they are there, for whom, and how large, nothing more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.clock import clock
from provisioning import bundle, enrollment, signing
from provisioning.errors import (
    BadManifest,
    BadSignatureFile,
    Expired,
    NoBundle,
    ProvisionError,
    WrongBox,
)
from provisioning.manifest import MAX_MANIFEST_BYTES, Manifest
from provisioning.manifest import parse as parse_manifest
from provisioning.stick import ENROLL, MANIFEST, REPORTS, SIGNATURE, Limits, Stick
from provisioning.trust import TrustStore

MAX_REPORT_BYTES = 1024 * 1024


def _stick(root: Path) -> Stick:
    return Stick(root, Limits(cap=bundle.cap))


def verify(root: Path, store: TrustStore, box_id: str | None = None) -> dict[str, Any]:
    """Check everything a box checks that needs no box key; raise the first problem."""
    stick = _stick(root)
    raw = stick.read_top(MANIFEST, MAX_MANIFEST_BYTES)
    if raw is None:
        if stick.bundle_parts():
            raise BadManifest(f"the bundle is damaged: its {MANIFEST} is missing")
        raise NoBundle(f"{stick.folder} has no {MANIFEST}")
    raw_signature = stick.read_top(SIGNATURE, signing.MAX_SIGNATURE_BYTES)
    if raw_signature is None:
        raise BadSignatureFile("the bundle is not signed")
    signer = store.verify(raw, signing.parse_signature(raw_signature))
    manifest = parse_manifest(raw)
    bundle.check_names(manifest)
    if box_id is not None and not manifest.enroll and box_id not in manifest.targets:
        raise WrongBox(f"it is for {', '.join(manifest.targets)}")
    if clock().now() > manifest.expires:
        raise Expired(f"expired {manifest.expires.isoformat(timespec='minutes')}")
    stick.check_listing(manifest.files)
    for entry in manifest.files:
        data = stick.copy_file(entry, None, keep=entry.path == bundle.CONFIG)
        if data is not None:
            bundle.parse_config(data)
    return {"ok": True, "signed_by": signer, **_manifest(manifest)}


def _manifest(manifest: Manifest) -> dict[str, Any]:
    return {
        "serial": manifest.serial,
        "created": manifest.created.isoformat(timespec="seconds"),
        "expires": manifest.expires.isoformat(timespec="seconds"),
        "creator": manifest.creator,
        "targets": list(manifest.targets) or "enroll",
        "files": [
            {"path": e.path, "size": e.size, "sha256": e.sha256[:16] + "…"} for e in manifest.files
        ],
    }


def _config_view(config: bundle.BundleConfig) -> dict[str, Any]:
    """Return the settings without anything secret (the secrets are not even readable here)."""
    return {
        "box": {"id": config.box_id, "site": config.site, "name": config.name},
        "language": config.language,
        "time_zone": config.time_zone,
        "ntp_servers": list(config.ntp_servers),
        "schedule": {"policy": config.policy, "minutes": config.check_interval_minutes},
        "devices": [
            {"url": d.url, "taxpayer_id": d.taxpayer_id, "pin": "sealed" if d.pin else None}
            for d in config.devices
        ],
        "bureau": {"base_url": config.bureau.base_url, "public_key": config.bureau.public_key},
        "fleet": None
        if config.fleet is None
        else {
            "broker": config.fleet.broker,
            "health_interval_s": config.fleet.health_interval_s,
            "credentials": "sealed" if config.fleet.credentials else None,
        },
        "kiosk": config.kiosk,
        "network_keyfiles": [f"{name} (sealed)" for name in config.network],
    }


def inspect(root: Path, store: TrustStore | None, lang: str | None = None) -> dict[str, Any]:
    """Return everything on the stick a person may read; problems are listed, not raised.

    A problem's message is in both languages, or in ``lang`` only when given (for people).
    """
    stick = _stick(root)
    out: dict[str, Any] = {"stick": str(stick.folder), "problems": []}

    def problem(exc: ProvisionError) -> None:
        message = str(exc) if lang is None else f"{exc.text(lang)[0]} [{exc.code}]"
        out["problems"].append({"code": exc.code, "message": message})

    try:
        raw = stick.read_top(MANIFEST, MAX_MANIFEST_BYTES)
        if raw is None and stick.bundle_parts():
            problem(BadManifest(f"the bundle is damaged: its {MANIFEST} is missing"))
    except ProvisionError as exc:
        problem(exc)
        raw = None
    if raw is not None:
        try:
            manifest = parse_manifest(raw)
            out["manifest"] = _manifest(manifest)
        except ProvisionError as exc:
            problem(exc)
            manifest = None
        out["signature"] = _signature(stick, raw, store, problem)
        if manifest is not None:
            sealed = manifest.file(bundle.SECRETS)
            out["secrets"] = (
                None
                if sealed is None
                else f"{sealed.size} bytes sealed to box {', '.join(manifest.targets)}; "
                "only that box can open them, and nothing prints them"
            )
            if manifest.file(bundle.CONFIG) is not None:
                try:
                    entry = manifest.file(bundle.CONFIG)
                    assert entry is not None
                    data = stick.copy_file(entry, None, keep=True)
                    assert data is not None
                    out["config"] = _config_view(bundle.parse_config(data))
                except ProvisionError as exc:
                    problem(exc)
    out["enrollments"] = enrollments(root, problem)
    out["reports"] = _reports(stick, problem)
    return out


def _signature(stick: Stick, raw: bytes, store: TrustStore | None, problem: Any) -> dict[str, Any]:
    try:
        raw_signature = stick.read_top(SIGNATURE, signing.MAX_SIGNATURE_BYTES)
        if raw_signature is None:
            return {"state": "unsigned"}
        signature = signing.parse_signature(raw_signature)
        if store is None:
            return {"state": "not checked (no trust store)", "key_id": signature.key_id}
        store.verify(raw, signature)
    except ProvisionError as exc:
        problem(exc)
        return {"state": "invalid", "code": exc.code}
    return {"state": "valid", "key_id": signature.key_id}


def enrollments(root: Path, problem: Any = None) -> list[dict[str, Any]]:
    """Return the enrollment requests on the stick (damaged ones as problems)."""
    stick = _stick(root)
    found = []
    for name in stick.names(ENROLL):
        if not name.endswith(".json"):
            continue
        try:
            request = enrollment.parse(stick.read_in(ENROLL, name, enrollment.MAX_REQUEST_BYTES))
        except ProvisionError as exc:
            if problem is None:
                raise
            problem(exc)
            continue
        found.append({"file": f"{ENROLL}/{name}", **request.__dict__})
    return found


def _reports(stick: Stick, problem: Any) -> list[dict[str, Any]]:
    found = []
    for name in stick.names(REPORTS):
        if not name.endswith(".json"):
            continue
        try:
            data = json.loads(stick.read_in(REPORTS, name, MAX_REPORT_BYTES)[:MAX_REPORT_BYTES])
            found.append(
                {
                    "file": f"{REPORTS}/{name}",
                    "result": data.get("result"),
                    "code": data.get("code"),
                    "box": (data.get("box") or {}).get("id"),
                }
            )
        except (ProvisionError, ValueError, AttributeError, RecursionError):
            found.append({"file": f"{REPORTS}/{name}", "result": "unreadable"})
    return found
