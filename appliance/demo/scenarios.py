"""What each demo scenario sets up and which outcome it is expected to end with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.clearing.outcomes import OutcomeKind
from simulators.bureau.ctl import AdminClient

BureauSetup = Callable[[AdminClient, str], None]


def _nothing(admin: AdminClient, taxpayer_id: str) -> None:
    """Leave the bureau as it starts: certificate valid, declaration filed."""


def _declaration_missing(admin: AdminClient, taxpayer_id: str) -> None:
    admin.set_declaration(taxpayer_id, "missing")


def _declaration_mismatched(admin: AdminClient, taxpayer_id: str) -> None:
    admin.set_declaration(taxpayer_id, "mismatched")


def _certificate_revoked(admin: AdminClient, taxpayer_id: str) -> None:
    admin.set_certificate(taxpayer_id, "revoked")


@dataclass(frozen=True)
class DemoScenario:
    """One demo scenario."""

    device: str  # the device simulator's scenario
    zh: str
    en: str
    expect: OutcomeKind
    bureau: BureauSetup = _nothing
    index: int = 0  # simulated taxpayer
    bureau_down: bool = False


SCENARIOS: dict[str, DemoScenario] = {
    "needs-clearing": DemoScenario(
        "needs-clearing",
        "本月待清卡的税务UKey，一键清卡",
        "A UKey due for clearing",
        OutcomeKind.DONE,
    ),
    "multi-type": DemoScenario(
        "multi-type",
        "三个票种（专票、普票、电子普票）一次清卡",
        "Three invoice types at once",
        OutcomeKind.DONE,
    ),
    "small-scale": DemoScenario(
        "small-scale", "小规模纳税人清卡", "A small-scale taxpayer", OutcomeKind.DONE, index=1
    ),
    "locked": DemoScenario(
        "locked",
        "已过征期、设备已锁定，补报后仍可清卡",
        "Past the deadline and locked; still clears",
        OutcomeKind.DONE,
    ),
    "reported-not-cleared": DemoScenario(
        "reported-not-cleared", "已抄税但未清卡", "Reported, not cleared", OutcomeKind.DONE
    ),
    "already-cleared": DemoScenario(
        "already-cleared",
        "本期已经清过卡",
        "Already cleared this month",
        OutcomeKind.ALREADY_CLEARED,
    ),
    "declaration-missing": DemoScenario(
        "needs-clearing",
        "尚未申报：一窗式比对失败",
        "No declaration filed: comparison fails",
        OutcomeKind.NEEDS_HUMAN,
        _declaration_missing,
    ),
    "declaration-mismatched": DemoScenario(
        "needs-clearing",
        "申报与汇总不一致：一窗式比对失败",
        "Declaration does not match",
        OutcomeKind.NEEDS_HUMAN,
        _declaration_mismatched,
    ),
    "certificate-revoked": DemoScenario(
        "needs-clearing",
        "设备证书已作废",
        "Device certificate revoked",
        OutcomeKind.NEEDS_HUMAN,
        _certificate_revoked,
    ),
    "network-down": DemoScenario(
        "needs-clearing",
        "税务局连不上：本机稍后自动重试",
        "Bureau unreachable: retries later",
        OutcomeKind.RETRY_LATER,
        bureau_down=True,
    ),
    "wrong-pin": DemoScenario(
        "wrong-pin",
        "设备密码不对：只试一次，不会锁死证书",
        "Wrong PIN: tried once only",
        OutcomeKind.NEEDS_HUMAN,
    ),
    "zombie": DemoScenario(
        "zombie",
        "多月未抄报：需到税务机关处理",
        "Months behind: tax hall visit",
        OutcomeKind.NEEDS_HUMAN,
    ),
    "training": DemoScenario(
        "training", "培训测试盘：不清卡", "Training device: never cleared", OutcomeKind.NEEDS_HUMAN
    ),
    "offline-pending": DemoScenario(
        "offline-pending",
        "有离线发票未上传",
        "Offline invoices not uploaded",
        OutcomeKind.NEEDS_HUMAN,
    ),
}
