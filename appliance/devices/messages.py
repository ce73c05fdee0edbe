"""What each device error means to a person: plain words in Chinese and English, and what to do.

The exception classes carry technical detail for logs; these texts are what a shop or a
technician reads. Keyed by the stable error code, so a screen, the CLI and the fleet agree.
"""

from __future__ import annotations

from appliance.devices.errors import DeviceError
from appliance.wording import Message

MESSAGES: dict[str, Message] = {
    "D-000": Message(
        "税控设备出错",
        "The tax device reported an error",
        "请重新插拔设备后再试",
        "Unplug the device, plug it in again and retry",
    ),
    "D-001": Message(
        "与税控设备通信出错",
        "Communication with the tax device was garbled",
        "请重新插拔设备后再试",
        "Unplug the device, plug it in again and retry",
    ),
    "D-002": Message(
        "未检测到税控设备",
        "The tax device is not connected",
        "请把税控设备插入本机的USB口",
        "Plug the tax device into the box's USB port",
    ),
    "D-003": Message(
        "税控设备被其他程序占用",
        "The tax device is in use by another program",
        "请关闭其他开票软件，稍后本机会自动再试",
        "Close other invoicing software; the box will retry by itself",
    ),
    "D-004": Message(
        "税控设备没有响应",
        "The tax device did not answer",
        "请重新插拔设备后再试",
        "Unplug the device, plug it in again and retry",
    ),
    "D-005": Message(
        "不支持此设备",
        "This device is not supported",
        "请确认插入的是税务UKey或税控盘",
        "Check that a tax UKey or tax disk is plugged in",
    ),
    "D-006": Message(
        "设备地址无法识别",
        "The device address is not understood",
        "请检查设备地址的写法",
        "Check how the device address is written",
    ),
    "D-007": Message(
        "税控设备停止响应（USB端点阻塞）",
        "The tax device stopped taking commands (its USB endpoint stalled)",
        "请重新插拔设备后再试；本机稍后也会自动再试",
        "Unplug the device and plug it in again; the box also retries by itself",
    ),
    "D-008": Message(
        "税控设备返回了不可能的数据（例如不存在的日期）",
        "The tax device answered with impossible data (such as a date that does not exist)",
        "请重新插拔设备后再试；如反复出现，请联系税控服务单位检查设备",
        "Unplug the device and plug it in again; if it keeps happening, "
        "ask the tax device service provider to check it",
    ),
    "D-009": Message(
        "税控设备响应太慢，操作超时",
        "The tax device is too slow: the operation ran out of time",
        "请重新插拔设备后再试；本机稍后也会自动再试",
        "Unplug the device and plug it in again; the box also retries by itself",
    ),
    "D-101": Message(
        "设备密码（PIN）错误",
        "The device PIN is wrong",
        "请核对设备密码后由人工重新设置；本机不会自动重试，以免锁死证书",
        "Check the PIN and set it again by hand; the box never retries a PIN, "
        "so the certificate is not locked",
    ),
    "D-102": Message(
        "密码错误次数过多，证书已锁定",
        "Too many wrong PINs: the certificate is locked",
        "请携带设备到税务机关解锁",
        "Take the device to the tax office to unlock it",
    ),
    "D-103": Message(
        "设备密码尚未验证",
        "The device PIN was not verified",
        "请重新插拔设备后再试",
        "Unplug the device, plug it in again and retry",
    ),
    "D-201": Message(
        "已到开票截止日期，禁止开票",
        "Past the invoicing deadline: the device is locked",
        "请尽快完成申报和清卡",
        "Finish the declaration and clearing as soon as possible",
    ),
    "D-202": Message(
        "未到抄报时间",
        "It is not yet time to report",
        "无需操作，到期后本机会自动处理",
        "Nothing to do; the box acts when it is time",
    ),
    "D-203": Message("本期已清卡", "Already cleared for this period", "无需操作", "Nothing to do"),
    "D-204": Message(
        "无汇总数据",
        "There is no summary data",
        "如本期已清卡则无需操作",
        "If this period is cleared, nothing to do",
    ),
    "D-205": Message(
        "有离线发票未上传",
        "Invoices issued offline are not uploaded yet",
        "请先在开票软件中上传离线发票，完成后本机会自动再试",
        "Upload the offline invoices in the invoicing software first; "
        "the box retries by itself afterwards",
    ),
    "D-206": Message(
        "抄税失败，可能存在多月未正常抄报",
        "Copy tax failed: several months were not reported",
        "无法远程清卡，请携带设备到税务机关办理",
        "This cannot be cleared remotely; take the device to the tax office",
    ),
    "D-207": Message(
        "这是培训测试盘，不能清卡",
        "This is a training device; it is never cleared",
        "请插入正式的税控设备",
        "Plug in the real tax device",
    ),
    "D-208": Message(
        "设备时钟异常（时钟校准因子失效，请重新报税）",
        "The device clock is wrong (clock factor invalid, report again)",
        "请联系税控服务单位检查设备",
        "Ask the tax device service provider to check it",
    ),
    "D-209": Message(
        "本期尚未抄税",
        "This period has not been reported yet",
        "本机会先抄税再清卡，请稍后再试",
        "The box reports first; retry in a moment",
    ),
    "D-210": Message(
        "设备拒绝了清卡数据",
        "The device refused the clearing data",
        "请联系技术支持",
        "Contact technical support",
    ),
    "D-211": Message(
        "设备上没有该票种",
        "This invoice type is not on the device",
        "请检查配置的票种",
        "Check the configured invoice types",
    ),
    "D-299": Message(
        "税控设备拒绝了操作",
        "The tax device refused the operation",
        "请联系技术支持",
        "Contact technical support",
    ),
}


def describe(error: DeviceError, lang: str = "zh") -> str:
    """Return one plain sentence for ``error``: what happened, what to do, and the code."""
    what, action = error.text(lang)
    separator = "。" if lang == "zh" else ". "
    return f"{what}{separator}{action}{'。' if lang == 'zh' else '.'} [{error.code}]"
