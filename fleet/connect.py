"""How the fleet's own tools log in to the broker: URL, CA, user and password or certificate.

Every fleet tool (``qingka fleet``, the collector, the benchmarks) builds its paho client here,
MQTT v5 with TLS, so they all speak to the broker the same way.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from appliance.health.link import new_properties
from fleet.errors import BrokerError

DEFAULT_PORT = 8883
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class BrokerAccess:
    """Where the broker is and how the fleet logs in."""

    host: str
    port: int
    ca_file: Path
    username: str | None = None
    password: str | None = None
    cert: Path | None = None
    key: Path | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        ca_file: Path,
        username: str | None = None,
        password: str | None = None,
        cert: Path | None = None,
        key: Path | None = None,
    ) -> BrokerAccess:
        """Parse ``mqtts://host[:port]``."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise BrokerError(f"{url!r} is not a broker URL", f"{url!r} 不是代理地址") from None
        if parts.scheme != "mqtts" or not parts.hostname:
            raise BrokerError(
                f"{url!r} must be mqtts://HOST[:PORT]", f"{url!r} 须为 mqtts://主机[:端口]"
            )
        return cls(parts.hostname, port, ca_file, username, password, cert, key)


def make_client(
    access: BrokerAccess, client_id: str = "", *, manual_ack: bool = False
) -> mqtt.Client:
    """Return an unconnected v5 client with TLS and the fleet's login."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    client.connect_timeout = CONNECT_TIMEOUT_S
    context = ssl.create_default_context(cafile=str(access.ca_file))
    if access.cert is not None and access.key is not None:
        context.load_cert_chain(str(access.cert), str(access.key))
    client.tls_set_context(context)
    if access.username is not None:
        client.username_pw_set(access.username, access.password)
    return client


def connect_and_wait(
    client: mqtt.Client,
    access: BrokerAccess,
    *,
    clean_start: bool = True,
    session_expiry_s: int = 0,
    keepalive: int = 30,
    timeout: float = CONNECT_TIMEOUT_S,
) -> bool:
    """Connect, start the network thread, wait for CONNACK; return whether a session was kept.

    :class:`BrokerError` when the broker cannot be reached or refuses the login.
    """
    done = threading.Event()
    outcome: dict[str, Any] = {}
    previous: Any = client.on_connect  # a VERSION2 callback, or none

    def on_connect(
        c: mqtt.Client, u: Any, flags: mqtt.ConnectFlags, rc: ReasonCode, p: Any
    ) -> None:
        outcome["rc"], outcome["session"] = rc, flags.session_present
        done.set()
        if previous is not None:
            previous(c, u, flags, rc, p)

    client.on_connect = on_connect
    props = new_properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    try:
        client.connect(
            access.host, access.port, keepalive, clean_start=clean_start, properties=props
        )
    except (OSError, ssl.SSLError) as exc:
        raise BrokerError(
            f"cannot reach the broker {access.host}:{access.port}: {exc}",
            f"连不上运维平台代理 {access.host}:{access.port}",
        ) from exc
    client.loop_start()
    deadline = time.monotonic() + timeout
    while not done.wait(0.05):
        if time.monotonic() > deadline:
            client.loop_stop()
            raise BrokerError("the broker did not answer", "运维平台代理没有应答")
    client.on_connect = previous
    rc = outcome["rc"]
    if rc.is_failure:
        client.loop_stop()
        raise BrokerError(f"the broker refused the login: {rc}", f"运维平台代理拒绝登录：{rc}")
    return bool(outcome["session"])


def subscribe_and_wait(
    client: mqtt.Client, topics: list[str], *, qos: int = 1, timeout: float = CONNECT_TIMEOUT_S
) -> None:
    """Subscribe to ``topics``; return once the broker confirmed them all.

    A message published before the confirmation may never reach this client, and retained
    messages follow the confirmation: waiting for it is what makes "read what is there" exact.
    :class:`BrokerError` when the broker does not answer or refuses a filter (its ACL).
    """
    done = threading.Event()
    refused: list[str] = []
    previous: Any = client.on_subscribe

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, codes: list[ReasonCode], p: Any) -> None:
        refused.extend(t for t, code in zip(topics, codes, strict=False) if code.is_failure)
        done.set()

    client.on_subscribe = on_subscribe
    try:
        client.subscribe([(topic, qos) for topic in topics])
        if not done.wait(timeout):
            raise BrokerError(
                "the broker did not confirm the subscription", "运维平台代理没有确认订阅"
            )
    finally:
        client.on_subscribe = previous
    if refused:
        names = ", ".join(refused)
        raise BrokerError(
            f"the broker refused the subscription: {names}", f"运维平台代理拒绝了订阅：{names}"
        )
