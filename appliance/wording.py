"""The shape of every message the box shows people: what happened and what to do, zh and en."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """A message for people: what happened and what to do, in both languages."""

    zh: str
    en: str
    action_zh: str
    action_en: str

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return (self.zh, self.action_zh) if lang == "zh" else (self.en, self.action_en)
