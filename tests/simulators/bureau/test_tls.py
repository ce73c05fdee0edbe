"""The throwaway CA: kept across restarts, server certificates issued per start."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simulators.bureau.tls import ensure_tls


def test_ca_is_reused_and_server_cert_names_its_hosts(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path, ["127.0.0.1", "bureau.test"])
    ca_pem = first.ca_cert.read_bytes()
    cert = x509.load_pem_x509_certificate(first.server_cert.read_bytes())
    second = ensure_tls(tmp_path, ["127.0.0.1"])
    assert second.ca_cert.read_bytes() == ca_pem
    assert second.server_cert.read_bytes() != cert.public_bytes(serialization.Encoding.PEM)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "bureau.test" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert.verify_directly_issued_by(ca)
    assert first.server_key.stat().st_mode & 0o077 == 0
