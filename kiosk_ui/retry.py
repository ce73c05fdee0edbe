"""Where a "try again now" button can help, by outcome kind and code.

Only where the person in front of the box can change something and try at once: the network or
the bureau came back, the declaration was filed, the device was plugged in again. Never for a
wrong or locked PIN (a person must set the PIN; the box never retries one), a zombie or training
device, a certificate problem, or anything only the tax office or support can fix.
"""

from __future__ import annotations

from typing import Any

RETRY_KINDS = frozenset({"retry-later"})
# needs-human codes a person can fix on the spot, each with why.
RETRY_CODES = frozenset(
    {
        "B-401",  # summary not uploaded or outside the filing period: the box reports first
        "B-402",  # declaration missing: once filed on the e-tax website, clearing goes through
        "B-403",  # declaration corrected on the e-tax website
        "B-104",  # handshake refused: replugging the device usually fixes it
        "B-301",  # summary signature: copy tax again
        "B-404",  # clearing data failed the box's checks: a new request gets new data
        "D-000",  # device errors whose action is "unplug, plug in again and retry"
        "D-001",
        "D-002",
        "D-003",
        "D-004",
        "D-103",
        "D-205",  # offline invoices uploaded in the invoicing software
        "D-209",
        "J-401",  # interrupted job: it resumes
    }
)
NEVER_RETRY_CODES = frozenset({"D-101", "D-102", "D-206", "D-207"})


def retry_helps(outcome: dict[str, Any]) -> bool:
    """Tell whether a "try again now" button belongs on the result of ``outcome``."""
    code = str(outcome.get("code", ""))
    if code in NEVER_RETRY_CODES:
        return False
    return outcome.get("kind") in RETRY_KINDS or (
        outcome.get("kind") == "needs-human" and code in RETRY_CODES
    )
