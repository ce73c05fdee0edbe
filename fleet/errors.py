"""The error tree of the fleet side: each error has a stable code and words in both languages."""

from __future__ import annotations


class FleetSideError(Exception):
    """A fleet-side problem: a code, English and Chinese."""

    code = "G-000"

    def __init__(self, message_en: str, message_zh: str, code: str | None = None) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message_en} [{self.code}]"


class PayloadError(FleetSideError):
    """A message from a box that the fleet refuses to read (too large, not the schema)."""

    code = "G-400"


class BrokerError(FleetSideError):
    """The broker cannot be reached or refused the fleet's login."""

    code = "G-503"


class StoreError(FleetSideError):
    """The fleet store cannot be opened or written."""

    code = "G-507"
