"""Result codes of the bureau's answers, with the text the bureau sends beside each.

Both sides read this table: the bureau simulator answers with these codes and texts, and the
client maps each code to a typed error (``appliance.bureau.errors``). The texts are the ones a
shop would recognise from the real invoicing software.
"""

from __future__ import annotations

OK = "0000"

CERT_LOST = "1001"
CERT_REVOKED = "1002"
CERT_UNKNOWN = "1003"
HANDSHAKE_FAILED = "1004"
SESSION_INVALID = "1005"

ILLEGAL_MESSAGE = "2001"
MESSAGE_TOO_LARGE = "2002"
DUPLICATE_BUSINESS_ID = "2003"
WRONG_PROVINCE = "2004"
UNKNOWN_SERVICE = "2005"

SUMMARY_SIGNATURE = "3001"
SUMMARY_CONFLICT = "3002"
SUMMARY_PERIOD = "3003"

NO_SUMMARY_OR_NOT_FILING = "4001"
DECLARATION_MISSING = "4002"
DECLARATION_MISMATCH = "4003"

COMMUNICATION_ERROR = "9001"

TEXTS: dict[str, str] = {
    OK: "成功",
    CERT_LOST: "证书已挂失",
    CERT_REVOKED: "证书已作废",
    CERT_UNKNOWN: "证书状态未知",
    HANDSHAKE_FAILED: "身份认证失败",
    SESSION_INVALID: "会话无效或已超时，请重新连接",
    ILLEGAL_MESSAGE: "报文非法",
    MESSAGE_TOO_LARGE: "报文非法：报文过大",
    DUPLICATE_BUSINESS_ID: "报文非法：业务流水号重复",
    WRONG_PROVINCE: "纳税人不属于本地区税务机关",
    UNKNOWN_SERVICE: "报文非法：不支持的业务类型",
    SUMMARY_SIGNATURE: "汇总数据签名验证失败",
    SUMMARY_CONFLICT: "本期汇总数据已上报，且与本次上报内容不一致",
    SUMMARY_PERIOD: "汇总数据所属期不正确",
    NO_SUMMARY_OR_NOT_FILING: "无上报汇总信息或当前处于非征期，无法进行远程清卡",
    DECLARATION_MISSING: "一窗式比对失败：未查询到本期增值税申报信息",
    DECLARATION_MISMATCH: "一窗式比对失败：申报数据与上报汇总数据不一致",
    COMMUNICATION_ERROR: "网络通讯错误，请稍后重试",
}


def text(code: str) -> str:
    """Return the bureau's text for ``code`` (empty for a code this table lacks)."""
    return TEXTS.get(code, "")
