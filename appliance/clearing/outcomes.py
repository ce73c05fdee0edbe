"""How a clearing attempt ends, in words for people and in a class for machines.

Five kinds, each with a stable code: ``done`` and ``already-cleared`` are success; ``not-due``
means nothing to do yet (with the date it will be); ``needs-human`` means the box cannot fix it
alone and says who must do what; ``retry-later`` means the box will try again by itself (and says
when). The scheduler, the CLI's exit code and the kiosk's colours all read the kind only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class OutcomeKind(enum.Enum):
    """The class of an outcome."""

    DONE = "done"
    ALREADY_CLEARED = "already-cleared"
    NOT_DUE = "not-due"
    NEEDS_HUMAN = "needs-human"
    RETRY_LATER = "retry-later"

    @property
    def success(self) -> bool:
        """Tell whether the device is cleared for the period."""
        return self in (OutcomeKind.DONE, OutcomeKind.ALREADY_CLEARED)


# CLI exit code of each kind (documented in the README).
EXIT_CODES = {
    OutcomeKind.DONE: 0,
    OutcomeKind.ALREADY_CLEARED: 0,
    OutcomeKind.NOT_DUE: 10,
    OutcomeKind.RETRY_LATER: 20,
    OutcomeKind.NEEDS_HUMAN: 30,
}


@dataclass(frozen=True)
class Outcome:
    """The end of one clearing attempt."""

    kind: OutcomeKind
    code: str
    message_zh: str
    message_en: str
    action_zh: str = ""
    action_en: str = ""
    device_no: str = ""
    period: int | None = None
    new_lock_date: date | None = None
    due_date: date | None = None
    retry_at: datetime | None = None
    locked: bool = False
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # When the attempt ended (set when it is announced), and whether a person tapping "try
    # again now" can change anything (a wrong PIN, a training device: no).
    at: datetime | None = None
    retry_helps: bool = False

    def message(self, lang: str) -> str:
        """Return what happened in ``lang``."""
        return self.message_zh if lang == "zh" else self.message_en

    def action(self, lang: str) -> str:
        """Return what to do in ``lang``."""
        return self.action_zh if lang == "zh" else self.action_en

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""

        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "kind": self.kind.value,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "action_zh": self.action_zh,
            "action_en": self.action_en,
            "device_no": self.device_no,
            "period": self.period,
            "new_lock_date": iso(self.new_lock_date),
            "due_date": iso(self.due_date),
            "retry_at": iso(self.retry_at),
            "locked": self.locked,
            "detail": self.detail,
            "at": iso(self.at),
            "retry_helps": self.retry_helps,
            **self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """Rebuild an outcome stored as JSON."""

        def day(value: Any) -> date | None:
            return date.fromisoformat(value) if value else None

        def moment(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        known = {
            "kind",
            "code",
            "message_zh",
            "message_en",
            "action_zh",
            "action_en",
            "device_no",
            "period",
            "new_lock_date",
            "due_date",
            "retry_at",
            "locked",
            "detail",
            "at",
            "retry_helps",
        }
        return cls(
            kind=OutcomeKind(data["kind"]),
            code=data["code"],
            message_zh=data.get("message_zh", ""),
            message_en=data.get("message_en", ""),
            action_zh=data.get("action_zh", ""),
            action_en=data.get("action_en", ""),
            device_no=data.get("device_no", ""),
            period=data.get("period"),
            new_lock_date=day(data.get("new_lock_date")),
            due_date=day(data.get("due_date")),
            retry_at=moment(data.get("retry_at")),
            locked=bool(data.get("locked", False)),
            detail=data.get("detail", ""),
            extra={k: v for k, v in data.items() if k not in known},
            at=moment(data.get("at")),
            retry_helps=bool(data.get("retry_helps", False)),
        )
