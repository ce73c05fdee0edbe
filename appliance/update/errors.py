"""Every error of an update: one tree, stable codes, and plain words for each code.

Callers decide by *type*: a :class:`BundleRejected` (bad signature, damaged, meant for another
product, older than what runs) will never install, so retrying it is pointless; a
:class:`DownloadFailed` may work next time; an :class:`UpdateUnavailable` means the box's update
service is not there (a lab machine, or a broken image).
"""

from __future__ import annotations

from appliance.wording import message


class UpdateError(Exception):
    """Root of every update error."""

    code = "U-000"

    def __init__(self, detail: str = "") -> None:
        self.detail = detail or message(self.code, "U-000").en
        super().__init__(self.detail)

    def __str__(self) -> str:
        return f"{self.detail} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return message(self.code, "U-000").text(lang)


class BundleMissing(UpdateError):
    """The bundle file does not exist or cannot be opened."""

    code = "U-101"


class BundleRejected(UpdateError):
    """A bundle that will never install, whatever is retried."""

    code = "U-000"


class SignatureUntrusted(BundleRejected):
    """The bundle is signed by a key outside the box's keyring (or not signed)."""

    code = "U-102"


class BundleCorrupt(BundleRejected):
    """The bundle's bytes do not match its signature, or it is not a bundle at all."""

    code = "U-103"


class Incompatible(BundleRejected):
    """The bundle's ``compatible`` is not this product's."""

    code = "U-104"


class VersionTooOld(BundleRejected):
    """The bundle's version is older than the running system or the anti-rollback floor."""

    code = "U-105"


class BundleTooLarge(BundleRejected):
    """A download grew past its size cap."""

    code = "U-106"


class InstallFailed(UpdateError):
    """The install started and failed; RAUC leaves the booted slot as it was."""

    code = "U-107"


class UpdateUnavailable(UpdateError):
    """The RAUC service (or its command) cannot be reached."""

    code = "U-108"


class UpdateBusy(UpdateError):
    """Another installation is running."""

    code = "U-109"


class DownloadFailed(UpdateError):
    """A transient network failure: refused, reset, timed out, an HTTP error status."""

    code = "U-201"


class ChecksumMismatch(BundleRejected):
    """The downloaded bytes do not hash to the sha256 the command named."""

    code = "U-202"


class ServerUntrusted(UpdateError):
    """The HTTPS server's certificate does not verify against the given CA."""

    code = "U-203"


class NoRoom(UpdateError):
    """The data partition cannot hold the download."""

    code = "U-204"


class BadRequest(UpdateError):
    """A URL, checksum or version string that is not of the accepted form."""

    code = "U-205"


class HealthCheckFailed(UpdateError):
    """The daemon does not answer, or cannot write its data directory."""

    code = "U-301"


def describe(error: UpdateError, lang: str = "zh") -> str:
    """Return one plain sentence for ``error``: what happened, what to do, and the code."""
    what, action = error.text(lang)
    separator = "。" if lang == "zh" else ". "
    return f"{what}{separator}{action}{'。' if lang == 'zh' else '.'} [{error.code}]"
