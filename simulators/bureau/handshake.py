"""The bureau's side of the handshake: a challenge, the device's signature, a session."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from appliance.bureau import codes, messages
from appliance.bureau.signing import NONCE_SIZE, handshake_message, verify
from appliance.protocol.commands import KIND_GENERAL
from simulators.bureau import keys
from simulators.bureau.refusal import Refusal
from simulators.bureau.store import SessionRow, Store
from simulators.catalog import SimTaxpayer, cert_serial

CHALLENGE_SECONDS = 60
SESSION_SECONDS = 30 * 60
# Challenges live in memory; a flood of hellos that never authenticate must not grow it
# without bound. Past the cap the expired ones are dropped, then the oldest.
_MAX_CHALLENGES = 100_000


@dataclass(frozen=True)
class _Pending:
    taxpayer_id: str
    device_no: str
    cert_serial: str
    client_nonce: bytes
    expires: float  # monotonic


class Handshakes:
    """Issues challenges and turns signed ones into sessions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict[bytes, _Pending] = {}

    def hello(self, taxpayer: SimTaxpayer, hello: messages.Hello) -> messages.Challenge:
        """Check the certificate the device presents and answer a challenge."""
        point = keys.device_point(taxpayer.device_no)
        if hello.public_key != point or hello.cert_serial != cert_serial(point):
            raise Refusal(codes.CERT_UNKNOWN, "certificate not issued to this device")
        if hello.region != taxpayer.region:
            raise Refusal(codes.ILLEGAL_MESSAGE, "region code is not the taxpayer's")
        nonce = secrets.token_bytes(NONCE_SIZE)
        pending = _Pending(
            taxpayer.taxpayer_id,
            taxpayer.device_no,
            hello.cert_serial,
            hello.client_nonce,
            time.monotonic() + CHALLENGE_SECONDS,
        )
        with self._lock:
            if len(self._pending) >= _MAX_CHALLENGES:
                self._prune()
            self._pending[nonce] = pending
        return messages.Challenge(nonce, CHALLENGE_SECONDS)

    def auth(
        self, taxpayer: SimTaxpayer, authority: str, auth: messages.Auth
    ) -> messages.SessionGrant:
        """Check the signed challenge (each is good once) and open a session."""
        with self._lock:
            pending = self._pending.pop(auth.nonce, None)
        if pending is None or pending.expires < time.monotonic():
            raise Refusal(codes.HANDSHAKE_FAILED, "challenge unknown, used or expired")
        if (pending.taxpayer_id, pending.device_no, pending.client_nonce) != (
            taxpayer.taxpayer_id,
            taxpayer.device_no,
            auth.client_nonce,
        ):
            raise Refusal(codes.HANDSHAKE_FAILED, "challenge was issued to another device")
        signed = handshake_message(
            auth.nonce,
            auth.client_nonce,
            pending.taxpayer_id,
            pending.device_no,
            pending.cert_serial,
        )
        if not verify(keys.device_key(taxpayer.device_no), signed, auth.signature):
            raise Refusal(codes.HANDSHAKE_FAILED, "signature does not verify")
        session_id = secrets.token_hex(16)
        self.store.add_session(
            SessionRow(
                session_id,
                taxpayer.taxpayer_id,
                taxpayer.device_no,
                authority,
                time.time() + SESSION_SECONDS,
            )
        )
        kind = "general" if taxpayer.kind == KIND_GENERAL else "small"
        return messages.SessionGrant(session_id, SESSION_SECONDS, kind)

    def check_session(self, session_id: str, taxpayer: SimTaxpayer, authority: str) -> None:
        """Refuse a business call whose session is not open for this device and authority."""
        session = self.store.session(session_id) if session_id else None
        if (
            session is None
            or session.expires < time.time()
            or (session.taxpayer_id, session.device_no, session.authority)
            != (taxpayer.taxpayer_id, taxpayer.device_no, authority)
        ):
            raise Refusal(codes.SESSION_INVALID)

    def _prune(self) -> None:
        now = time.monotonic()
        for nonce in [n for n, p in self._pending.items() if p.expires < now]:
            del self._pending[nonce]
        while len(self._pending) >= _MAX_CHALLENGES:
            del self._pending[next(iter(self._pending))]
