"""A throwaway certificate authority for the fleet broker, its server and the boxes.

The fleet demo, the fleet tests and ``bench.fleet`` run a real mosquitto with TLS. This CA signs
the broker's certificate (for ``localhost`` and the loopback addresses) and one client
certificate per box whose common name is the box id, which mosquitto's
``use_identity_as_username`` turns into the MQTT username the ACL matches. These keys protect
nothing: demo and tests only.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.clock import clock
from simulators.bureau.tls import ca_certificate

_HOSTS = ("localhost", "127.0.0.1", "::1")


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> datetime:
    # OpenSSL checks certificates against the system clock: undo a training shift of the
    # product's clock (QINGKA_CLOCK_SHIFT) so the certificates hold for both.
    product = clock()
    return datetime.fromtimestamp(product.timestamp() - getattr(product, "shift_s", 0.0), UTC)


class FleetCa:
    """A CA in ``directory`` (``ca.pem``, ``ca.key``) that issues server and box certificates."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.cert_path = directory / "ca.pem"
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = ca_certificate(self.key, "QingKa fleet test CA", _now())
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        write_private(directory / "ca.key", _key_pem(self.key))

    def issue(self, name: str, cert_path: Path, key_path: Path, server: bool = False) -> None:
        """Issue a certificate with common name ``name`` (a box id, or the broker's)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server:
            names: list[x509.GeneralName] = []
            for host in _HOSTS:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(
                x509.SubjectAlternativeName(names), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_private(key_path, _key_pem(key))
