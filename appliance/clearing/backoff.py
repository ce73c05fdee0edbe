"""When to try again: the retry schedule after each kind of outcome."""

from __future__ import annotations

from appliance.clearing.outcomes import Outcome, OutcomeKind

# After ``retry-later``: the first retry within a minute, then slower, never slower than the
# regular check. Network and device hiccups mostly pass within seconds to minutes.
RETRY_SCHEDULE_S = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0)
# After a declaration refusal the shop may file at any moment: look again every hour.
DECLARATION_RECHECK_S = 3600.0
# The mark classify puts on outcomes that the shop's own filing resolves.
RECHECK_DECLARATION = "declaration"


def retry_delay(outcome: Outcome, consecutive_failures: int) -> float | None:
    """Return seconds until the box tries again by itself, or ``None`` (a person must act)."""
    if outcome.kind is OutcomeKind.RETRY_LATER:
        index = min(max(consecutive_failures, 1), len(RETRY_SCHEDULE_S)) - 1
        return RETRY_SCHEDULE_S[index]
    if (
        outcome.kind is OutcomeKind.NEEDS_HUMAN
        and outcome.extra.get("recheck") == RECHECK_DECLARATION
    ):
        return DECLARATION_RECHECK_S
    return None
