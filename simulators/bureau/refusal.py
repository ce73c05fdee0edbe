"""The one exception the bureau's business rules raise: a refusal with a result code."""

from __future__ import annotations

from appliance.bureau import codes


class Refusal(Exception):
    """The bureau refuses the request with ``code`` (see ``appliance.bureau.codes``)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code} {codes.text(code)} {detail}".strip())
        self.code = code
        self.detail = detail
