"""Fetch a bundle over HTTPS, given its sha256: capped, streamed to the data partition, checked.

The fleet's ``update {url, sha256}`` command and provisioning call :func:`fetch_bundle`, then
:func:`appliance.update.install.install_bundle` on the path it returns. The checksum is the
command's promise about the bytes: they are hashed as they arrive and the file is kept only when
they match, under a name that is the checksum (so a repeated command finds it there).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests

from appliance.update.errors import (
    BadRequest,
    BundleTooLarge,
    ChecksumMismatch,
    DownloadFailed,
    NoRoom,
    ServerUntrusted,
    UpdateError,
)

# A root file system bundle of the box is ~300-600 MiB; the cap stops a wrong URL filling the card.
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
CHUNK = 256 * 1024
CONNECT_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 60.0
# A 4G link at 1 Mbit/s moves 1 GiB in under 3 hours.
TOTAL_TIMEOUT_S = 4 * 3600.0
MAX_URL_LENGTH = 2048
_SHA256 = re.compile(r"[0-9a-f]{64}")

Progress = Callable[[int, int | None], None]


def _check_request(url: str, sha256: str) -> str:
    if len(url) > MAX_URL_LENGTH:
        raise BadRequest(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise BadRequest(f"{url[:200]!r} is not an https:// address")
    digest = sha256.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise BadRequest("the sha256 is not 64 hexadecimal digits")
    return digest


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_error(exc: OSError, path: Path) -> UpdateError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return NoRoom(f"{path}: {exc.strerror}")
    return UpdateError(f"cannot write {path}: {exc.strerror}")


def fetch_bundle(
    url: str,
    sha256: str,
    *,
    dest_dir: Path,
    ca_file: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    total_timeout: float = TOTAL_TIMEOUT_S,
    session: requests.Session | None = None,
) -> Path:
    """Download ``url`` into ``dest_dir`` and return the file's path once its sha256 matches.

    ``ca_file``: the CA bundle the server's certificate must verify against (None: the system's
    CAs). ``progress(received, total)`` is called after each chunk (``total`` None when the
    server does not say). Raises :class:`BadRequest`, :class:`ServerUntrusted`,
    :class:`DownloadFailed` (worth retrying later), :class:`BundleTooLarge`,
    :class:`ChecksumMismatch` or :class:`NoRoom`; no partial file is left behind.
    """
    digest = _check_request(url, sha256)
    target = dest_dir / f"{digest}.raucb"
    if target.is_file() and _hash_file(target) == digest:
        return target
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(exc, dest_dir) from exc
    partial = dest_dir / f".{digest}.partial"
    deadline = time.monotonic() + total_timeout
    http = session or requests.Session()
    try:
        _download(http, url, partial, ca_file, max_bytes, progress, deadline, digest)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        if session is None:
            http.close()
    return target


def _download(
    http: requests.Session,
    url: str,
    partial: Path,
    ca_file: Path | None,
    max_bytes: int,
    progress: Progress | None,
    deadline: float,
    digest: str,
) -> None:
    hasher = hashlib.sha256()
    received = 0
    try:
        with http.get(
            url,
            stream=True,
            verify=str(ca_file) if ca_file is not None else True,
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        ) as response:
            if urlsplit(response.url).scheme != "https":
                raise BadRequest("the server redirected the download away from https")
            if response.status_code != 200:
                raise DownloadFailed(f"the server answered HTTP {response.status_code}")
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced and announced.isdigit() else None
            if total is not None and total > max_bytes:
                raise BundleTooLarge(f"the server announces {total} bytes, over {max_bytes}")
            with partial.open("wb") as handle:
                for chunk in response.iter_content(CHUNK):
                    received += len(chunk)
                    if received > max_bytes:
                        raise BundleTooLarge(f"the download passed {max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise DownloadFailed("the download took too long")
                    hasher.update(chunk)
                    handle.write(chunk)
                    if progress is not None:
                        progress(received, total)
                handle.flush()
                os.fsync(handle.fileno())
            if total is not None and received != total:
                raise DownloadFailed(f"the download stopped at {received} of {total} bytes")
    except requests.exceptions.SSLError as exc:
        raise ServerUntrusted(f"TLS with {urlsplit(url).hostname} failed: {exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise DownloadFailed(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise _write_error(exc, partial) from exc
    if hasher.hexdigest() != digest:
        raise ChecksumMismatch(f"the download hashes to {hasher.hexdigest()}, not {digest}")
