"""What the box says to people: one catalogue keyed by code (``catalog.toml`` beside this file).

Every error tree (device ``D-``, bureau ``B-``, storage ``S-``, update ``U-``, provisioning ``P-``)
and every job outcome (``J-``) takes its words from here, so the kiosk, the command line, the
fleet and a provisioning report say the same thing, and a wording change is made in one place.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

CATALOG_FILE = "catalog.toml"
# Said for a code the catalogue lacks (a newer device firmware, a bureau code added later).
FALLBACK = "J-500"


@dataclass(frozen=True)
class Message:
    """A message for people: what happened and what to do, in both languages."""

    zh: str
    en: str
    action_zh: str
    action_en: str
    retry_helps: bool = False

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return (self.zh, self.action_zh) if lang == "zh" else (self.en, self.action_en)

    def filled(self, **fields: object) -> Message:
        """Return the message with its ``{fields}`` filled in."""
        return Message(
            self.zh.format(**fields),
            self.en.format(**fields),
            self.action_zh.format(**fields),
            self.action_en.format(**fields),
            self.retry_helps,
        )


@cache
def catalog() -> dict[str, Message]:
    """Return every message, by code (read once from the catalogue shipped with the box)."""
    text = resources.files("appliance.wording").joinpath(CATALOG_FILE).read_text("utf-8")
    return {
        code: Message(
            str(entry["zh"]),
            str(entry["en"]),
            str(entry["action_zh"]),
            str(entry["action_en"]),
            bool(entry.get("retry_helps", False)),
        )
        for code, entry in tomllib.loads(text).items()
    }


def message(code: str, default: str = FALLBACK) -> Message:
    """Return the message of ``code``, or of ``default`` (the family's general code) if absent."""
    words = catalog()
    found = words.get(code)
    return found if found is not None else words[default]


def retry_helps(code: str) -> bool:
    """Tell whether a person trying again now can change how ``code`` ends."""
    found = catalog().get(code)
    return found is not None and found.retry_helps
