"""Every error of an update: one tree, stable codes, and plain words for each code.

Callers decide by *type*: a :class:`BundleRejected` (bad signature, damaged, meant for another
product, older than what runs) will never install, so retrying it is pointless; a
:class:`DownloadFailed` may work next time; an :class:`UpdateUnavailable` means the box's update
service is not there (a lab machine, or a broken image).
"""

from __future__ import annotations

from appliance.wording import Message

MESSAGES: dict[str, Message] = {
    "U-000": Message(
        "更新失败",
        "The update failed",
        "请联系技术支持并提供错误代码",
        "Call support and give them the code",
    ),
    "U-101": Message(
        "找不到更新包文件",
        "The update file was not found",
        "请检查U盘或下载地址后重试",
        "Check the USB stick or the download address and try again",
    ),
    "U-102": Message(
        "更新包的签名不可信，已拒绝安装",
        "The update is not signed by a trusted key; it was refused",
        "请使用官方发布的更新包，并联系技术支持",
        "Use an officially released update and call support",
    ),
    "U-103": Message(
        "更新包已损坏，已拒绝安装",
        "The update file is damaged; it was refused",
        "请重新复制或重新下载更新包后重试",
        "Copy or download the update again and retry",
    ),
    "U-104": Message(
        "更新包不适用于本机型号，已拒绝安装",
        "The update is meant for another kind of box; it was refused",
        "请使用本机型号的更新包",
        "Use an update made for this kind of box",
    ),
    "U-105": Message(
        "更新包版本低于本机当前版本，已拒绝安装",
        "The update is older than the software on the box; it was refused",
        "无需操作；如确需降级，请联系技术支持",
        "Nothing to do; to go back to an older version, call support",
    ),
    "U-106": Message(
        "更新包过大，已拒绝",
        "The update file is too large; it was refused",
        "请检查下载地址是否正确",
        "Check that the download address is right",
    ),
    "U-107": Message(
        "安装更新时出错，当前系统未受影响",
        "Installing the update failed; the running system is untouched",
        "请重启本机后重试；如仍失败，请联系技术支持",
        "Restart the box and try again; if it fails again, call support",
    ),
    "U-108": Message(
        "本机的更新服务不可用",
        "The box's update service is not available",
        "请重启本机；如仍失败，请联系技术支持",
        "Restart the box; if it still fails, call support",
    ),
    "U-109": Message(
        "正在安装另一个更新",
        "Another update is being installed",
        "请等待当前更新完成",
        "Wait for the running update to finish",
    ),
    "U-201": Message(
        "下载更新包失败",
        "The update could not be downloaded",
        "请检查网络连接，稍后会自动重试",
        "Check the network connection; it will be retried later",
    ),
    "U-202": Message(
        "下载的更新包校验值不符，已丢弃",
        "The downloaded update does not match its checksum; it was discarded",
        "请检查下发的校验值是否正确，然后重试",
        "Check that the checksum sent with the command is right, then retry",
    ),
    "U-203": Message(
        "更新服务器的证书不可信，已停止下载",
        "The update server's certificate is not trusted; the download was stopped",
        "请联系技术支持检查服务器证书",
        "Call support to check the server's certificate",
    ),
    "U-204": Message(
        "本机存储空间不足，无法保存更新包",
        "There is no room on the box for the update file",
        "请联系技术人员清理存储卡后重试",
        "Ask a technician to free space on the storage card, then retry",
    ),
    "U-205": Message(
        "更新请求无效",
        "The update request is not valid",
        "请检查下载地址和校验值",
        "Check the download address and the checksum",
    ),
    "U-301": Message(
        "健康检查未通过，本次启动不会被确认",
        "The health check failed; this start will not be confirmed",
        "本机下次启动将自动回到上一版本；请联系技术支持",
        "The box will go back to the previous version at its next start; call support",
    ),
}


class UpdateError(Exception):
    """Root of every update error."""

    code = "U-000"

    def __init__(self, detail: str = "") -> None:
        self.detail = detail or MESSAGES[self.code].en
        super().__init__(self.detail)

    def __str__(self) -> str:
        return f"{self.detail} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return MESSAGES[self.code].text(lang)


class BundleMissing(UpdateError):
    """The bundle file does not exist or cannot be opened."""

    code = "U-101"


class BundleRejected(UpdateError):
    """A bundle that will never install, whatever is retried."""

    code = "U-000"


class SignatureUntrusted(BundleRejected):
    """The bundle is signed by a key outside the box's keyring (or not signed)."""

    code = "U-102"


class BundleCorrupt(BundleRejected):
    """The bundle's bytes do not match its signature, or it is not a bundle at all."""

    code = "U-103"


class Incompatible(BundleRejected):
    """The bundle's ``compatible`` is not this product's."""

    code = "U-104"


class VersionTooOld(BundleRejected):
    """The bundle's version is older than the running system or the anti-rollback floor."""

    code = "U-105"


class BundleTooLarge(BundleRejected):
    """A download grew past its size cap."""

    code = "U-106"


class InstallFailed(UpdateError):
    """The install started and failed; RAUC leaves the booted slot as it was."""

    code = "U-107"


class UpdateUnavailable(UpdateError):
    """The RAUC service (or its command) cannot be reached."""

    code = "U-108"


class UpdateBusy(UpdateError):
    """Another installation is running."""

    code = "U-109"


class DownloadFailed(UpdateError):
    """A transient network failure: refused, reset, timed out, an HTTP error status."""

    code = "U-201"


class ChecksumMismatch(BundleRejected):
    """The downloaded bytes do not hash to the sha256 the command named."""

    code = "U-202"


class ServerUntrusted(UpdateError):
    """The HTTPS server's certificate does not verify against the given CA."""

    code = "U-203"


class NoRoom(UpdateError):
    """The data partition cannot hold the download."""

    code = "U-204"


class BadRequest(UpdateError):
    """A URL, checksum or version string that is not of the accepted form."""

    code = "U-205"


class HealthCheckFailed(UpdateError):
    """The daemon does not answer, or cannot write its data directory."""

    code = "U-301"


def describe(error: UpdateError, lang: str = "zh") -> str:
    """Return one plain sentence for ``error``: what happened, what to do, and the code."""
    what, action = error.text(lang)
    separator = "。" if lang == "zh" else ". "
    return f"{what}{separator}{action}{'。' if lang == 'zh' else '.'} [{error.code}]"
