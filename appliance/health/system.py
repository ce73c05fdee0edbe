"""What the box's own hardware says: temperature, power, disk, memory, boot and uptime.

Every reader is best effort and returns None where the machine has no such thing (a desktop has
no Raspberry Pi firmware, a container may hide the thermal zone): health reports what it knows.
Each file read is capped: these are one-line kernel files, never large.
"""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

_MAX_READ = 4096
THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")
# The Raspberry Pi firmware's throttle flags (the value of `vcgencmd get_throttled`), exposed by
# the raspberrypi-hwmon / firmware driver on current kernels.
THROTTLED = Path("/sys/devices/platform/soc/soc:firmware/get_throttled")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
UPTIME = Path("/proc/uptime")
MEMINFO = Path("/proc/meminfo")
OS_RELEASE = Path("/etc/os-release")
# Bits of get_throttled: now (0-3) and since boot (16-19).
UNDER_VOLTAGE_NOW = 0x1
THROTTLED_NOW = 0x4
UNDER_VOLTAGE_SINCE_BOOT = 0x10000


def _read(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return handle.read(_MAX_READ).decode("ascii", "replace").strip()
    except OSError:
        return None


@dataclass(frozen=True)
class SystemState:
    """One reading of the box."""

    boot_id: str | None
    uptime_s: int | None
    cpu_temp_c: float | None
    throttled: int | None
    disk_free_mb: int | None
    disk_total_mb: int | None
    mem_available_mb: int | None
    os_version: str

    @property
    def under_voltage(self) -> bool:
        """Tell whether the supply is too weak right now."""
        return bool(self.throttled is not None and self.throttled & UNDER_VOLTAGE_NOW)


def os_version() -> str:
    """Return ``ID-VERSION_ID`` of /etc/os-release, or the platform's words."""
    text = _read(OS_RELEASE) or ""
    fields = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    name = fields.get("ID", "").strip('"')
    version = fields.get("VERSION_ID", "").strip('"')
    return f"{name}-{version}" if name else platform.system().lower()


def read_system(data_dir: Path) -> SystemState:
    """Read the box's state now."""
    temp = _read(THERMAL)
    throttled = _read(THROTTLED)
    uptime = _read(UPTIME)
    mem_mb = None
    for line in (_read(MEMINFO) or "").splitlines():
        if line.startswith("MemAvailable:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                mem_mb = int(fields[1]) // 1024
    try:
        usage = shutil.disk_usage(data_dir)
        free_mb: int | None = usage.free // (1024 * 1024)
        total_mb: int | None = usage.total // (1024 * 1024)
    except OSError:
        free_mb = total_mb = None
    boot = _read(BOOT_ID)
    return SystemState(
        boot_id=boot.replace("-", "")[:12] if boot else None,
        uptime_s=int(float(uptime.split()[0]))
        if uptime and _is_number(uptime.split()[0])
        else None,
        cpu_temp_c=round(int(temp) / 1000, 1) if temp and temp.lstrip("-").isdigit() else None,
        throttled=_hex(throttled),
        disk_free_mb=free_mb,
        disk_total_mb=total_mb,
        mem_available_mb=mem_mb,
        os_version=os_version(),
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _hex(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text, 16)  # the firmware writes hex, with or without 0x
    except ValueError:
        return None
