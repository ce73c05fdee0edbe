"""The clearing job of one device and one period: an explicit, journaled state machine.

PRECHECK -> COPY_TAX -> BACKUP -> UPLOAD -> CLEAR_REQUEST -> WRITE_BACK -> VERIFY -> DONE.

Each step asserts the step it starts from, does its work, and hands its outputs to
:meth:`ClearingJob._set_step`, the only place that journals and emits events: the outputs and the
new step are one durable transaction, so a kill at any instant leaves the job at a step boundary
with every input the next step needs. Every step is safe to repeat: copy tax answers the same on
a second call, uploads reuse their business id, the bureau answers the same receipt, the
clearing request's business id is journaled before it is first sent and reused on every retry
and resume (so the bureau answers the same clearing data, never a second clearing), and a
repeated write-back that the device answers "already cleared" counts as success.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from appliance.bureau.ids import clearing_business_id, random_business_id
from appliance.calendar.stage import Stage, TypeStatus, derive_status
from appliance.clearing import classify
from appliance.clearing.journal import JobRecord, Journal
from appliance.clearing.outcomes import Outcome
from appliance.clearing.pins import PinGuard
from appliance.clearing.steps import JobStep
from appliance.clock import first_of_next_month, month_of
from appliance.devices import errors as dev
from appliance.devices.deadlines import WHOLE_READ_S
from appliance.devices.models import (
    Certificate,
    Identity,
    MonitorData,
    Summary,
    from_date,
    from_datetime,
)
from appliance.devices.nisec import NisecDevice
from appliance.protocol import commands
from appliance.storage.errors import BackupNotFound

Emit = Callable[[dict[str, Any]], None]


class BureauPort(Protocol):
    """What the job needs of the tax bureau (the bureau client, adapted)."""

    def handshake(
        self, identity: Identity, certificate: Certificate, sign: Callable[[bytes], bytes]
    ) -> None:
        """Open a session signed by the device."""

    def upload_summary(self, identity: Identity, summary: Summary) -> dict[str, Any]:
        """Upload one type's summary; return the receipt (JSON-ready)."""

    def request_clearing(
        self, identity: Identity, period: int, types: list[str], business_id: str
    ) -> bytes:
        """Return the clearing data for ``period`` and ``types``; ``business_id`` is journaled."""

    def close(self) -> None:
        """Drop the session and its connections."""


class BackupPort(Protocol):
    """What the job needs of the backup store."""

    def check_writable(self, needed_bytes: int = 0) -> None:
        """Raise if the data partition cannot take ``needed_bytes``."""

    def save(
        self,
        device_no: str,
        period: int,
        name: str,
        content: bytes,
        kind: str,
        description: str = "",
    ) -> object:
        """Store one file of a period durably."""

    def load(self, device_no: str, period: int, name: str) -> bytes:
        """Return a stored file (``BackupNotFound`` if there is none)."""


class JobInterrupted(Exception):
    """The box is closing (the daemon stops, or the command that ran the job does); the job
    stopped at a step boundary."""


class Stop(Exception):
    """End the job now with ``outcome``."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.code)
        self.outcome = outcome


# Backups of one period take a few KiB; refuse to start below this much free space.
BACKUP_BYTES_NEEDED = 256 * 1024


class ClearingJob:
    """One attempt to clear one device (resuming its journaled job if it has one)."""

    def __init__(
        self,
        device: NisecDevice,
        bureau: BureauPort,
        backups: BackupPort,
        journal: Journal,
        *,
        pins: PinGuard,
        pin: str,
        expected_taxpayer: str | None = None,
        emit: Emit | None = None,
        stop: threading.Event | None = None,
        url: str | None = None,
    ) -> None:
        self.device = device
        self.bureau = bureau
        self.backups = backups
        self.journal = journal
        self.pins = pins
        self.pin = pin
        self.url = url or device.url
        self.expected_taxpayer = expected_taxpayer
        self._emit = emit or (lambda event: None)
        self._stop = stop or threading.Event()
        self.step = JobStep.PRECHECK
        # The journal's id of this job's outcome, once recorded (the fleet's catch-up uses it).
        self.outcome_id = 0
        self.record: JobRecord | None = None
        self.values: dict[str, Any] = {}
        self.identity: Identity | None = None
        self.device_no = ""

    # -- the one setter ---------------------------------------------------------------------

    def _set_step(self, step: JobStep, outputs: dict[str, Any]) -> None:
        """Journal ``outputs`` with the move to ``step``, then tell the world. Nothing else does."""
        order = list(JobStep)
        assert order.index(step) > order.index(self.step), f"{step} cannot follow {self.step}"
        if self.record is None:
            ident = self._ident()
            self.record = self.journal.create(
                ident.device_no, ident.taxpayer_id, int(outputs["period"]), step, outputs
            )
        else:
            self.record = self.journal.advance(self.record, step, outputs)
        self.values.update(outputs)
        self.step = step
        self._tell(step, self.record.period)
        if self._stop.is_set() and step is not JobStep.DONE:
            raise JobInterrupted(f"stopped before {step.value}")

    def _tell(self, step: JobStep, period: int | None) -> None:
        """Emit a step event (PRECHECK's comes before any journal: no period is known yet)."""
        self._emit(
            {
                "event": "step",
                "device_no": self.device_no,
                "period": period,
                "step": step.value,
                "label_zh": step.label_zh,
                "label_en": step.label_en,
                "progress": step.progress,
            }
        )

    def _ident(self) -> Identity:
        assert self.identity is not None, "identity is read in PRECHECK"
        return self.identity

    def _expect(self, step: JobStep) -> None:
        assert self.step is step, f"{step.value} entered from {self.step.value}"

    # -- running ----------------------------------------------------------------------------

    def run(self, finish: Callable[[Outcome], Outcome] | None = None) -> Outcome:
        """Run (or resume) the job to an outcome and record it (the caller announces it).

        ``finish`` completes the outcome before it is recorded (the scheduler adds when the box
        tries again), so the journal holds what was announced.
        """
        try:
            outcome = self._run()
        except Stop as stop:
            outcome = stop.outcome
        except JobInterrupted:
            outcome = classify.interrupted(self.device_no, self._period())
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome people can read
            outcome = classify.outcome_for(exc, self.device_no, self._period(), self.step)
        if not outcome.device_no:
            outcome = replace(outcome, device_no=self.device_no)
        if finish is not None:
            outcome = finish(outcome)
        # The requests of this device are answered with the outcome, in one transaction.
        self.outcome_id = self.journal.record_outcome(
            self.device_no or self.device.url, outcome, self.record, self.url, answer=True
        )
        return outcome

    def _period(self) -> int | None:
        return self.record.period if self.record else self.values.get("period")

    def _run(self) -> Outcome:
        self._tell(JobStep.PRECHECK, None)
        self._precheck()
        handlers = {
            JobStep.COPY_TAX: self._copy_tax,
            JobStep.BACKUP: self._backup,
            JobStep.UPLOAD: self._upload,
            JobStep.CLEAR_REQUEST: self._clear_request,
            JobStep.WRITE_BACK: self._write_back,
            JobStep.VERIFY: self._verify,
        }
        while self.step is not JobStep.DONE:
            handlers[self.step]()
        return classify.done(
            self.device_no,
            self._period(),
            date.fromisoformat(self.values["new_lock_date"]),
            already=bool(self.values.get("already_applied")),
            locked=bool(self.values.get("locked")),
        )

    # -- steps ------------------------------------------------------------------------------

    def _precheck(self) -> None:
        self._expect(JobStep.PRECHECK)
        device = self.device
        identity = device.identify()
        self.identity = identity
        self.device_no = identity.device_no
        if identity.training:
            raise dev.TrainingDevice("", device.url)
        if self.expected_taxpayer and identity.taxpayer_id != self.expected_taxpayer:
            raise Stop(classify.taxpayer_mismatch(identity, self.expected_taxpayer))
        with device.within(WHOLE_READ_S):
            self.pins.verify(device, identity.device_no, self.pin)
            clock = device.read_clock()
            monitors = {t: device.monitor(t) for t in device.invoice_types()}
        statuses = {t: derive_status(t, clock, m.kpjzsj, m.zxbsrq) for t, m in monitors.items()}
        pending = self.journal.unfinished(identity.device_no)
        if pending is not None:
            self._resume(pending, monitors)
            return
        due = [t for t, s in statuses.items() if s.stage is not Stage.CLEARED]
        if not due:
            lock = min(s.lock_at for s in statuses.values())
            raise Stop(
                classify.already_cleared(
                    identity.device_no, lock.date(), first_of_next_month(clock.date())
                )
            )
        for type_code in due:
            if statuses[type_code].zombie:
                raise dev.ZombieDevice("", device.url)
            if monitors[type_code].offline_pending:
                raise dev.OfflineInvoicesPending(
                    f"{monitors[type_code].offline_pending} offline invoices of {type_code}",
                    device.url,
                )
        windows = {t: monitors[t].bszzrq for t in due}
        open_types = [t for t, end in windows.items() if end is not None and end < clock.date()]
        if not open_types:
            ends = [end for end in windows.values() if end is not None]
            due_date = (
                (max(ends) + timedelta(days=1)) if ends else first_of_next_month(clock.date())
            )
            raise Stop(classify.not_due(identity.device_no, due_date))
        start = monitors[open_types[0]].bsqsrq
        period = month_of(start) if start else month_of(clock.date())
        types = sorted(t for t in open_types if monitors[t].bsqsrq == start)
        done = self.journal.find(identity.device_no, period)
        if done is not None and done.finished:
            raise Stop(classify.inconsistent(identity.device_no, period))
        locked = any(statuses[t].locked for t in types)
        # A full or read-only data partition stops the job before the device is touched.
        self.backups.check_writable(BACKUP_BYTES_NEEDED)
        self._set_step(
            JobStep.COPY_TAX,
            {
                "period": period,
                "types": types,
                "locked": locked,
                "clock_before": clock.isoformat(),
                "identity": asdict(identity),
                "monitor_before": {t: _monitor_json(monitors[t]) for t in types},
                "lock_before": {t: statuses[t].lock_at.isoformat() for t in types},
            },
        )

    def _resume(self, pending: JobRecord, monitors: dict[str, MonitorData]) -> None:
        """Continue a journaled job; notice a device that moved past its period meanwhile."""
        self.record = pending
        self.values = self.journal.values(pending)
        types = list(self.values.get("types", []))
        moved_on = all(
            m.bsqsrq is not None and month_of(m.bsqsrq) > pending.period
            for t, m in monitors.items()
            if t in types
        )
        if moved_on and list(JobStep).index(pending.step) < list(JobStep).index(JobStep.WRITE_BACK):
            # Cleared by something other than this job (another program, the tax hall).
            lock = min(m.kpjzsj for t, m in monitors.items() if t in types)
            raise Stop(
                classify.already_cleared(
                    pending.device_no, lock.date(), None, elsewhere=True, period=pending.period
                )
            )
        # Resuming at the journaled step: assigning directly is the resume, not a transition.
        self.step = JobStep.VERIFY if moved_on else pending.step

    def _copy_tax(self) -> None:
        self._expect(JobStep.COPY_TAX)
        copies = {}
        for type_code in self.values["types"]:
            try:
                result = self.device.copy_tax(type_code)
            except dev.NotReportTime:
                # The device's clock is the authority on its periods, not the host's.
                device_day = datetime.fromisoformat(self.values["clock_before"]).date()
                raise Stop(
                    classify.not_due(self.device_no, first_of_next_month(device_day))
                ) from None
            if result.period != self.values["period"]:
                raise Stop(classify.inconsistent(self.device_no, self.values["period"]))
            copies[type_code] = {
                "period": result.period,
                "zxbsrq": result.zxbsrq.isoformat() if result.zxbsrq else None,
            }
        self._set_step(JobStep.BACKUP, {"copy": copies})

    def _backup(self) -> None:
        self._expect(JobStep.BACKUP)
        self.backups.check_writable(BACKUP_BYTES_NEEDED)
        period = int(self.values["period"])
        device_no = self.device_no
        summaries = {}
        identity_json = json.dumps(self.values["identity"], ensure_ascii=False, indent=1)
        self.backups.save(device_no, period, "identity.json", identity_json.encode(), "identity")
        monitor_json = json.dumps(self.values["monitor_before"], ensure_ascii=False, indent=1)
        self.backups.save(
            device_no, period, "monitor-before.json", monitor_json.encode(), "monitor"
        )
        for type_code in self.values["types"]:
            summary = self._stored_summary(type_code)
            if summary is None:
                summary = self.device.read_summary(type_code)
                self.backups.save(
                    device_no,
                    period,
                    f"summary-{type_code}.bin",
                    summary.raw,
                    "raw-device",
                    f"read_summary response of invoice type {type_code}",
                )
            readable = {k: v for k, v in summary.fields.items() if k != "signature"}
            readable["signature"] = summary.signature.hex()
            self.backups.save(
                device_no,
                period,
                f"summary-{type_code}.json",
                json.dumps(readable, ensure_ascii=False, indent=1).encode(),
                "summary",
                f"summary of invoice type {type_code}, amounts in fen",
            )
            summaries[type_code] = {
                "raw": summary.raw.hex(),
                "signed": summary.signed.hex(),
                "signature": summary.signature.hex(),
                "period": summary.period,
            }
        self._set_step(JobStep.UPLOAD, {"summaries": summaries})

    def _stored_summary(self, type_code: str) -> Summary | None:
        """Return the summary an interrupted BACKUP already stored, if any.

        Once a summary is on flash it is the evidence of the period: a second read would carry a
        fresh device signature, and two different files for one period must never exist.
        """
        try:
            raw = self.backups.load(
                self.device_no, int(self.values["period"]), f"summary-{type_code}.bin"
            )
        except BackupNotFound:
            return None
        fields: dict[str, Any] = commands.SUMMARY_LAYOUT.decode(raw)
        return Summary(
            type_code=type_code,
            period=int(fields["period"]),
            fields=fields,
            raw=raw,
            signed=commands.signed_bytes(commands.SUMMARY_LAYOUT, fields),
            signature=bytes(fields["signature"]),
        )

    def _summary(self, type_code: str) -> Summary:
        """Rebuild a journaled summary (a resumed job uploads exactly what it backed up)."""
        stored = self.values["summaries"][type_code]
        raw = bytes.fromhex(stored["raw"])
        fields = commands.SUMMARY_LAYOUT.decode(raw)
        return Summary(
            type_code=type_code,
            period=int(stored["period"]),
            fields=fields,
            raw=raw,
            signed=bytes.fromhex(stored["signed"]),
            signature=bytes.fromhex(stored["signature"]),
        )

    def _certificate_and_handshake(self) -> None:
        self.bureau.handshake(self._ident(), self.device.certificate(), self.device.sign)

    def _upload(self) -> None:
        self._expect(JobStep.UPLOAD)
        self._certificate_and_handshake()
        receipts = dict(self.values.get("receipts", {}))
        period = int(self.values["period"])
        for type_code in self.values["types"]:
            receipt = self.bureau.upload_summary(self._ident(), self._summary(type_code))
            self.backups.save(
                self.device_no,
                period,
                f"receipt-{type_code}.json",
                json.dumps(receipt, ensure_ascii=False, indent=1, sort_keys=True).encode(),
                "receipt",
                f"bureau receipt of the uploaded summary of invoice type {type_code}",
            )
            receipts[type_code] = receipt
        # The clearing request's business id is fixed now, before it is first sent: a retry,
        # a resume after a crash or a lost answer asks again with the same id, and the bureau
        # answers with the clearing data it issued for it instead of issuing a second clearing.
        self._set_step(
            JobStep.CLEAR_REQUEST,
            {"receipts": receipts, "clear_business_id": random_business_id()},
        )

    def _clear_request(self) -> None:
        self._expect(JobStep.CLEAR_REQUEST)
        self._certificate_and_handshake()
        period = int(self.values["period"])
        try:
            # An interrupted CLEAR_REQUEST may have stored the data already: use that one, so
            # the box never holds two different clearing data for one period.
            blob = self.backups.load(self.device_no, period, "clearing-data.bin")
            self._set_step(JobStep.WRITE_BACK, {"clearing_data": blob.hex()})
            return
        except BackupNotFound:
            pass
        blob = self.bureau.request_clearing(
            self._ident(), period, list(self.values["types"]), self._clear_business_id()
        )
        self.backups.save(
            self.device_no,
            period,
            "clearing-data.bin",
            blob,
            "clearing-data",
            "clearing data issued by the bureau, as written to the device",
        )
        self._set_step(JobStep.WRITE_BACK, {"clearing_data": blob.hex()})

    def _clear_business_id(self) -> str:
        """Return the journaled id of this period's clearing request."""
        journaled = self.values.get("clear_business_id")
        if isinstance(journaled, str) and journaled:
            return journaled
        # A job journaled before ids were: derived from the job, so every resume agrees.
        assert self.record is not None
        return clearing_business_id(self.record.id, self.record.device_no, self.record.period)

    def _write_back(self) -> None:
        self._expect(JobStep.WRITE_BACK)
        blob = bytes.fromhex(self.values["clearing_data"])
        try:
            result = self.device.write_clearing(blob)
            written = {"types": list(result.types), "kpjzsj": _iso(result.kpjzsj)}
            already = False
        except dev.AlreadyCleared:
            written = {"types": [], "kpjzsj": None}
            already = True
        self._set_step(JobStep.VERIFY, {"write_back": written, "already_applied": already})

    def _verify(self) -> None:
        self._expect(JobStep.VERIFY)
        clock = self.device.read_clock()
        locks = []
        for type_code in self.values["types"]:
            monitor = self.device.monitor(type_code)
            status: TypeStatus = derive_status(type_code, clock, monitor.kpjzsj, monitor.zxbsrq)
            if status.stage is not Stage.CLEARED:
                raise Stop(classify.not_verified(self.device_no, int(self.values["period"])))
            locks.append(monitor.kpjzsj)
        new_lock = min(locks)
        self._set_step(
            JobStep.DONE,
            {"new_lock_date": new_lock.date().isoformat(), "new_lock_at": new_lock.isoformat()},
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _monitor_json(monitor: MonitorData) -> dict[str, Any]:
    """Return monitor data as JSON (protocol ints for dates, as the device sent them)."""
    data = asdict(monitor)
    data["kpjzsj"] = from_datetime(monitor.kpjzsj)
    for key in ("bsqsrq", "bszzrq", "zxbsrq"):
        data[key] = from_date(data[key])
    return data
