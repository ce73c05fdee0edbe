"""Enrollment requests: how a box's public key reaches the office.

A box writes ``QINGKA/enroll/<box-id>.json`` when it finds a stick with no bundle, an
enrollment stick, or a bundle it cannot use (made for another box or another key)::

    {"format": "qingka-enroll/1", "box_id": "qk-0123456789ab",
     "public_key": "<base64 X25519>", "key_id": "<16 hex>", "created": ISO,
     "version": "0.1.0", "applied_serial": 0}

The request is not signed (an X25519 key cannot sign): the office checks ``key_id`` against
what the box's kiosk or report shows before making a bundle for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from appliance.clock import clock
from provisioning.errors import BadEnrollment
from provisioning.fields import Fields, load_json
from provisioning.identity import BoxIdentity, public_from_text, public_key_id
from provisioning.manifest import BOX_ID
from provisioning.signing import KEY_ID

ENROLL_FORMAT = "qingka-enroll/1"
MAX_REQUEST_BYTES = 4096


@dataclass(frozen=True)
class Request:
    """One box's enrollment request."""

    box_id: str
    public_key: str
    key_id: str
    created: str
    version: str
    applied_serial: int


def request_bytes(identity: BoxIdentity, version: str, applied_serial: int) -> bytes:
    """Return the request file for this box."""
    data = {
        "format": ENROLL_FORMAT,
        "box_id": identity.box_id,
        "public_key": identity.public_text,
        "key_id": identity.key_id,
        "created": clock().stamp(),
        "version": version,
        "applied_serial": applied_serial,
    }
    return json.dumps(data, indent=2).encode("utf-8") + b"\n"


def parse(raw: bytes) -> Request:
    """Read a request; :class:`BadEnrollment` if it is damaged or its key id does not fit."""
    fields = Fields(
        load_json(raw, MAX_REQUEST_BYTES, BadEnrollment, "enrollment"), BadEnrollment, ""
    )
    fields.only(
        ("format", "box_id", "public_key", "key_id", "created", "version", "applied_serial")
    )
    if fields.data.get("format") != ENROLL_FORMAT:
        raise fields.fail("format", f"must be {ENROLL_FORMAT!r}")
    public_text = fields.text("public_key", 64)
    try:
        public = public_from_text(public_text)
    except ValueError as exc:
        raise fields.fail("public_key", str(exc)) from None
    kid = fields.text("key_id", 16, KEY_ID)
    if public_key_id(public) != kid:
        raise fields.fail("key_id", "does not belong to the public key")
    return Request(
        box_id=fields.text("box_id", 15, BOX_ID),
        public_key=public_text,
        key_id=kid,
        created=fields.text("created", 40),
        version=fields.text("version", 40),
        applied_serial=fields.integer("applied_serial", 0, 2**53),
    )
