"""For driver tests only: verify a PIN straight on the device, with no guard.

The product never does this (its one path is ``PinGuard.verify``); driver tests talk to a fresh
simulated device whose tries nobody else counts.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice


def trusting(device: NisecDevice, pin: str) -> Callable[[Identity], None]:
    """Return a verifier that sends ``pin`` to ``device`` every time."""

    def verify(identity: Identity) -> None:
        device.verify_pin(pin)

    return verify
