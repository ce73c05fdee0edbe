"""Fetching a bundle over real HTTPS on loopback, with a throwaway CA."""

from __future__ import annotations

import hashlib
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from appliance.update import fetch_bundle
from appliance.update.errors import (
    BadRequest,
    BundleTooLarge,
    ChecksumMismatch,
    DownloadFailed,
    ServerUntrusted,
)
from tests.image_build.rootfs import NOT_BEFORE, self_signed

BODY = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(BODY).hexdigest()


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_BEFORE + timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves /bundle, /chunked (no length), /short (announces more than it sends), 404."""

    requests: list[str] = []  # noqa: RUF012 - shared by the server's handler instances

    def do_GET(self) -> None:
        Handler.requests.append(self.path)
        if self.path == "/bundle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[:1000])
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    """A client hanging up mid-body (the size cap does) is expected here, not an error."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    ca_key, ca = self_signed("update server test CA")
    key, cert = _server_cert(ca_key, ca)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    _, other = self_signed("someone else's CA")
    (directory / "other-ca.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM))
    server = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield (
        f"https://127.0.0.1:{server.server_address[1]}",
        directory / "ca.pem",
        directory / "other-ca.pem",
    )
    server.shutdown()
    server.server_close()


def test_a_bundle_is_fetched_checked_and_kept_under_its_checksum(
    tls: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, ca, _ = tls
    seen: list[tuple[int, int | None]] = []
    path = fetch_bundle(
        f"{url}/bundle",
        DIGEST.upper(),
        dest_dir=tmp_path,
        ca_file=ca,
        progress=lambda *a: seen.append(a),
    )
    assert path == tmp_path / f"{DIGEST}.raucb"
    assert path.read_bytes() == BODY
    assert seen[-1] == (len(BODY), len(BODY))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    # Asked again (the fleet repeats a command), the file is there: nothing is downloaded.
    before = len(Handler.requests)
    assert fetch_bundle(f"{url}/bundle", DIGEST, dest_dir=tmp_path, ca_file=ca) == path
    assert len(Handler.requests) == before


def test_a_wrong_checksum_keeps_nothing(tls: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, ca, _ = tls
    with pytest.raises(ChecksumMismatch) as caught:
        fetch_bundle(f"{url}/bundle", "0" * 64, dest_dir=tmp_path, ca_file=ca)
    assert caught.value.code == "U-202"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/bundle", "/chunked"])
def test_the_size_cap_holds_with_and_without_a_length(
    tls: tuple[str, Path, Path], tmp_path: Path, path: str
) -> None:
    url, ca, _ = tls
    with pytest.raises(BundleTooLarge):
        fetch_bundle(f"{url}{path}", DIGEST, dest_dir=tmp_path, ca_file=ca, max_bytes=len(BODY) - 1)
    assert list(tmp_path.iterdir()) == []


def test_a_server_the_ca_does_not_vouch_for_is_refused(
    tls: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, _, other = tls
    with pytest.raises(ServerUntrusted):
        fetch_bundle(f"{url}/bundle", DIGEST, dest_dir=tmp_path, ca_file=other)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/missing", "/short"])
def test_http_errors_and_short_bodies_are_worth_a_retry(
    tls: tuple[str, Path, Path], tmp_path: Path, path: str
) -> None:
    url, ca, _ = tls
    with pytest.raises(DownloadFailed) as caught:
        fetch_bundle(f"{url}{path}", DIGEST, dest_dir=tmp_path, ca_file=ca)
    assert caught.value.code == "U-201"
    assert list(tmp_path.iterdir()) == []


def test_nobody_listening_is_worth_a_retry(tmp_path: Path) -> None:
    with pytest.raises(DownloadFailed):
        fetch_bundle("https://127.0.0.1:9/bundle", DIGEST, dest_dir=tmp_path)


@pytest.mark.parametrize(
    ("url", "sha"),
    [
        ("http://127.0.0.1/bundle", DIGEST),
        ("ftp://example/b", DIGEST),
        ("https:///nohost", DIGEST),
        ("https://127.0.0.1/" + "a" * 3000, DIGEST),
        ("https://127.0.0.1/b", "abc"),
        ("https://127.0.0.1/b", "g" * 64),
    ],
)
def test_bad_requests_are_refused_before_any_connection(url: str, sha: str, tmp_path: Path) -> None:
    with pytest.raises(BadRequest):
        fetch_bundle(url, sha, dest_dir=tmp_path)


@given(st.text(max_size=80), st.text(max_size=80))
def test_any_request_text_is_refused_unless_well_formed(url: str, sha: str) -> None:
    if url.startswith("https://") and len(sha.strip()) == 64:
        return
    with pytest.raises(BadRequest):
        fetch_bundle(url, sha, dest_dir=Path("/nonexistent"))
