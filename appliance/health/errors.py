"""The error tree of the fleet link: each error has a stable code and words in both languages."""

from __future__ import annotations


class FleetError(Exception):
    """A fleet problem with a stable code, in English and Chinese."""

    code = "F-000"

    def __init__(self, message_en: str, message_zh: str, code: str | None = None) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message_en} [{self.code}]"

    def to_json(self) -> dict[str, str]:
        """Return the error as the ``error`` object of a command result."""
        return {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}


class CommandRejected(FleetError):
    """A command from the fleet that the box refuses (and that changed nothing)."""

    code = "F-400"
    # Known once the command's id and name were read: the refusal answers that request.
    request_id: str | None = None
    command: str | None = None


class OutboxError(FleetError):
    """The outbox file cannot be opened or written."""

    code = "F-507"
