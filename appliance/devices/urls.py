"""Open a device by URL, so the same code talks to a real UKey, the bench device or a simulator.

=================================  ======================================================
URL                                what it opens
=================================  ======================================================
``usb://VID:PID[?serial=S]``       a USB tax device through pyusb (libusb)
``serial:///dev/ttyACM0[?baud=N]``  the bench device over USB-CDC serial
``sim://SCENARIO[?key=value...]``  the device simulator in-process, through a pyusb backend
``replay://PATH``                  a capture played back
=================================  ======================================================

Any URL takes ``capture=PATH`` to record every transfer to a JSONL file.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from appliance.devices.capture import CapturePipe, ReplayPipe
from appliance.devices.errors import BadDeviceAddress, CaptureUnwritable, UnsupportedDevice
from appliance.devices.ids import SUPPORTED_FAMILIES, lookup
from appliance.devices.nisec import NisecDevice
from appliance.devices.pipe import Pipe
from appliance.devices.serial_pipe import SerialPipe
from appliance.devices.usb_pipe import UsbPipe
from appliance.jsonfile import check_regular, check_writable_target

SCHEMES = ("usb", "serial", "sim", "replay")
# Options each scheme takes (the simulator checks its own when it builds the device).
_OPTIONS = {"usb": {"serial", "capture"}, "serial": {"baud", "capture"}, "replay": set()}
FORMS = (
    "usb://VID:PID[?serial=S] (e.g. usb://1432:07d0)",
    "serial:///dev/ttyACM0[?baud=115200]",
    "sim://SCENARIO[?option=value...] (e.g. sim://needs-clearing)",
    "replay://CAPTURE.jsonl",
)


@dataclass(frozen=True)
class DeviceUrl:
    """A parsed device URL."""

    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> DeviceUrl:
        """Parse ``url``; :class:`BadDeviceAddress` with a plain reason if it is not one."""
        if not isinstance(url, str) or len(url) > 4096:
            raise BadDeviceAddress("a device address is a short text like usb://1432:07d0")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise BadDeviceAddress(f"{url!r} is not a device address: {forms()}") from None
        if parts.scheme not in SCHEMES or "://" not in url:
            raise BadDeviceAddress(f"unknown device address {url!r}: use {forms()}")
        target = parts.netloc + parts.path if parts.scheme != "serial" else parts.path
        if parts.scheme == "serial" and not target:
            target = parts.netloc
        if not target:
            raise BadDeviceAddress(f"device address {url!r} names no device")
        try:
            options = dict(parse_qsl(parts.query, strict_parsing=bool(parts.query)))
        except ValueError:
            raise BadDeviceAddress(f"device address {url!r} has a malformed query") from None
        return cls(parts.scheme, target, options)

    def check(self) -> None:
        """Check the address's device part and options, without opening anything."""
        allowed = _OPTIONS.get(self.scheme)
        if allowed is not None:
            unknown = sorted(set(self.options) - allowed)
            if unknown:
                known = ", ".join(sorted(allowed)) or "none"
                raise BadDeviceAddress(
                    f"{self.scheme}:// takes no option {', '.join(unknown)} (known: {known})"
                )
        if self.scheme == "usb":
            parse_vid_pid(self.target)
        elif self.scheme == "serial":
            if not self.target.startswith("/"):
                raise BadDeviceAddress(f"serial://{self.target}: give the port's full path")
            if not self.options.get("baud", "1").isdigit():
                raise BadDeviceAddress(f"serial://{self.target}: baud is not a number")
        elif self.scheme == "sim" and not self.target.replace("-", "").isalnum():
            raise BadDeviceAddress(f"sim://{self.target}: name a simulator scenario")
        capture = self.options.get("capture")
        if capture:
            problem = capture_file_problem(Path(capture))
            if problem is not None:
                raise BadDeviceAddress(problem[1])


def forms() -> str:
    """Return the address forms, for messages."""
    return "; ".join(FORMS)


def parse_vid_pid(text: str) -> tuple[int, int]:
    """Parse ``VVVV:PPPP`` (hex)."""
    try:
        vid_text, pid_text = text.split(":")
        vid, pid = int(vid_text, 16), int(pid_text, 16)
    except ValueError:
        raise BadDeviceAddress(f"{text!r} is not VID:PID in hex, like 1432:07dc") from None
    if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
        raise BadDeviceAddress(f"{text!r}: VID and PID are 4 hex digits each")
    return vid, pid


def open_pipe(url: str, backend: Any = None) -> Pipe:
    """Open the bulk pipes behind ``url`` (``backend``: a pyusb backend for ``usb://``)."""
    parsed = DeviceUrl.parse(url)
    parsed.check()
    pipe: Pipe
    if parsed.scheme == "usb":
        vid, pid = parse_vid_pid(parsed.target)
        pipe = UsbPipe.open(vid, pid, parsed.options.get("serial"), backend=backend, name=url)
    elif parsed.scheme == "serial":
        try:
            baud = int(parsed.options.get("baud", "115200"))
        except ValueError:
            raise BadDeviceAddress(f"{url!r}: baud is not a number") from None
        pipe = SerialPipe.open(parsed.target, baud, name=url)
    elif parsed.scheme == "sim":
        # Imported here: the simulator is a training and test tool, not needed to run the box.
        from simulators.device import open_backend  # noqa: PLC0415

        sim_options = {k: v for k, v in parsed.options.items() if k != "capture"}
        try:
            sim = open_backend(parsed.target, sim_options)
        except (KeyError, ValueError) as exc:
            raise BadDeviceAddress(f"{url!r}: {exc}") from exc
        pipe = UsbPipe.open(sim.vid, sim.pid, backend=sim, name=url)
    else:
        capture_file = Path(parsed.target)
        problem = replay_file_problem(capture_file)
        if problem is not None:
            raise BadDeviceAddress(problem, url)
        pipe = ReplayPipe(capture_file)
    capture = parsed.options.get("capture")
    if capture and parsed.scheme != "replay":
        pipe = _captured(pipe, Path(capture), url)
    return pipe


def _captured(pipe: Pipe, capture: Path, url: str) -> Pipe:
    """Wrap ``pipe`` to record to ``capture``; a file that cannot be written closes the pipe."""
    try:
        return CapturePipe(pipe, capture, url)
    except OSError as exc:
        pipe.close()
        raise CaptureUnwritable(
            f"cannot write the capture file {capture}: {exc.strerror}", url
        ) from None


def replay_file_problem(path: Path) -> str | None:
    """Return why the capture file ``path`` cannot be replayed (looked at, not opened), or None."""
    try:
        check_regular(path)
    except FileNotFoundError:
        return f"the capture file {path} does not exist"
    except OSError as exc:
        return f"cannot read the capture file {path}: {exc.strerror}"
    return None


# Why a file cannot be written, by errno, for the Chinese sentence.
_WHY_ZH = {
    errno.EISDIR: "这是一个文件夹",
    errno.ENOENT: "它所在的文件夹不存在",
    errno.ENOTDIR: "它所在的路径不是文件夹",
    errno.EINVAL: "这不是普通文件（而是管道或设备）",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
}


def capture_file_problem(path: Path) -> tuple[str, str] | None:
    """Return why no capture can be written at ``path`` (Chinese, English), or None."""
    try:
        check_writable_target(path)
    except OSError as exc:
        why_zh = _WHY_ZH.get(exc.errno or 0, exc.strerror or "")
        return (
            f"无法写入录制文件 {path}：{why_zh}",
            f"cannot write the capture file {path}: {exc.strerror}",
        )
    return None


def open_device(url: str, backend: Any = None, capture: Path | None = None) -> NisecDevice:
    """Open the tax device at ``url`` with the driver of its family."""
    pipe = open_pipe(url, backend)
    if capture is not None and not isinstance(pipe, (CapturePipe, ReplayPipe)):
        pipe = _captured(pipe, capture, url)
    desc = pipe.descriptor
    known = lookup(desc.vid, desc.pid, desc.manufacturer)
    if known is not None and known.family not in SUPPORTED_FAMILIES:
        pipe.close()
        raise UnsupportedDevice(
            f"{known.vendor} ({desc.vid_pid}) is not supported by this box yet", url
        )
    if known is None and not url.startswith(("serial:", "replay:")):
        pipe.close()
        raise UnsupportedDevice(
            f"USB device {desc.vid_pid} '{desc.manufacturer}' is not a known tax device", url
        )
    return NisecDevice(pipe, url, known)
