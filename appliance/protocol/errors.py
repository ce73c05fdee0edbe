"""Errors raised by the protocol codecs.

Two kinds matter to every caller: :class:`NeedMore` (the bytes so far are a valid prefix, wait for
more) and :class:`BadFrame` (the bytes can never become a valid frame, drop them). Every error has
a stable ``code`` so the layers above can translate it without reading the text.
"""


class ProtocolError(Exception):
    """Root of every codec error."""

    code = "P-000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return "%s [%s]" % (self.message, self.code)


class NeedMore(ProtocolError):
    """The buffer holds a valid prefix; ``needed`` more bytes at least are required."""

    code = "P-001"

    def __init__(self, needed: int, what: str = "frame") -> None:
        super().__init__("%s needs %d more byte(s)" % (what, needed))
        self.needed = needed


class BadFrame(ProtocolError):
    """The bytes cannot be a valid frame: wrong signature, length, field value or layout."""

    code = "P-002"


class TooLarge(BadFrame):
    """A length field or buffer exceeds the cap the codec allows."""

    code = "P-003"


class BadCheck(BadFrame):
    """A CRC or check byte does not match the data it covers."""

    code = "P-004"
