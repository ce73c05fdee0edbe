"""Which USB devices are tax devices: VID:PID plus the manufacturer string, as data.

Several UKey vendors share a VID:PID with unrelated products of theirs, so a match needs the
manufacturer string too (compared case-insensitively as a substring). Sources: the IDs public
reverse-engineering code recognises; the simulator's own ID is listed as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.protocol.commands import FAMILY_AISINO, FAMILY_NISEC, FAMILY_UKEY


@dataclass(frozen=True)
class KnownDevice:
    """One row of the table."""

    vid: int
    pid: int
    manufacturer: str
    family: int
    vendor: str


KNOWN_DEVICES: tuple[KnownDevice, ...] = (
    KnownDevice(0x1432, 0x07DC, "NISEC", FAMILY_NISEC, "百旺 NISEC 税控盘"),
    KnownDevice(0x1432, 0x07E2, "NISEC", FAMILY_NISEC, "百旺 NISEC 税控盘 (SKP)"),
    KnownDevice(0x1432, 0x07D0, "ChinaTax SWUKey", FAMILY_UKEY, "税务UKey (NISEC)"),
    KnownDevice(0x14D6, 0xA002, "ChinaTax SWUKey", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0x3254, 0xFF10, "ChinaTax SWUKey", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0x1677, 0x6101, "ChinaTax SWUKey", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0x2012, 0x2010, "ChinaTax SWUKey", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0x287F, 0x00D4, "USB_MSC", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0x1EA8, 0xB00B, "ExcelSecu", FAMILY_UKEY, "税务UKey (ExcelSecu)"),
    KnownDevice(0x1EA8, 0xB00B, "ShuiWu", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0xD449, 0x0001, "SWUKEY", FAMILY_UKEY, "税务UKey"),
    KnownDevice(0x163C, 0x5480, "Watchdata", FAMILY_UKEY, "税务UKey (握奇 Watchdata)"),
    KnownDevice(0x2EC9, 0x1001, "RONGANCHINA", FAMILY_UKEY, "税务UKey (融安)"),
    KnownDevice(0x101D, 0x0003, "Aisino", FAMILY_AISINO, "航天信息 金税盘"),
)

# Families this build has a driver for.
SUPPORTED_FAMILIES = frozenset({FAMILY_UKEY, FAMILY_NISEC})


def lookup(vid: int, pid: int, manufacturer: str) -> KnownDevice | None:
    """Return the table row matching this device, or ``None`` for an unknown device."""
    wanted = manufacturer.casefold()
    for row in KNOWN_DEVICES:
        if row.vid == vid and row.pid == pid and row.manufacturer.casefold() in wanted:
            return row
    return None


def known_vid_pids() -> frozenset[tuple[int, int]]:
    """Return every VID:PID worth asking the manufacturer string of."""
    return frozenset((row.vid, row.pid) for row in KNOWN_DEVICES)
