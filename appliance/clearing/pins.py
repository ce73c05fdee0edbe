"""The one way the box sends a PIN: once, and never again after the device rejected it.

Every wrong PIN costs one of a handful of tries and the last one locks the certificate, which
only the tax office can undo. So a rejected PIN is remembered (as a digest) in the journal, which
survives restarts, and is not sent again until the configured PIN changes.
"""

from __future__ import annotations

from appliance.clearing.journal import Journal, pin_digest
from appliance.devices import errors as dev
from appliance.devices.nisec import NisecDevice


def verify_pin_once(device: NisecDevice, journal: Journal, device_no: str, pin: str) -> None:
    """Verify ``pin`` on the device unless this very PIN was rejected before."""
    rejection = journal.pin_rejection(device_no)
    if rejection is not None and rejection[0] == pin_digest(device_no, pin):
        if rejection[1] == 0:
            raise dev.CertificateLocked("", device.url)
        raise dev.PinRejected(rejection[1], device.url)
    try:
        device.verify_pin(pin)
    except dev.PinRejected as exc:
        journal.record_pin_rejection(device_no, pin, exc.tries_left)
        raise
    except dev.CertificateLocked:
        journal.record_pin_rejection(device_no, pin, 0)
        raise
    if rejection is not None:
        journal.clear_pin_rejection(device_no)
