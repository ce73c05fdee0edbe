"""One HTTPS POST to the bureau, with every way it can fail turned into a typed error.

TLS is always verified against the configured CA bundle. The answer is read as a stream with
two bounds: a size cap (checked against Content-Length first, then while reading) and the
attempt's deadline, so a bureau that trickles its answer a byte at a time cannot hold the box
for longer than the read timeout between bytes would allow.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path

import requests
import urllib3
from requests.adapters import HTTPAdapter

from appliance.bureau.errors import (
    BureauTimeout,
    GarbledResponse,
    NetworkError,
    ServerError,
    TlsError,
)

_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    # No compression: a compressed answer could expand far beyond the size cap.
    "Accept-Encoding": "identity",
    "User-Agent": "QingKaBox/1",
}
_CHUNK = 8192


class Transport:
    """A keep-alive HTTPS session to the bureau."""

    def __init__(
        self,
        ca_bundle: Path,
        max_response_bytes: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ca_bundle = str(ca_bundle)
        self.max_response_bytes = max_response_bytes
        self.monotonic = monotonic
        self.session = requests.Session()
        # Environment variables (REQUESTS_CA_BUNDLE, proxies) must not override the configured
        # CA bundle or send tax data through a proxy nobody configured.
        self.session.trust_env = False
        self.session.headers.update(_HEADERS)
        # Retrying is the client's decision, made by error type: urllib3 must not retry on its
        # own, or an upload could be sent twice without the client knowing.
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def post(
        self, url: str, body: bytes, connect_timeout: float, read_timeout: float, deadline: float
    ) -> tuple[int, bytes]:
        """POST ``body``; return (HTTP status, answer bytes) for any status below 500."""
        try:
            response = self.session.post(
                url,
                data=body,
                timeout=(connect_timeout, read_timeout),
                verify=self.ca_bundle,
                stream=True,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            if _certificate_failure(exc):
                raise TlsError(f"{url}: {exc}") from exc
            raise NetworkError(f"TLS connection to {url} failed: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise BureauTimeout(f"{url}: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise NetworkError(f"{url}: {exc}") from exc
        try:
            if response.status_code >= 500:
                raise ServerError(f"{url} answered HTTP {response.status_code}")
            return response.status_code, self._read(url, response, deadline)
        finally:
            response.close()

    def _read(self, url: str, response: requests.Response, deadline: float) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise GarbledResponse(
                f"{url} announced {declared} bytes, above the cap of {self.max_response_bytes}"
            )
        data = bytearray()
        # read1 returns whatever has arrived instead of waiting for a whole chunk, so the
        # deadline is checked at every piece of a trickled answer.
        stream: urllib3.HTTPResponse = response.raw
        while True:
            try:
                chunk = stream.read1(_CHUNK)
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise BureauTimeout(f"{url}: answer stalled: {exc}") from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise NetworkError(f"{url}: answer cut short: {exc}") from exc
            if not chunk:
                break
            data += chunk
            if len(data) > self.max_response_bytes:
                raise GarbledResponse(f"{url} answered more than {self.max_response_bytes} B")
            if self.monotonic() > deadline:
                raise BureauTimeout(f"{url} took too long to send its answer")
        if declared.isdigit() and len(data) != int(declared):
            raise NetworkError(f"{url}: answer of {len(data)} bytes, {declared} announced")
        return bytes(data)


def _certificate_failure(exc: BaseException) -> bool:
    """Tell whether an SSL error is a failed certificate check rather than a broken link."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError | ssl.CertificateError):
            return True
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        pending.extend(item.args)
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)
