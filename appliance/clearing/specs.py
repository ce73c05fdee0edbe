"""What the box is configured to clear: the devices and the scheduling policy.

Kept apart from the scheduler so that reading the configuration imports no threads, devices or
bureau client.
"""

from __future__ import annotations

from dataclasses import dataclass

POLICY_AUTO = "auto"
POLICY_BUTTON = "button-only"
POLICIES = (POLICY_AUTO, POLICY_BUTTON)


@dataclass(frozen=True)
class DeviceSpec:
    """A device the box is configured for (or discovered on USB)."""

    url: str
    pin: str
    expected_taxpayer: str | None = None
