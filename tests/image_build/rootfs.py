"""The boot test's root file system: Debian (mmdebstrap, cached), wheels, throwaway keys.

The Debian part depends only on ``image-build/packages.txt``, so it is built once and kept under
``.cache/boot-test/`` (outside git; ``QINGKA_CACHE_DIR`` moves it); the application is installed
into a fresh copy every run with ``image-build/install.sh``, exactly as on the image.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
IMAGE_BUILD = REPO / "image-build"
PACKAGES = IMAGE_BUILD / "packages.txt"
SUITE = "bookworm"
# A fixed moment for throwaway certificates: no test depends on the real date.
NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)


def cache_dir() -> Path:
    """Return where built root file systems are kept between runs."""
    return Path(os.environ.get("QINGKA_CACHE_DIR") or REPO / ".cache") / "boot-test"


def packages() -> list[str]:
    """Return the Debian packages of the box."""
    names = []
    for line in PACKAGES.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def rootfs_tarball() -> tuple[Path, float | None]:
    """Return the cached Debian tarball (building it if needed) and the build time, if built.

    Two test processes may ask at once: the first builds under a lock, the second waits for it.
    """
    key = hashlib.sha256(("\n".join([SUITE, "apt", *packages()])).encode()).hexdigest()[:16]
    tarball = cache_dir() / f"debian-{SUITE}-{key}.tar"
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with (tarball.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.is_file():
            return tarball, None
        partial = tarball.with_name(f"{tarball.stem}.{os.getpid()}.partial.tar")
        started = time.monotonic()
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=apt",
                f"--include={','.join(packages())}",
                SUITE,
                str(partial),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
        )
        partial.replace(tarball)
        for old in tarball.parent.glob(f"debian-{SUITE}-*.tar"):
            if old != tarball and not old.name.endswith(".partial.tar"):
                old.unlink()
        return tarball, time.monotonic() - started


def extract(tarball: Path, root: Path) -> None:
    """Unpack ``tarball`` into ``root`` with owners, modes and device nodes (we are root)."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True)


# What a wheel is built from: the tree without caches, virtualenvs and build leftovers.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".cache", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def build_wheels(dest: Path) -> None:
    """Build qingka-box and its dependencies as wheels into ``dest``.

    From a copy of the tree: setuptools builds in ``build/`` beside the sources, and two builds
    there at once (another test run, a developer's pip) trip over each other.
    """
    source = dest.parent / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(dest),
            str(source),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def make_trust(dest: Path) -> None:
    """Write a throwaway fleet Ed25519 public key and a RAUC signing CA into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    fleet = ed25519.Ed25519PrivateKey.generate().public_key()
    pem = fleet.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (dest / "fleet-test.pem").write_bytes(pem)
    _, cert = self_signed("QingKa test update CA")
    (dest / "rauc-ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def self_signed(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Return a throwaway P-256 key and a self-signed CA certificate for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_BEFORE + timedelta(days=365 * 30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def install(root: Path, wheels: Path, trust: Path, version: str) -> None:
    """Run the image's install script on ``root``."""
    subprocess.run(
        [
            str(IMAGE_BUILD / "install.sh"),
            "--root",
            str(root),
            "--wheels",
            str(wheels),
            "--trust",
            str(trust),
            "--version",
            version,
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def remove_tree(path: Path) -> None:
    """Remove ``path`` (a root file system: device nodes and all)."""
    shutil.rmtree(path, ignore_errors=True)
