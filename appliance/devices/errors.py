"""The exception tree of the device layer.

Every error carries a stable ``code`` (for logs, the fleet and support calls) and the identity of
the device it concerns. Callers choose what to do by the error's *type*: the retry policy reads
:data:`TRANSIENT_ERRORS`, never the message text. :class:`PinRejected` is never retried by
anything: each wrong attempt burns one of the device's few tries.
"""

from __future__ import annotations

from appliance.wording import message


class DeviceError(Exception):
    """Root of every device error."""

    code = "D-000"
    summary = "tax device error"

    def __init__(self, detail: str = "", device: str = "") -> None:
        self.detail = detail or self.summary
        self.device = device
        super().__init__(self.detail)

    def __str__(self) -> str:
        where = f"{self.device}: " if self.device else ""
        return f"{where}{self.detail} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en"), for people."""
        return message(self.code, "D-000").text(lang)


class ProtocolError(DeviceError):
    """The device's bytes made no sense: bad check byte, bad frame, bad CRC."""

    code = "D-001"
    summary = "garbled exchange with the tax device"


class DeviceGone(DeviceError):
    """The device was unplugged, or never found."""

    code = "D-002"
    summary = "tax device not connected"


class DeviceBusy(DeviceError):
    """Another program holds the device (税盘占用中), or it is busy with a command."""

    code = "D-003"
    summary = "tax device is in use by another program"


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""

    code = "D-004"
    summary = "tax device did not answer in time"


class DeadlineExceeded(DeviceTimeout):
    """A whole operation (identify, copy tax...) ran past its deadline: a device answering
    every transfer just inside the transfer timeout is as unusable as a silent one."""

    code = "D-009"
    summary = "tax device too slow: the operation ran out of time"


class Stalled(ProtocolError):
    """An endpoint answered STALL and the bulk-only recovery could not bring it back.

    Pipes raise it for one stalled transfer (``endpoint`` is ``"in"`` or ``"out"``); the session
    clears the halt and carries on, and only a device that keeps stalling ends a command with
    it. Inside the device error tree, so no caller can miss it.
    """

    code = "D-007"
    summary = "tax device endpoint stalled"

    def __init__(self, endpoint: str, device: str = "", detail: str = "") -> None:
        self.endpoint = endpoint
        super().__init__(detail or f"{endpoint} endpoint stalled", device)


class InvalidAnswer(ProtocolError):
    """Well-framed bytes that say something impossible: a date that does not exist, a residue
    larger than the transfer, a lock moment of zero."""

    code = "D-008"
    summary = "tax device gave an impossible answer"


class UnsupportedDevice(DeviceError):
    """A USB device that is not a tax device we know."""

    code = "D-005"
    summary = "not a supported tax device"


class BadDeviceAddress(DeviceError):
    """A device URL the box cannot open: unknown scheme, malformed VID:PID, missing path."""

    code = "D-006"
    summary = "device address not understood"


class CaptureUnwritable(BadDeviceAddress):
    """The file a reading should be recorded to cannot be written: the address is fine."""

    summary = "the capture file cannot be written"

    def text(self, lang: str) -> tuple[str, str]:
        """Return words about the capture file, not about how the address is written."""
        return message(f"{self.code}-capture", self.code).text(lang)


class PinRejected(DeviceError):
    """The PIN was wrong; ``tries_left`` more wrong PINs lock the certificate."""

    code = "D-101"
    summary = "wrong device PIN"

    def __init__(self, tries_left: int, device: str = "") -> None:
        self.tries_left = tries_left
        super().__init__(f"wrong device PIN, {tries_left} tries left", device)

    def text(self, lang: str) -> tuple[str, str]:
        """Say how many tries are left, too."""
        what, action = super().text(lang)
        left = (
            f"，还剩 {self.tries_left} 次机会"
            if lang == "zh"
            else f", {self.tries_left} tries left"
        )
        return what + left, action


class CertificateLocked(DeviceError):
    """No PIN tries left: the device certificate is locked."""

    code = "D-102"
    summary = "device certificate locked after too many wrong PINs"


class PinRequired(DeviceError):
    """A command needed a verified PIN first (a driver bug or a device reset)."""

    code = "D-103"
    summary = "device PIN not verified"


class DeviceLocked(DeviceError):
    """Past the invoicing deadline: the device refuses to issue invoices (已到开票截止日期)."""

    code = "D-201"
    summary = "past the invoicing deadline, device locked"


class NotReportTime(DeviceError):
    """Not yet time to copy tax (未到抄报时间)."""

    code = "D-202"
    summary = "not yet report time"


class AlreadyCleared(DeviceError):
    """The device is already cleared for this period (已清卡); callers count it as success."""

    code = "D-203"
    summary = "already cleared"


class NoSummaryData(DeviceError):
    """No summary to read (无汇总数据): not copied yet, or cleared already."""

    code = "D-204"
    summary = "no summary data"


class OfflineInvoicesPending(DeviceError):
    """Invoices issued offline must be uploaded first (有离线票未上传)."""

    code = "D-205"
    summary = "offline invoices not uploaded"


class ZombieDevice(DeviceError):
    """Several months not reported (抄税失败，可能存在多月未正常抄报)."""

    code = "D-206"
    summary = "several months not reported"


class TrainingDevice(DeviceError):
    """A training/test device (测试盘), never cleared."""

    code = "D-207"
    summary = "training device"


class ClockError(DeviceError):
    """The device's clock chip has failed (时钟芯片错误)."""

    code = "D-208"
    summary = "device clock error"


class ClockFactorInvalid(ClockError):
    """The clock calibration factor is invalid: copy tax again (时钟校准因子失效，请重新报税)."""

    code = "D-212"
    summary = "clock calibration factor invalid"


class NotReported(DeviceError):
    """Clearing data written before the period was copied (抄税)."""

    code = "D-209"
    summary = "period not reported yet"


class ClearingRejected(DeviceError):
    """The device refused clearing data: forged, for another device, or of another period."""

    code = "D-210"
    summary = "clearing data rejected by the device"


class TypeNotOnDevice(DeviceError):
    """An invoice type the device does not carry."""

    code = "D-211"
    summary = "invoice type not on this device"


class CommandRefused(DeviceError):
    """A refusal with a status word the driver has no better type for."""

    code = "D-299"
    summary = "tax device refused the command"

    def __init__(self, status: int, device: str = "") -> None:
        self.status = status
        super().__init__(f"tax device refused the command, status 0x{status:04X}", device)


# What a retry can help with: the same command, later, may well succeed.
TRANSIENT_ERRORS: tuple[type[DeviceError], ...] = (
    DeviceGone,
    DeviceBusy,
    DeviceTimeout,
    ProtocolError,
)


def describe(error: DeviceError, lang: str = "zh") -> str:
    """Return one plain sentence for ``error``: what happened, what to do, and the code."""
    what, action = error.text(lang)
    separator = "。" if lang == "zh" else ". "
    return f"{what}{separator}{action}{'。' if lang == 'zh' else '.'} [{error.code}]"
