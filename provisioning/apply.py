"""Apply a stick on the box: verify everything, then switch atomically, then report.

Order (nothing on the box changes before step 8):

1. the box's identity (made on first use);
2. the manifest and its signature, against the trust store (known key, not revoked);
3. the manifest: target box, expiry, serial above the last applied (no replay, no rollback);
4. the bundle folder against the manifest: no missing, extra, linked or special files, caps;
5. every file copied to the data partition while its size and SHA-256 are checked: from here
   on the stick is not read, so pulling it or changing it cannot matter;
6. contents: ``config.json``, sealed secrets opened with the box key, calendar, endpoints,
   certificates, keyfiles, a trust-store update and its rotation rules;
7. a complete new generation, loaded with the daemon's own configuration loader;
8. the trust update, then the switch of ``current`` (the commit point), then the serial;
9. restart of what changed, the update bundle, then the report, the kiosk and the fleet.

Writes to the stick (enrollment request, report) all happen at the end, in one step the caller
can wrap (``from-device`` remounts the stick writable only for that step).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from appliance.clock import clock
from provisioning import (
    bundle,
    enrollment,
    fileops,
    health,
    identity,
    outbox,
    report,
    sealing,
    services,
    signing,
    state,
    trust,
)
from provisioning.errors import (
    APPLIED,
    ENROLLMENT_WRITTEN,
    RESTART_FAILED,
    ApplyFailed,
    BadContent,
    BadManifest,
    BadSignatureFile,
    BadTrustStore,
    BoxKeyProblem,
    Busy,
    Expired,
    NotNewer,
    ProvisionError,
    SecretUnreadable,
    StickNotWritten,
    TrustUpdateRefused,
    WrongBox,
)
from provisioning.generations import ConfigStore
from provisioning.manifest import MAX_MANIFEST_BYTES, Manifest
from provisioning.manifest import parse as parse_manifest
from provisioning.paths import Owners, Paths, api_group
from provisioning.render import render
from provisioning.stick import ENROLL, MANIFEST, REPORTS, SIGNATURE, Limits, Stick
from provisioning.updates import Installer, default_installer, install
from provisioning.validate import check_generation, daemon_knows

_log = logging.getLogger("qingka.provision")

# Errors that mean the box, not the stick, is at fault: "failed" rather than "refused".
_BOX_FAULTS = (ApplyFailed, BoxKeyProblem, Busy, BadTrustStore)


class _Collect(logging.Handler):
    """Keeps this apply's own log lines for the report."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{clock().stamp()} {record.levelname.lower()} {record.getMessage()}")


@dataclass
class Applier:
    """Applies sticks to one box (its paths, how it restarts services, how it updates)."""

    paths: Paths
    runner: services.Runner = services.system_runner
    installer: Installer | None = field(default_factory=default_installer)
    owners: Owners = field(default_factory=Owners.resolve)
    id_sources: Sequence[Path] = identity.ID_SOURCES
    health_wait_s: float = 20.0
    # False when the box's paths are moved below a root (training, tests): the services running
    # on this machine do not read those files, so they are left alone.
    restart_services: bool = True
    stick_writable: Callable[[], AbstractContextManager[object]] = nullcontext

    def apply(self, stick_root: Path) -> report.Outcome:
        """Apply the stick mounted at ``stick_root``; always returns what happened."""
        collect = _Collect()
        _log.addHandler(collect)
        if _log.getEffectiveLevel() > logging.INFO:
            _log.setLevel(logging.INFO)  # the report keeps the steps whatever the root level
        redactor = report.Redactor()
        started = clock().stamp()
        stick = Stick(stick_root, Limits(cap=bundle.cap))
        outcome = report.Outcome("failed", ProvisionError.code)
        busy = False
        try:
            try:
                with state.exclusive(self.paths.state_dir):
                    outbox.write_status(self.paths.status_file, _working(started))
                    self._apply(stick, redactor, outcome, started)
            except Busy as exc:
                # The kiosk keeps showing the apply that holds the lock, not this refusal.
                busy = True
                outcome = self._refusal(exc, outcome)
            except ProvisionError as exc:
                outcome = self._refusal(exc, outcome)
            except Exception as exc:  # noqa: BLE001 - a bug must still end in a report
                _log.exception("provisioning failed unexpectedly")
                outcome = self._refusal(ProvisionError(type(exc).__name__), outcome)
            self._finish(stick, outcome, redactor, collect, started, kiosk=not busy)
        finally:
            _log.removeHandler(collect)
        return outcome

    def unreadable(self, exc: ProvisionError) -> report.Outcome:
        """Tell the kiosk and the fleet about a stick that could not even be mounted."""
        collect = _Collect()
        _log.addHandler(collect)
        try:
            outcome = self._refusal(exc, report.Outcome("failed", exc.code))
            box = identity.load(self.paths.keys_dir) if self.paths.keys_dir.is_dir() else None
            if box is not None:
                outcome.box_id, outcome.key_id = box.box_id, box.key_id
            self._finish(None, outcome, report.Redactor(), collect, clock().stamp())
        except ProvisionError as problem:
            _log.warning("telling about the unreadable stick: %s", problem)
        finally:
            _log.removeHandler(collect)
        return outcome

    # -- the steps -----------------------------------------------------------------------------

    def _refusal(self, exc: ProvisionError, partial: report.Outcome) -> report.Outcome:
        result = "failed" if isinstance(exc, _BOX_FAULTS) else "refused"
        _log.warning("%s: %s [%s]", result, exc.text("en")[0], exc.code)
        partial.result, partial.code, partial.detail = result, exc.code, exc.detail
        return partial

    def _apply(
        self, stick: Stick, redactor: report.Redactor, outcome: report.Outcome, started: str
    ) -> None:
        # A power cut can leave an earlier apply's copy of its stick behind (the cut came before
        # its removal, or the removal was not on the medium yet); nothing reads it any more.
        for leftover in self.paths.state_dir.glob("staging-*"):
            fileops.remove_tree(leftover)
        box = identity.load_or_create(self.paths.keys_dir, self.id_sources)
        if box.new:
            _log.info("made this box's key pair: %s, key %s", box.box_id, box.key_id)
        # Now that the box knows who it is, the kiosk's "正在配置…" can say it.
        outbox.write_status(self.paths.status_file, {**_working(started), "box_id": box.box_id})
        store = ConfigStore(self.paths.config_dir, self.owners)
        current = store.current()
        old_meta = store.meta(current)
        last = state.last_serial(self.paths.state_dir, old_meta)
        outcome.box_id, outcome.public_key, outcome.key_id = box.box_id, box.public_text, box.key_id
        outcome.previous_serial = last
        outcome.generation = current.name if current else None
        site = old_meta.get("site")
        outcome.site = site if isinstance(site, str) else None
        request = enrollment.request_bytes(
            box, report.versions(self.paths.os_release)["qingka"], last
        )

        raw_manifest = stick.read_top(MANIFEST, MAX_MANIFEST_BYTES)
        if raw_manifest is None:
            if stick.bundle_parts():
                # A half-copied or half-deleted bundle: the office meant to configure this box.
                raise BadManifest(f"the bundle is damaged: its {MANIFEST} is missing")
            _log.info("no bundle on the stick: writing this box's enrollment request")
            self._enrolled(outcome, request)
            return
        raw_signature = stick.read_top(SIGNATURE, signing.MAX_SIGNATURE_BYTES)
        if raw_signature is None:
            raise BadSignatureFile("the bundle is not signed")
        store_now = trust.effective(self.paths.image_trust_dir, self.paths.trust_dir)
        signer = store_now.verify(raw_manifest, signing.parse_signature(raw_signature))
        outcome.signed_by = signer
        manifest = parse_manifest(raw_manifest)
        bundle.check_names(manifest)
        outcome.serial = manifest.serial
        _log.info(
            "bundle %d signed by key %s, made by %s", manifest.serial, signer, manifest.creator
        )
        if manifest.enroll:
            _log.info("enrollment stick: writing this box's enrollment request")
            self._enrolled(outcome, request)
            return
        if box.box_id not in manifest.targets:
            outcome.enrollment = request
            raise WrongBox(f"this box is {box.box_id}")
        if clock().now() > manifest.expires:
            raise Expired(f"expired {manifest.expires.isoformat(timespec='minutes')}")
        if manifest.serial <= last:
            raise NotNewer(f"serial {manifest.serial}, this box is at {last}")
        stick.check_listing(manifest.files)

        staging = self.paths.state_dir / f"staging-{manifest.serial}"
        fileops.remove_tree(staging)
        try:
            try:
                fileops.mkdir(staging, 0o700)
            except OSError as exc:
                raise ApplyFailed(f"{staging}: {exc.strerror}") from None
            for entry in manifest.files:
                stick.copy_file(entry, staging / entry.path)
            _log.info("copied and checked %d files from the stick", len(manifest.files))
            self._install(box, manifest, signer, store_now, staging, store, outcome, redactor)
        except SecretUnreadable:
            outcome.enrollment = request
            raise
        finally:
            fileops.remove_tree(staging)

    def _enrolled(self, outcome: report.Outcome, request: bytes) -> None:
        outcome.result, outcome.code, outcome.enrollment = "enrolled", ENROLLMENT_WRITTEN, request

    def _install(
        self,
        box: identity.BoxIdentity,
        manifest: Manifest,
        signer: str,
        store_now: trust.TrustStore,
        staging: Path,
        store: ConfigStore,
        outcome: report.Outcome,
        redactor: report.Redactor,
    ) -> None:
        present = {entry.path for entry in manifest.files}
        config = bundle.parse_config(_read(staging / bundle.CONFIG, bundle.CAPS[bundle.CONFIG]))
        if config.box_id != box.box_id:
            raise BadContent(f"config.json is for {config.box_id}")
        outcome.site = config.site
        opened = None
        if bundle.SECRETS in present:
            sealed = _read(staging / bundle.SECRETS, bundle.CAPS[bundle.SECRETS])
            aad = sealing.associated_data(box.box_id, manifest.serial, bundle.SECRETS)
            opened = bundle.parse_secrets(sealing.open_sealed(box.private, sealed, aad))
            redactor.add(opened.values())
        new_trust = None
        if bundle.TRUST in present:
            new_trust = trust.parse(_read(staging / bundle.TRUST, bundle.SMALL), TrustUpdateRefused)
            trust.check_update(store_now, new_trust, signer)
        header = (
            f"Made by qingka provision from bundle {manifest.serial} ({manifest.creator},\n"
            f"{manifest.created.isoformat(timespec='seconds')}). Do not edit: the next bundle "
            "replaces this file."
        )
        rendered = render(
            config,
            opened,
            staging,
            present,
            self.paths.data_dir,
            self.paths.api_socket,
            header,
            api_group(),
            daemon_knows("fleet"),
        )
        if rendered.fleet_deferred:
            outcome.warnings.append(
                "this daemon has no [fleet] table yet: fleet settings kept in fleet/settings.toml"
            )
        meta = {
            "serial": manifest.serial,
            "created": manifest.created.isoformat(timespec="seconds"),
            "creator": manifest.creator,
            "signed_by": signer,
            "applied_at": clock().stamp(),
            "box_id": box.box_id,
            "site": config.site,
            "inputs": rendered.inputs,
        }
        try:
            generation = store.build(rendered.files, meta)
        except OSError as exc:
            raise ApplyFailed(f"building the configuration: {exc.strerror}") from None
        try:
            check_generation(generation)
            if new_trust is not None:
                trust.save(self.paths.trust_dir, new_trust)
                _log.info("trust store now at version %d", new_trust.version)
            store.switch(generation)
        except OSError as exc:
            if store.current() != generation:
                store.discard(generation)
                raise ApplyFailed(f"switching the configuration: {exc.strerror}") from None
            outcome.warnings.append(f"the switch was not confirmed on disk: {exc.strerror}")
        except ProvisionError:
            store.discard(generation)
            raise
        _log.info("configuration %s is in effect (bundle %d)", generation.name, manifest.serial)
        outcome.result, outcome.code, outcome.generation = "applied", APPLIED, generation.name
        try:
            state.record(
                self.paths.state_dir,
                {"serial": manifest.serial, "generation": generation.name, "at": clock().stamp()},
            )
            store.prune()
        except OSError as exc:
            outcome.warnings.append(f"recording the serial: {exc.strerror}")
        old_inputs = store.meta(store.previous()).get("inputs")
        changed = services.changed(
            old_inputs if isinstance(old_inputs, dict) else {}, rendered.inputs
        )
        # try-restart leaves a stopped daemon stopped: only a running one is worth waiting for.
        running = "daemon" in changed and health.wait_for_daemon(self.paths.api_socket, 0)
        if not self.restart_services:
            outcome.not_restarted, changed = changed, []
            _log.info("paths below a root: not restarting %s", ", ".join(outcome.not_restarted))
        for done in services.restart(changed, self.runner):
            outcome.daemon_restarted |= running and done.service == "daemon" and done.ok
            outcome.restarted.append(done.to_json())
            _log.info("restart %s: %s", done.service, "ok" if done.ok else f"code {done.code}")
        failed = [item["service"] for item in outcome.restarted if not item["ok"]]
        if failed:
            # The new files stand, but what runs still uses the old ones: a person must know.
            outcome.code, outcome.detail = RESTART_FAILED, ", ".join(map(str, failed))
        if bundle.UPDATE in present:
            outcome.update = install(staging / bundle.UPDATE, self.installer)
            _log.info("update bundle: %s", outcome.update.detail)
            if not outcome.update.installed:
                outcome.warnings.append(f"update not installed: {outcome.update.detail}")

    # -- telling people ------------------------------------------------------------------------

    def _finish(
        self,
        stick: Stick | None,
        outcome: report.Outcome,
        redactor: report.Redactor,
        collect: _Collect,
        started: str,
        kiosk: bool = True,
    ) -> None:
        """Write the report (and enrollment request) to the stick, the kiosk status, the event."""
        wait = self.health_wait_s if outcome.daemon_restarted else 0.0
        summary, lines = health.collect(self.paths.api_socket, self.runner, wait)
        software = report.versions(self.paths.os_release)
        at = clock().stamp()
        data, text = report.build(
            outcome, at, summary, lines, list(collect.lines), software, redactor
        )
        written = stick is not None and self._write_stick(stick, outcome, data, text)
        if stick is not None and not written:
            self._not_written(outcome)
        fields = {**redactor.data(outcome.summary()), "started_at": started, "report": written}
        if kiosk:
            outbox.write_status(self.paths.status_file, {"state": outcome.result, **fields})
        try:
            outbox.spool_event(
                self.paths.events_dir,
                redactor.data(
                    {
                        **outcome.summary(),
                        "site": outcome.site,
                        "previous_serial": outcome.previous_serial,
                        "generation": outcome.generation,
                        "restarted": [item["service"] for item in outcome.restarted],
                        "version": software["qingka"],
                    }
                ),
            )
        except OSError as exc:
            _log.warning("fleet event not spooled: %s", exc.strerror)

    @staticmethod
    def _not_written(outcome: report.Outcome) -> None:
        """Never claim an enrollment request is on a stick that could not be written."""
        if outcome.result == "enrolled":
            outcome.result, outcome.code = "failed", StickNotWritten.code
        elif outcome.enrollment is not None:
            outcome.warnings.append("the enrollment request could not be written to the stick")
        else:
            outcome.warnings.append("the report could not be written to the stick")

    def _write_stick(
        self, stick: Stick, outcome: report.Outcome, data: dict[str, object], text: str
    ) -> bool:
        # The random tail keeps two reports of one second apart; names still sort by time.
        stamp = clock().now().strftime("%Y%m%dT%H%M%S")
        name = f"{outcome.box_id or 'unknown'}-{stamp}-{secrets.token_hex(2)}"
        try:
            with self.stick_writable():
                if outcome.enrollment is not None and outcome.box_id:
                    stick.write((ENROLL,), f"{outcome.box_id}.json", outcome.enrollment)
                body = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
                stick.write((REPORTS,), f"{name}.json", body)
                stick.write((REPORTS,), f"{name}.txt", text.encode("utf-8"))
        except (OSError, ProvisionError) as exc:
            # The stick was pulled or is read-only: the kiosk and the fleet still hear of it.
            _log.warning("nothing written to the stick: %s", exc)
            return False
        return True


def _working(started: str) -> dict[str, object]:
    return {
        "state": outbox.WORKING,
        "code": None,
        "message_zh": "正在配置…请不要拔出U盘",
        "message_en": "Configuring… do not remove the USB stick",
        "started_at": started,
    }


def _read(path: Path, cap: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(cap + 1)
