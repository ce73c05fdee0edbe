"""What a running bureau simulator tells its users: where it listens and whom to trust.

The server prints this as one JSON line on stdout when it is ready, and writes it to
``ready.json`` in its data directory (``endpoints.json`` beside it holds the endpoint table
alone, in the form the appliance's configuration takes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.bureau.config import BureauConfig
from appliance.bureau.endpoints import EndpointTable

READY_FILE = "ready.json"
ENDPOINTS_FILE = "endpoints.json"
_MAX_READY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Ready:
    """Addresses and trust anchors of a running simulator."""

    url: str  # https://host:port, the authorities under it
    admin_url: str  # http://127.0.0.1:port
    ca_cert: Path
    endpoints: dict[str, str]
    bureau_public_key: str  # hex of the uncompressed point
    pid: int

    def to_json(self) -> str:
        """Return the one-line JSON form."""
        data = {**self.__dict__, "ca_cert": str(self.ca_cert), "ready": True}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Ready:
        """Parse the JSON form; ``ValueError`` when it is not one."""
        if len(text) > _MAX_READY_BYTES:
            raise ValueError(f"readiness notice of {len(text)} bytes above {_MAX_READY_BYTES}")
        try:
            data: Any = json.loads(text)
            if not isinstance(data, dict) or data.get("ready") is not True:
                raise ValueError("not a bureau simulator readiness notice")
            return cls(
                url=str(data["url"]),
                admin_url=str(data["admin_url"]),
                ca_cert=Path(data["ca_cert"]),
                endpoints={str(k): str(v) for k, v in dict(data["endpoints"]).items()},
                bureau_public_key=str(data["bureau_public_key"]),
                pid=int(data["pid"]),
            )
        except (KeyError, TypeError, UnicodeDecodeError) as exc:
            raise ValueError(f"incomplete bureau simulator readiness notice: {exc!r}") from None

    @classmethod
    def from_dir(cls, data_dir: Path) -> Ready:
        """Read ``ready.json`` of a simulator's data directory."""
        path = data_dir / READY_FILE
        with path.open("rb") as handle:
            raw = handle.read(_MAX_READY_BYTES + 1)
        if len(raw) > _MAX_READY_BYTES:
            raise ValueError(f"{path} is larger than {_MAX_READY_BYTES} bytes")
        return cls.from_json(raw)

    def client_config(self, **overrides: Any) -> BureauConfig:
        """Return a client configuration for this simulator (fields overridable)."""
        settings: dict[str, Any] = {
            "endpoints": EndpointTable(self.endpoints),
            "ca_bundle": self.ca_cert,
            "bureau_public_key": bytes.fromhex(self.bureau_public_key),
        }
        settings.update(overrides)
        return BureauConfig(**settings)
