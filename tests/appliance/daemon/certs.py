"""A CA certificate file the TLS context loads, for configurations that pass the start checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulators.bureau.tls import ca_certificate


def write_ca(path: Path) -> Path:
    """Write a self-signed CA certificate (PEM) to ``path`` and return it."""
    # Loading a CA checks its form, not its dates: any fixed moment will do.
    cert = ca_certificate(
        ec.generate_private_key(ec.SECP256R1()), "test CA", datetime(2026, 1, 1, tzinfo=UTC)
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path
