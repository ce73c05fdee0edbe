"""Every error of the bureau client: one tree, each class with a stable code, plain words in
Chinese and English, and what the shop should do.

Callers decide by *type*: :data:`TRANSIENT_ERRORS` are the only ones the client retries (network
trouble, timeouts, 5xx, the bureau's "network communication error" code, a reply garbled in
transit); everything else is the bureau's considered answer, or a sign the reply cannot be
trusted, and is raised at once. :data:`BY_RESULT_CODE` maps the bureau's result codes onto the
classes.
"""

from __future__ import annotations

from typing import ClassVar

from appliance.bureau import codes


class BureauError(Exception):
    """Root of every bureau error."""

    code: ClassVar[str] = "B-000"
    zh: ClassVar[str] = "税务局服务出错"
    en: ClassVar[str] = "The tax bureau's service reported an error"
    action_zh: ClassVar[str] = "请稍后再试；如一直失败，请联系技术支持"
    action_en: ClassVar[str] = "Try again later; if it keeps failing, call support"

    def __init__(self, detail: str = "", *, result_code: str = "") -> None:
        self.detail = detail or self.en
        self.result_code = result_code  # the bureau's own code, when it answered one
        super().__init__(self.detail)

    def __str__(self) -> str:
        bureau = f" (bureau {self.result_code})" if self.result_code else ""
        return f"{self.detail}{bureau} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return (self.zh, self.action_zh) if lang == "zh" else (self.en, self.action_en)


class TransientError(BureauError):
    """A failure that may pass by itself: the client retries these."""

    code = "B-001"
    zh = "暂时无法连接税务局"
    en = "The tax bureau cannot be reached for now"
    action_zh = "本机会自动重试，请检查网络连接"
    action_en = "The box retries by itself; check the network connection"


class NetworkError(TransientError):
    """No connection, a connection reset, or an answer cut short."""

    code = "B-002"
    zh = "网络连接中断"
    en = "The network connection to the tax bureau failed"


class BureauTimeout(TransientError):
    """The bureau did not answer within the timeouts."""

    code = "B-003"
    zh = "税务局响应超时"
    en = "The tax bureau did not answer in time"


class ServerError(TransientError):
    """The bureau's server answered HTTP 5xx."""

    code = "B-004"
    zh = "税务局服务器繁忙"
    en = "The tax bureau's server is busy or failing"


class CommunicationError(TransientError):
    """The bureau answered its own "network communication error" code."""

    code = "B-005"
    zh = "网络通讯错误"
    en = "The tax bureau reported a network communication error"


class GarbledResponse(TransientError):
    """The answer was damaged in transit: not XML, wrong digest, too large."""

    code = "B-006"
    zh = "税务局返回的数据在传输中损坏"
    en = "The tax bureau's answer was damaged in transit"


class BureauUnavailable(TransientError):
    """Retries used up or the overall deadline passed; ``last`` is the final failure."""

    code = "B-007"
    zh = "多次尝试后仍无法连接税务局"
    en = "The tax bureau could not be reached after several attempts"
    action_zh = "请检查网络，稍后本机会再试；临近征期截止日请尽早处理"
    action_en = "Check the network; the box will try again later. Near the deadline, act early"

    def __init__(self, detail: str, last: BureauError, attempts: int) -> None:
        super().__init__(detail)
        self.last = last
        self.attempts = attempts


class TlsError(BureauError):
    """The bureau's TLS certificate did not verify against the configured CA bundle."""

    code = "B-010"
    zh = "税务局服务器证书验证失败"
    en = "The tax bureau's server certificate could not be verified"
    action_zh = "请联系技术支持检查本机的证书配置，切勿忽略此错误"
    action_en = "Call support to check the box's certificate settings; do not ignore this"


class UntrustedResponse(BureauError):
    """An answer whose signature or identity does not match: never acted upon."""

    code = "B-011"
    zh = "税务局返回的数据验证失败，已拒绝使用"
    en = "The tax bureau's answer failed verification and was not used"
    action_zh = "请联系技术支持检查税务局公钥配置与网络环境"
    action_en = "Call support to check the bureau key settings and the network"


class UnexpectedAnswer(BureauError):
    """An answer this client does not know how to read (unknown code, odd HTTP status)."""

    code = "B-012"
    zh = "税务局返回了无法识别的结果"
    en = "The tax bureau gave an answer the box does not understand"
    action_zh = "请联系技术支持，并提供错误代码"
    action_en = "Call support and give them the error code"


class NotConnected(BureauError):
    """A business call before a handshake opened a session."""

    code = "B-013"
    zh = "尚未与税务局建立连接"
    en = "No session with the tax bureau is open"
    action_zh = "请重新开始清卡"
    action_en = "Start the clearing again"


class NoEndpoint(BureauError):
    """The configuration has no bureau endpoint for the taxpayer's region."""

    code = "B-014"
    zh = "未配置本地区税务局的服务地址"
    en = "No tax bureau address is configured for this region"
    action_zh = "请联系技术支持更新本机配置"
    action_en = "Call support to update the box's configuration"


class CertificateLost(BureauError):
    """证书已挂失: the device certificate was reported lost."""

    code = "B-101"
    zh = "税控设备证书已挂失，无法清卡"
    en = "The tax device's certificate has been reported lost"
    action_zh = "请携带税控设备到办税服务厅办理解除挂失"
    action_en = "Take the tax device to the tax service hall to lift the loss report"


class CertificateRevoked(BureauError):
    """证书已作废: the device certificate was revoked."""

    code = "B-102"
    zh = "税控设备证书已作废，无法清卡"
    en = "The tax device's certificate has been revoked"
    action_zh = "请到办税服务厅更换税控设备"
    action_en = "Go to the tax service hall to have the tax device replaced"


class CertificateUnknown(BureauError):
    """The bureau does not know this device certificate (证书状态未知)."""

    code = "B-103"
    zh = "税务局查询不到本设备的证书"
    en = "The tax bureau does not recognise this device's certificate"
    action_zh = "请确认插入的是本单位的税控设备，或到办税服务厅核实"
    action_en = "Check this is your own tax device, or ask at the tax service hall"


class HandshakeRejected(BureauError):
    """The bureau refused the device's handshake signature."""

    code = "B-104"
    zh = "与税务局的身份认证失败"
    en = "The tax bureau did not accept the device's identity"
    action_zh = "请重新插拔税控设备后再试；如一直失败，请联系技术支持"
    action_en = "Unplug the tax device, plug it in again and retry; if it persists, call support"


class SessionExpired(BureauError):
    """The session timed out or is unknown: open a new one with a handshake."""

    code = "B-105"
    zh = "与税务局的连接已超时"
    en = "The session with the tax bureau has expired"
    action_zh = "本机会重新连接税务局后继续"
    action_en = "The box reconnects to the tax bureau and carries on"


class IllegalMessage(BureauError):
    """报文非法: the bureau could not accept the message itself."""

    code = "B-201"
    zh = "税务局拒收报文（报文非法）"
    en = "The tax bureau rejected the message as invalid"
    action_zh = "请联系技术支持，并提供错误代码"
    action_en = "Call support and give them the error code"


class DuplicateBusinessId(BureauError):
    """A business id the bureau already saw with different content."""

    code = "B-202"
    zh = "业务流水号重复，税务局拒收"
    en = "The tax bureau saw this business id before with different content"
    action_zh = "请联系技术支持，并提供错误代码"
    action_en = "Call support and give them the error code"


class WrongProvince(BureauError):
    """The taxpayer does not belong to the tax authority that was called."""

    code = "B-203"
    zh = "本单位不属于所连接的税务机关"
    en = "The taxpayer does not belong to the tax authority that was called"
    action_zh = "请联系技术支持检查本机的地区设置"
    action_en = "Call support to check the box's region settings"


class SummaryRejected(BureauError):
    """The bureau could not verify the device's signature over the summary."""

    code = "B-301"
    zh = "汇总数据验证失败，税务局拒收"
    en = "The tax bureau could not verify the device's summary"
    action_zh = "请重新抄税后再试；如一直失败，请联系技术支持"
    action_en = "Copy tax again and retry; if it keeps failing, call support"


class SummaryConflict(BureauError):
    """This period's summary was accepted before with different content."""

    code = "B-302"
    zh = "本期汇总已上报过，且内容与本次不一致"
    en = "A different summary for this period was already accepted"
    action_zh = "请联系主管税务机关核实本期数据"
    action_en = "Ask your tax office to check this period's data"


class SummaryPeriodRejected(BureauError):
    """The summary's period cannot be reported now (a month not yet closed)."""

    code = "B-303"
    zh = "汇总数据所属期不正确"
    en = "The summary is for a period that cannot be reported now"
    action_zh = "请检查税控设备的时钟，然后重新抄税"
    action_en = "Check the tax device's clock, then copy tax again"


class NotFilingPeriod(BureauError):
    """无上报汇总信息或当前处于非征期，无法进行远程清卡."""

    code = "B-401"
    zh = "无上报汇总信息或当前处于非征期，无法进行远程清卡"
    en = "No uploaded summary, or outside the filing period: remote clearing is not possible"
    action_zh = "请先抄税并上报汇总；如已过征期，请到办税服务厅办理"
    action_en = "Copy tax and upload the summary first; past the filing period, visit the tax hall"


class DeclarationMissing(BureauError):
    """一窗式比对失败: the bureau has no VAT declaration for the period."""

    code = "B-402"
    zh = "一窗式比对失败：税务局未查询到本期增值税申报"
    en = "Declaration check (一窗式比对) failed: no VAT declaration for this period"
    action_zh = "请先在电子税务局完成本期增值税申报（零申报也需申报），然后再清卡"
    action_en = (
        "File this period's VAT return on the e-tax website (even a zero return), then clear"
    )


class DeclarationMismatched(BureauError):
    """一窗式比对失败: the declaration does not match the uploaded summary."""

    code = "B-403"
    zh = "一窗式比对失败：申报数据与开票数据不一致"
    en = "Declaration check (一窗式比对) failed: the VAT return does not match the invoices"
    action_zh = "请在电子税务局更正本期申报，或联系主管税务机关"
    action_en = "Correct this period's VAT return on the e-tax website, or ask your tax office"


class ClearingDataRejected(BureauError):
    """Clearing data that fails the box's own checks: never written to the device."""

    code = "B-404"
    zh = "税务局返回的清卡数据验证失败，未写入设备"
    en = "The clearing data from the tax bureau failed checks and was not written"
    action_zh = "请稍后重新清卡；如一直失败，请联系技术支持"
    action_en = "Clear again later; if it keeps failing, call support"


# Everything that may pass by itself. The client retries these within one call; after the last
# attempt it raises BureauUnavailable, itself transient, so the caller tries again later.
TRANSIENT_ERRORS: tuple[type[BureauError], ...] = (TransientError,)

BY_RESULT_CODE: dict[str, type[BureauError]] = {
    codes.CERT_LOST: CertificateLost,
    codes.CERT_REVOKED: CertificateRevoked,
    codes.CERT_UNKNOWN: CertificateUnknown,
    codes.HANDSHAKE_FAILED: HandshakeRejected,
    codes.SESSION_INVALID: SessionExpired,
    codes.ILLEGAL_MESSAGE: IllegalMessage,
    codes.MESSAGE_TOO_LARGE: IllegalMessage,
    codes.UNKNOWN_SERVICE: IllegalMessage,
    codes.DUPLICATE_BUSINESS_ID: DuplicateBusinessId,
    codes.WRONG_PROVINCE: WrongProvince,
    codes.SUMMARY_SIGNATURE: SummaryRejected,
    codes.SUMMARY_CONFLICT: SummaryConflict,
    codes.SUMMARY_PERIOD: SummaryPeriodRejected,
    codes.NO_SUMMARY_OR_NOT_FILING: NotFilingPeriod,
    codes.DECLARATION_MISSING: DeclarationMissing,
    codes.DECLARATION_MISMATCH: DeclarationMismatched,
    codes.COMMUNICATION_ERROR: CommunicationError,
}


def from_result(result_code: str, message: str) -> BureauError:
    """Return the error for a bureau answer that is not success."""
    cls = BY_RESULT_CODE.get(result_code, UnexpectedAnswer)
    detail = message or codes.text(result_code) or f"bureau result code {result_code}"
    return cls(detail, result_code=result_code)
