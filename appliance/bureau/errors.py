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
from appliance.wording import message


class BureauError(Exception):
    """Root of every bureau error."""

    code: ClassVar[str] = "B-000"

    def __init__(self, detail: str = "", *, result_code: str = "") -> None:
        self.detail = detail or message(self.code, "B-000").en
        self.result_code = result_code  # the bureau's own code, when it answered one
        super().__init__(self.detail)

    def __str__(self) -> str:
        bureau = f" (bureau {self.result_code})" if self.result_code else ""
        return f"{self.detail}{bureau} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return message(self.code, "B-000").text(lang)


class TransientError(BureauError):
    """A failure that may pass by itself: the client retries these."""

    code = "B-001"


class NetworkError(TransientError):
    """No connection, a connection reset, or an answer cut short."""

    code = "B-002"


class BureauTimeout(TransientError):
    """The bureau did not answer within the timeouts."""

    code = "B-003"


class ServerError(TransientError):
    """The bureau's server answered HTTP 5xx."""

    code = "B-004"


class CommunicationError(TransientError):
    """The bureau answered its own "network communication error" code."""

    code = "B-005"


class GarbledResponse(TransientError):
    """The answer was damaged in transit: not XML, wrong digest, too large."""

    code = "B-006"


class BureauUnavailable(TransientError):
    """Retries used up or the overall deadline passed; ``last`` is the final failure."""

    code = "B-007"

    def __init__(self, detail: str, last: BureauError, attempts: int) -> None:
        super().__init__(detail)
        self.last = last
        self.attempts = attempts


class TlsError(BureauError):
    """The bureau's TLS certificate did not verify against the configured CA bundle."""

    code = "B-010"


class UntrustedResponse(BureauError):
    """An answer whose signature or identity does not match: never acted upon."""

    code = "B-011"


class UnexpectedAnswer(BureauError):
    """An answer this client does not know how to read (unknown code, odd HTTP status)."""

    code = "B-012"


class NotConnected(BureauError):
    """A business call before a handshake opened a session."""

    code = "B-013"


class NoEndpoint(BureauError):
    """The configuration has no bureau endpoint for the taxpayer's region."""

    code = "B-014"


class CertificateLost(BureauError):
    """证书已挂失: the device certificate was reported lost."""

    code = "B-101"


class CertificateRevoked(BureauError):
    """证书已作废: the device certificate was revoked."""

    code = "B-102"


class CertificateUnknown(BureauError):
    """The bureau does not know this device certificate (证书状态未知)."""

    code = "B-103"


class HandshakeRejected(BureauError):
    """The bureau refused the device's handshake signature."""

    code = "B-104"


class SessionExpired(BureauError):
    """The session timed out or is unknown: open a new one with a handshake."""

    code = "B-105"


class IllegalMessage(BureauError):
    """报文非法: the bureau could not accept the message itself."""

    code = "B-201"


class DuplicateBusinessId(BureauError):
    """A business id the bureau already saw with different content."""

    code = "B-202"


class WrongProvince(BureauError):
    """The taxpayer does not belong to the tax authority that was called."""

    code = "B-203"


class SummaryRejected(BureauError):
    """The bureau could not verify the device's signature over the summary."""

    code = "B-301"


class SummaryConflict(BureauError):
    """This period's summary was accepted before with different content."""

    code = "B-302"


class SummaryPeriodRejected(BureauError):
    """The summary's period cannot be reported now (a month not yet closed)."""

    code = "B-303"


class NotFilingPeriod(BureauError):
    """无上报汇总信息或当前处于非征期，无法进行远程清卡."""

    code = "B-401"


class DeclarationMissing(BureauError):
    """一窗式比对失败: the bureau has no VAT declaration for the period."""

    code = "B-402"


class DeclarationMismatched(BureauError):
    """一窗式比对失败: the declaration does not match the uploaded summary."""

    code = "B-403"


class ClearingDataRejected(BureauError):
    """Clearing data that fails the box's own checks: never written to the device."""

    code = "B-404"


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
