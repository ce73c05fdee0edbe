"""Every error of provisioning: one tree, stable codes ``P-…`` and plain words for each.

A refusal is shown to a field technician on the kiosk, in the report written back to the stick
and in the office tool's output: one sentence of what happened and one of what to do, Chinese
first. ``detail`` adds the technical particulars (a file name, a key id, a number) and never holds
a secret: callers pass names and sizes, not contents.
"""

from __future__ import annotations

from appliance.wording import Message

# Results that are not errors share the code space, so a report always carries one code.
APPLIED = "P-000"
ENROLLMENT_WRITTEN = "P-010"

RESULT_WORDS: dict[str, Message] = {
    APPLIED: Message(
        "新配置已生效",
        "The new configuration is in effect",
        "可以拔出U盘",
        "You may remove the USB stick",
    ),
    ENROLLMENT_WRITTEN: Message(
        "本机登记信息已写入U盘",
        "This box's enrollment request was written to the USB stick",
        "请把U盘交回办公室，用它制作本机的配置包",
        "Take the stick back to the office to make this box's configuration bundle",
    ),
}


class ProvisionError(Exception):
    """Root of every provisioning error; ``code`` and ``words`` say it to people."""

    code = "P-001"
    words = Message(
        "配置过程出错，本机配置未改变",
        "Provisioning failed; the box's configuration is unchanged",
        "请联系技术支持并提供错误代码",
        "Call support and give them the code",
    )

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(detail or self.words.en)

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang``, with the detail in brackets."""
        what, action = self.words.text(lang)
        if self.detail:
            what = f"{what}（{self.detail}）" if lang == "zh" else f"{what} ({self.detail})"
        return what, action

    def __str__(self) -> str:
        zh, _ = self.text("zh")
        en, _ = self.text("en")
        return f"{zh} / {en} [{self.code}]"


# -- reading the stick ---------------------------------------------------------------------------


class StickError(ProvisionError):
    """The stick's files cannot be taken as a bundle."""


class NoBundle(StickError):
    code = "P-101"
    words = Message(
        "U盘上没有配置包（缺少 QINGKA 文件夹或清单）",
        "The USB stick holds no bundle (no QINGKA folder or manifest)",
        "请使用办公室制作的配置U盘",
        "Use a stick made by the office",
    )


class UnsafePath(StickError):
    code = "P-102"
    words = Message(
        "配置包里有不允许的文件名或路径",
        "The bundle holds a file name or path that is not allowed",
        "请在办公室重新制作配置包",
        "Have the office make the bundle again",
    )


class NotRegularFile(StickError):
    code = "P-103"
    words = Message(
        "配置包里有链接或特殊文件",
        "The bundle holds a link or a special file",
        "请在办公室重新制作配置包",
        "Have the office make the bundle again",
    )


class TooLarge(StickError):
    code = "P-104"
    words = Message(
        "配置包里的文件超过大小限制",
        "A file of the bundle is larger than allowed",
        "请在办公室重新制作配置包",
        "Have the office make the bundle again",
    )


class TooManyFiles(StickError):
    code = "P-105"
    words = Message(
        "配置包里的文件太多",
        "The bundle holds too many files",
        "请在办公室重新制作配置包",
        "Have the office make the bundle again",
    )


class StickUnreadable(StickError):
    code = "P-106"
    words = Message(
        "读取U盘失败，本机配置未改变",
        "The USB stick could not be read; the box's configuration is unchanged",
        "请不要在配置过程中拔出U盘；重新插入后再试，或换一个U盘",
        "Do not remove the stick while the box is configuring; plug it in again, "
        "or try another stick",
    )


class FilesMismatch(StickError):
    code = "P-107"
    words = Message(
        "配置包的文件与清单不符（缺少或多出文件）",
        "The bundle's files do not match its manifest (missing or extra files)",
        "请在办公室重新制作配置包，不要手动改动U盘上的文件",
        "Have the office make the bundle again; do not change the files on the stick by hand",
    )


# -- manifest, signature and trust ---------------------------------------------------------------


class BadManifest(ProvisionError):
    code = "P-201"
    words = Message(
        "配置包清单损坏",
        "The bundle's manifest is damaged",
        "请在办公室重新制作配置包",
        "Have the office make the bundle again",
    )


class BadSignatureFile(ProvisionError):
    code = "P-202"
    words = Message(
        "配置包没有签名或签名文件损坏",
        "The bundle is not signed, or its signature file is damaged",
        "请在办公室签名后再使用（qingka provision sign）",
        "Have the office sign it first (qingka provision sign)",
    )


class SignatureInvalid(ProvisionError):
    code = "P-203"
    words = Message(
        "签名验证失败：配置包被改动过，或不是办公室签发的",
        "The signature does not verify: the bundle was changed, or the office did not sign it",
        "请不要使用这个U盘，并通知办公室",
        "Do not use this stick, and tell the office",
    )


class UnknownKey(ProvisionError):
    code = "P-204"
    words = Message(
        "签名密钥不在本机的信任列表中",
        "The signing key is not one this box trusts",
        "请使用本机信任的办公室密钥签名",
        "Have the bundle signed with an office key this box trusts",
    )


class RevokedKey(ProvisionError):
    code = "P-205"
    words = Message(
        "签名密钥已被吊销",
        "The signing key has been revoked",
        "请用当前有效的办公室密钥重新签名",
        "Have the bundle signed again with a current office key",
    )


class HashMismatch(ProvisionError):
    code = "P-206"
    words = Message(
        "文件校验失败：内容与清单不符",
        "A file's checksum does not match the manifest: its content was changed",
        "请不要使用这个U盘，并通知办公室",
        "Do not use this stick, and tell the office",
    )


class SizeMismatch(ProvisionError):
    code = "P-207"
    words = Message(
        "文件大小与清单不符",
        "A file's size does not match the manifest",
        "请在办公室重新制作配置包",
        "Have the office make the bundle again",
    )


class WrongBox(ProvisionError):
    code = "P-208"
    words = Message(
        "这个配置包不是给本机的",
        "This bundle is not meant for this box",
        "请核对盒子编号，使用给本机制作的配置包",
        "Check the box number and use the bundle made for this box",
    )


class Expired(ProvisionError):
    code = "P-209"
    words = Message(
        "配置包已过期",
        "The bundle has expired",
        "请在办公室重新制作配置包",
        "Have the office make a new bundle",
    )


class NotNewer(ProvisionError):
    code = "P-210"
    words = Message(
        "配置包不比本机当前配置新，已拒绝（防止回退）",
        "The bundle is not newer than the box's configuration; refused (no rollback)",
        "请使用最新制作的配置包",
        "Use the newest bundle made for this box",
    )


class TrustUpdateRefused(ProvisionError):
    code = "P-211"
    words = Message(
        "信任密钥更新不符合规则，已拒绝",
        "The update of trusted keys breaks the rules; refused",
        "请通知办公室检查密钥更新",
        "Tell the office to check the key update",
    )


class BadTrustStore(ProvisionError):
    code = "P-212"
    words = Message(
        "本机的信任密钥列表损坏",
        "The box's list of trusted keys is damaged",
        "请联系技术支持",
        "Call support",
    )


# -- contents ------------------------------------------------------------------------------------


class BadContent(ProvisionError):
    code = "P-301"
    words = Message(
        "配置内容有误",
        "The configuration in the bundle is not valid",
        "请在办公室检查并重新制作配置包",
        "Have the office check and make the bundle again",
    )


class SecretUnreadable(ProvisionError):
    code = "P-302"
    words = Message(
        "加密内容无法解开：配置包不是用本机密钥制作的",
        "The encrypted part cannot be opened: the bundle was not made for this box's key",
        "本机登记信息已写入U盘，请用它在办公室重新制作配置包",
        "This box's enrollment request is on the stick; have the office make the bundle from it",
    )


class ConfigRefused(ProvisionError):
    code = "P-303"
    words = Message(
        "生成的配置无法使用，本机配置未改变",
        "The configuration made from the bundle cannot be used; the box's configuration "
        "is unchanged",
        "请在办公室检查配置内容并重新制作配置包",
        "Have the office check the settings and make the bundle again",
    )


class BadOfficeConfig(ProvisionError):
    code = "P-304"
    words = Message(
        "制作配置包的设置文件有误",
        "The settings file for making the bundle is not valid",
        "请按提示修改设置文件",
        "Correct the settings file as the message says",
    )


class BadEnrollment(ProvisionError):
    code = "P-305"
    words = Message(
        "本机登记请求损坏",
        "A box's enrollment request is damaged",
        "请让盒子重新写入登记请求",
        "Have the box write its enrollment request again",
    )


# -- applying on the box -------------------------------------------------------------------------


class ApplyFailed(ProvisionError):
    code = "P-401"
    words = Message(
        "写入本机配置失败，原配置未改变",
        "The configuration could not be written; the box's configuration is unchanged",
        "本机存储可能已满或损坏，请联系技术支持",
        "The box's storage may be full or failing; call support",
    )


class Busy(ProvisionError):
    code = "P-402"
    words = Message(
        "另一个配置过程正在进行",
        "Another provisioning is running",
        "请等它结束后再插入U盘",
        "Wait until it ends, then plug the stick in again",
    )


class MountFailed(ProvisionError):
    code = "P-403"
    words = Message(
        "无法读取U盘（挂载失败）",
        "The USB stick could not be opened (mount failed)",
        "请换一个U盘，或在办公室把它格式化为 FAT32 并命名为 QINGKA",
        "Try another stick, or have the office format it as FAT32 labelled QINGKA",
    )


class UpdateFailed(ProvisionError):
    code = "P-404"
    words = Message(
        "系统更新包没有安装",
        "The system update was not installed",
        "配置已生效；请联系技术支持处理系统更新",
        "The configuration is in effect; call support about the system update",
    )


# -- keys ----------------------------------------------------------------------------------------


class BoxKeyProblem(ProvisionError):
    code = "P-501"
    words = Message(
        "本机密钥无法使用",
        "The box's own key cannot be used",
        "请联系技术支持",
        "Call support",
    )


class SigningKeyProblem(ProvisionError):
    code = "P-502"
    words = Message(
        "签名密钥文件无法使用",
        "The signing key file cannot be used",
        "请检查密钥文件（只有本人可读，PEM 格式）",
        "Check the key file (readable by its owner only, PEM format)",
    )


def words_for(code: str) -> Message:
    """Return the words of a result or error code (the root error's words if unknown)."""
    if code in RESULT_WORDS:
        return RESULT_WORDS[code]
    stack: list[type[ProvisionError]] = [ProvisionError]
    while stack:
        kind = stack.pop()
        if kind.code == code:
            return kind.words
        stack.extend(kind.__subclasses__())
    return ProvisionError.words
