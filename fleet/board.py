"""The fleet at a glance: every box's latest state, built from what the boxes publish.

``qingka fleet watch`` fills a board live from the broker (retained messages first, then every
change) or from a collector's store; the rows come out sorted by urgency: a locked or soon-locking
device, one that needs a person, an offline box, come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.health.topics import split_box_topic
from fleet.parse import AlertBody, Health, parse_alert, parse_health, parse_status

NO_DAYS = 10**6


@dataclass
class BoxView:
    """What the fleet knows of one box."""

    site: str
    box: str
    status: str | None = None
    health: Health | None = None
    alerts: dict[str, AlertBody] = field(default_factory=dict)
    availability: dict[str, str] = field(default_factory=dict)


class Board:
    """Every box seen, by (site, box)."""

    def __init__(self) -> None:
        self.boxes: dict[tuple[str, str], BoxView] = {}

    def view(self, site: str, box: str) -> BoxView:
        """Return (creating) the view of one box."""
        return self.boxes.setdefault((site, box), BoxView(site, box))

    def apply(self, topic: str, payload: bytes) -> bool:
        """Take one message; return whether it was a box topic (PayloadError if garbled)."""
        parts = split_box_topic(topic)
        if parts is None:
            return False
        site, box, rest = parts
        view = self.view(site, box)
        if rest == "status":
            view.status = parse_status(payload)
        elif rest == "health":
            if payload:
                health = parse_health(payload)
                if view.health is None or health.at >= view.health.at:
                    view.health = health
            else:
                view.health = None
        elif rest.startswith("alerts/"):
            name = rest.split("/", 1)[1]
            alert = parse_alert(payload)
            if alert is None:
                view.alerts.pop(name, None)
            else:
                view.alerts[name] = alert
        elif rest.startswith("devices/") and rest.endswith("/availability"):
            number = rest.split("/")[1]
            if payload:
                view.availability[number] = parse_status(payload) or "offline"
            else:
                view.availability.pop(number, None)
        else:
            return False
        if view.status is None and view.health is None and not view.alerts:
            del self.boxes[(site, box)]
        return True

    def rows(self) -> list[dict[str, Any]]:
        """Return one row per device (a box without devices gets one row), most urgent first."""
        rows = []
        for view in self.boxes.values():
            devices = view.health.devices if view.health else {}
            alerts = sorted(view.alerts)
            if not devices:
                rows.append(_row(view, None, alerts))
            for number in sorted(devices):
                mine = [a for a in alerts if view.alerts[a].device_no in (None, number)]
                rows.append(_row(view, number, mine))
        rows.sort(key=_urgency)
        return rows


def _row(view: BoxView, number: str | None, alerts: list[str]) -> dict[str, Any]:
    device = view.health.devices.get(number) if view.health and number else None
    job = device.job if device else None
    return {
        "site": view.site,
        "box": view.box,
        "online": view.status == "online",
        "device": number,
        "stage": device.stage if device else None,
        "days_left": device.days_left if device else None,
        "lock_date": device.lock_date if device else None,
        "attention": bool(device.attention) if device else False,
        "last_outcome": (job or {}).get("outcome") or None,
        "last_code": (job or {}).get("code") or None,
        "alerts": alerts,
        "health_at": view.health.at.isoformat() if view.health else None,
    }


def _urgency(row: dict[str, Any]) -> tuple[int, int, int, str, str]:
    open_days = row["days_left"] if row["stage"] not in (None, "cleared") else None
    urgent = row["attention"] or bool(row["alerts"]) or not row["online"]
    return (
        0 if urgent else 1,
        open_days if open_days is not None else NO_DAYS,
        0 if row["online"] else -1,
        row["site"],
        f"{row['box']}/{row['device'] or ''}",
    )


STAGE_WORDS = {
    "needs-report": ("待抄报", "to report"),
    "reported-not-cleared": ("已抄未清", "reported"),
    "cleared": ("已清卡", "cleared"),
}


def render(rows: list[dict[str, Any]], lang: str) -> str:
    """Return the board as a text table."""
    zh = lang == "zh"
    head = (
        ("站点", "盒子", "在线", "设备", "状态", "剩余天数", "上次结果", "告警")
        if zh
        else ("site", "box", "online", "device", "stage", "days left", "last outcome", "alerts")
    )
    table = [head]
    for row in rows:
        stage = STAGE_WORDS.get(row["stage"] or "", ("-", "-"))[0 if zh else 1]
        online = ("是" if zh else "yes") if row["online"] else ("否" if zh else "NO")
        outcome = row["last_outcome"] or "-"
        if row["last_code"]:
            outcome += f" {row['last_code']}"
        table.append(
            (
                row["site"],
                row["box"],
                online,
                row["device"] or "-",
                stage,
                "-" if row["days_left"] is None else str(row["days_left"]),
                outcome,
                ",".join(row["alerts"]) or "-",
            )
        )
    widths = [max(_width(r[i]) for r in table) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(r)).rstrip()
        for r in table
    )


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)
