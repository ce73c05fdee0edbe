"""A whole reading of one device: identity, clock and each invoice type's monitor data and stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from appliance.calendar.stage import TypeStatus, derive_status
from appliance.devices.deadlines import WHOLE_READ_S
from appliance.devices.models import TYPE_NAMES, TYPE_NAMES_EN, Identity, MonitorData
from appliance.devices.nisec import NisecDevice
from appliance.taxpayer import mask_taxpayer_id


@dataclass(frozen=True)
class TypeSnapshot:
    """Monitor data of one type and the stage derived from it."""

    monitor: MonitorData
    status: TypeStatus


@dataclass(frozen=True)
class DeviceSnapshot:
    """Everything ``device-info`` shows."""

    url: str
    identity: Identity
    clock: datetime
    types: tuple[TypeSnapshot, ...]

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (dates as ISO strings)."""

        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        ident = self.identity
        return {
            "url": self.url,
            "device_no": ident.device_no,
            "family": ident.family_name,
            "vendor": ident.vendor,
            "taxpayer_id": ident.taxpayer_id,
            "taxpayer_id_masked": mask_taxpayer_id(ident.taxpayer_id),
            "taxpayer_name": ident.taxpayer_name,
            "region": ident.region,
            "general_taxpayer": ident.general_taxpayer,
            "training": ident.training,
            "firmware": ident.firmware,
            "cert_serial": ident.cert_serial,
            "clock": iso(self.clock),
            "types": [
                {
                    "type": snap.monitor.type_code,
                    "name": TYPE_NAMES.get(snap.monitor.type_code, snap.monitor.type_code),
                    "name_en": TYPE_NAMES_EN.get(snap.monitor.type_code, snap.monitor.type_code),
                    "stage": snap.status.stage.value,
                    "lock_at": iso(snap.status.lock_at),
                    "lock_date": iso(snap.status.lock_date),
                    "days_to_lock": snap.status.days_to_lock,
                    "locked": snap.status.locked,
                    "zombie": snap.status.zombie,
                    "report_window": [iso(snap.monitor.bsqsrq), iso(snap.monitor.bszzrq)],
                    "last_report": iso(snap.monitor.zxbsrq),
                    "upload_deadline_day": snap.monitor.scjzrq,
                    "single_invoice_limit_fen": snap.monitor.dzkpxe,
                    "offline_hours": snap.monitor.lxkpsc,
                    "offline_count_limit": snap.monitor.lxzs,
                    "offline_amount_limit_fen": snap.monitor.lxzsje,
                    "remaining_capacity": snap.monitor.syrl,
                    "offline_pending": snap.monitor.offline_pending,
                }
                for snap in self.types
            ],
        }


def read_snapshot(device: NisecDevice, verify: Callable[[Identity], None]) -> DeviceSnapshot:
    """Read identity, clock and every type's monitor data.

    ``verify`` verifies the PIN once the identity is known: it is the box's guarded
    verification (:class:`appliance.clearing.pins.PinGuard`), which never re-sends a PIN the
    device rejected. This layer never sends a PIN itself.
    """
    # One bound for the whole reading: a device that answers each command just in time must
    # not hold a worker for minutes.
    with device.within(WHOLE_READ_S):
        identity = device.identify()
        clock = device.read_clock()
        types = device.invoice_types()
        verify(identity)
        monitors = [device.monitor(type_code) for type_code in types]
    snaps = []
    for type_code, monitor in zip(types, monitors, strict=True):
        status = derive_status(type_code, clock, monitor.kpjzsj, monitor.zxbsrq)
        snaps.append(TypeSnapshot(monitor, status))
    return DeviceSnapshot(device.url, identity, clock, tuple(snaps))
