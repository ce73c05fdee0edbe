"""The report a box writes back to the stick: what it did, who it is, how it is, no secrets.

``QINGKA/reports/<box-id>-<YYYYMMDDTHHMMSS>.json`` for the office's tools and a ``.txt`` twin
for people (Chinese first, English after). Every string that goes out passes the
:class:`Redactor`, which knows the secrets of the bundle just applied, so even a log line that
somehow quoted one is cut before it reaches the stick.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from provisioning.errors import words_for
from provisioning.updates import UpdateResult

FORMAT = "qingka-report/1"
REDACTED = "[已隐藏 redacted]"
# Shorter strings (a 4-digit PIN) are redacted too: "0000" in a log line is not worth the risk.
MIN_SECRET = 4


class Redactor:
    """Cuts known secret values out of everything written out."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets: list[str] = []
        self.add(secrets or [])

    def add(self, secrets: list[str]) -> None:
        """Learn more secret values (longest first, so a PIN inside a password goes whole)."""
        found = {s for s in self.secrets} | {s for s in secrets if len(s) >= MIN_SECRET}
        # A keyfile is a secret as a whole, and each of its lines may be one on its own.
        for value in list(found):
            found.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)
        self.secrets = sorted(found, key=len, reverse=True)

    def text(self, value: str) -> str:
        """Return ``value`` without any known secret."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        """Return a JSON-like structure with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, dict):
            return {str(key): self.data(item) for key, item in value.items()}
        return value


def versions(os_release: Path) -> dict[str, str]:
    """Return the software versions a technician asks for."""
    try:
        version = metadata.version("qingka-box")
    except metadata.PackageNotFoundError:
        version = "unknown"
    image = "unknown"
    try:
        for line in os_release.read_text("utf-8", errors="replace").splitlines()[:50]:
            if line.startswith("PRETTY_NAME="):
                image = line.split("=", 1)[1].strip().strip('"')[:100]
    except OSError:
        pass  # no os-release: the image line says unknown
    return {
        "qingka": version,
        "python": platform.python_version(),
        "system": platform.platform()[:100],
        "image": image,
    }


@dataclass
class Outcome:
    """What one apply came to; the report, the kiosk and the fleet event are made from it."""

    result: str  # applied, enrolled, refused, failed
    code: str
    detail: str = ""
    box_id: str = ""
    public_key: str = ""
    key_id: str = ""
    site: str | None = None
    serial: int | None = None
    previous_serial: int = 0
    signed_by: str | None = None
    generation: str | None = None
    restarted: list[dict[str, object]] = field(default_factory=list)
    # Services whose files changed but that were left alone: the paths are below a root.
    not_restarted: list[str] = field(default_factory=list)
    update: UpdateResult | None = None
    warnings: list[str] = field(default_factory=list)
    enrollment: bytes | None = None  # an enrollment request to write to the stick
    daemon_restarted: bool = False  # it ran and was restarted: the report waits for it

    @property
    def ok(self) -> bool:
        """Tell whether the box did what the stick asked (applied, or wrote its request)."""
        return self.result in ("applied", "enrolled")

    def words(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang``."""
        what, action = words_for(self.code).text(lang)
        if self.detail:
            what = f"{what}（{self.detail}）" if lang == "zh" else f"{what} ({self.detail})"
        return what, action

    def summary(self) -> dict[str, Any]:
        """Return the fields the kiosk status and the fleet event share."""
        zh, action_zh = self.words("zh")
        en, action_en = self.words("en")
        return {
            "result": self.result,
            "code": self.code,
            "message_zh": zh,
            "message_en": en,
            "action_zh": action_zh,
            "action_en": action_en,
            "box_id": self.box_id,
            "serial": self.serial,
        }


def build(
    outcome: Outcome,
    at: str,
    health: dict[str, Any],
    logs: list[str],
    own_log: list[str],
    software: dict[str, str],
    redactor: Redactor,
) -> tuple[dict[str, Any], str]:
    """Return the report as JSON data and as text, both redacted."""
    data = {
        "format": FORMAT,
        "at": at,
        **outcome.summary(),
        "detail": outcome.detail,
        "box": {
            "id": outcome.box_id,
            "site": outcome.site,
            "public_key": outcome.public_key,
            "key_id": outcome.key_id,
        },
        "bundle": {
            "serial": outcome.serial,
            "previous_serial": outcome.previous_serial,
            "signed_by": outcome.signed_by,
            "generation": outcome.generation,
        },
        "restarted": outcome.restarted,
        "not_restarted": outcome.not_restarted,
        "update": outcome.update.to_json() if outcome.update else None,
        "warnings": outcome.warnings,
        "versions": software,
        "health": health,
        "provision_log": own_log,
        "log": logs,
    }
    data = redactor.data(data)
    return data, redactor.text(_text(data))


def _text(data: dict[str, Any]) -> str:
    health = data["health"]
    daemon = {
        "answers": "清卡服务正常响应 / the clearing daemon answers",
        "does not answer": "清卡服务没有响应 / the clearing daemon does not answer",
    }.get(str(health.get("daemon")), f"清卡服务状态 / daemon: {health.get('daemon')}")
    bundle = data["bundle"]
    lines = [
        "QingKa 清卡盒配置报告 / QingKa Box provisioning report",
        f"时间 / time: {data['at']}",
        "",
        f"结果：{data['message_zh']} [{data['code']}]",
        f"下一步：{data['action_zh']}",
        f"Result: {data['message_en']} [{data['code']}]",
        f"Next: {data['action_en']}",
        "",
        f"盒子编号 / box id: {data['box']['id']}",
        f"公钥指纹 / key fingerprint: {data['box']['key_id']}",
        f"公钥 / public key: {data['box']['public_key']}",
        f"配置包序号 / bundle serial: {bundle['serial']} "
        f"(之前 / before: {bundle['previous_serial']})",
        f"签名密钥 / signed by: {bundle['signed_by']}",
        f"配置版本 / generation: {bundle['generation']}",
    ]
    for item in data["restarted"]:
        state = "成功 / ok" if item["ok"] else f"失败 / failed ({item['code']})"
        lines.append(f"重启 / restarted: {item['service']}: {state}")
    if data["not_restarted"]:
        lines.append(
            f"未重启（--root）/ not restarted (--root): {', '.join(data['not_restarted'])}"
        )
    if data["update"]:
        lines.append(f"系统更新 / update: {data['update']['detail']}")
    for warning in data["warnings"]:
        lines.append(f"注意 / warning: {warning}")
    software = data["versions"]
    lines += [
        f"软件版本 / software: qingka {software['qingka']}, Python {software['python']}, "
        f"{software['image']}",
        "",
        f"健康 / health: {daemon}",
    ]
    for device in health.get("devices") or []:
        stages = ", ".join(f"{s['type']} {s['stage']} {s['lock_date']}" for s in device["stages"])
        lines.append(
            f"  设备 / device {device.get('device_no') or device.get('url')}: "
            f"{'在线 / present' if device.get('present') else '不在线 / absent'} {stages}"
            + (f" [{device['error']}]" if device.get("error") else "")
        )
    lines += ["", "配置过程 / provisioning log:", *data["provision_log"]]
    lines += ["", f"最近日志 / last log lines ({len(data['log'])}):", *data["log"]]
    return "\n".join(lines) + "\n"
