"""Every error of provisioning: one tree, stable codes ``P-…`` and plain words for each.

A refusal is shown to a field technician on the kiosk, in the report written back to the stick
and in the office tool's output: one sentence of what happened and one of what to do, Chinese
first. ``detail`` adds the technical particulars (a file name, a key id, a number) and never holds
a secret: callers pass names and sizes, not contents.
"""

from __future__ import annotations

from appliance.wording import Message, message

# Results that are not errors share the code space, so a report always carries one code.
APPLIED = "P-000"
ENROLLMENT_WRITTEN = "P-010"


class ProvisionError(Exception):
    """Root of every provisioning error; ``code`` and ``words`` say it to people."""

    code = "P-001"

    @property
    def words(self) -> Message:
        """Return what this error says to people (from the box's one catalogue)."""
        return message(self.code, "P-001")

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(detail or self.words.en)

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang``, with the detail in brackets."""
        what, action = self.words.text(lang)
        if self.detail:
            what = f"{what}（{self.detail}）" if lang == "zh" else f"{what} ({self.detail})"
        return what, action

    def __str__(self) -> str:
        zh, _ = self.text("zh")
        en, _ = self.text("en")
        return f"{zh} / {en} [{self.code}]"


# -- reading the stick ---------------------------------------------------------------------------


class StickError(ProvisionError):
    """The stick's files cannot be taken as a bundle."""


class NoStick(StickError):
    """The path given as the stick is not a folder, or holds no ``QINGKA`` folder."""

    code = "P-100"


class NoBundle(StickError):
    code = "P-101"


class UnsafePath(StickError):
    code = "P-102"


class NotRegularFile(StickError):
    code = "P-103"


class TooLarge(StickError):
    code = "P-104"


class TooManyFiles(StickError):
    code = "P-105"


class StickUnreadable(StickError):
    code = "P-106"


class FilesMismatch(StickError):
    code = "P-107"


class StickNotWritten(StickError):
    """The report or the enrollment request could not be written to the stick."""

    code = "P-108"


# -- manifest, signature and trust ---------------------------------------------------------------


class BadManifest(ProvisionError):
    code = "P-201"


class BadSignatureFile(ProvisionError):
    code = "P-202"


class SignatureInvalid(ProvisionError):
    code = "P-203"


class UnknownKey(ProvisionError):
    code = "P-204"


class RevokedKey(ProvisionError):
    code = "P-205"


class HashMismatch(ProvisionError):
    code = "P-206"


class SizeMismatch(ProvisionError):
    code = "P-207"


class WrongBox(ProvisionError):
    code = "P-208"


class Expired(ProvisionError):
    code = "P-209"


class NotNewer(ProvisionError):
    code = "P-210"


class TrustUpdateRefused(ProvisionError):
    code = "P-211"


class BadTrustStore(ProvisionError):
    code = "P-212"


class NoTrustStore(BadTrustStore):
    """No trust store is installed (or the one named does not exist): not a damaged one."""

    code = "P-213"


class TrustStoreNotGiven(NoTrustStore):
    """An office command (verify, inspect) has no trust store: it is given with ``--trust``."""

    @property
    def words(self) -> Message:
        """Return the office's advice (the box's own says to mend its image)."""
        return message(f"{self.code}-office", self.code)


# -- contents ------------------------------------------------------------------------------------


class BadContent(ProvisionError):
    code = "P-301"


class SecretUnreadable(ProvisionError):
    code = "P-302"


class ConfigRefused(ProvisionError):
    code = "P-303"


class BadOfficeConfig(ProvisionError):
    code = "P-304"


class BadEnrollment(ProvisionError):
    code = "P-305"


# -- applying on the box -------------------------------------------------------------------------


class ApplyFailed(ProvisionError):
    code = "P-401"


class Busy(ProvisionError):
    code = "P-402"


class MountFailed(ProvisionError):
    code = "P-403"


class UpdateFailed(ProvisionError):
    code = "P-404"


# A result, not an error: the new configuration stands, but a service still runs the old one.
RESTART_FAILED = "P-405"


# -- keys ----------------------------------------------------------------------------------------


class BoxKeyProblem(ProvisionError):
    code = "P-501"


class SigningKeyProblem(ProvisionError):
    code = "P-502"


def words_for(code: str) -> Message:
    """Return the words of a result or error code (the root error's words if unknown)."""
    return message(code, "P-001")
