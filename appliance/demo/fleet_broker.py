"""A real mosquitto for the fleet demo, the fleet tests and ``bench.fleet``: TLS, ACL, identities.

One broker in a folder of its own, with two TLS listeners on loopback: one where clients log in
with a username and password (the box id and its password), one where they present a client
certificate whose common name becomes the username (``use_identity_as_username``). The same
pattern ACL serves both; it is the one ``docs/fleet.md`` recommends for production:

- a box writes only under ``qingka/<site>/<its id>/`` and its own Home Assistant discovery, and
  reads only its own ``cmd`` and Home Assistant's birth message;
- the fleet's users (collectors, ``qingka fleet``, Home Assistant) read everything and write
  commands and discovery removals.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.demo.fleet_pki import FleetCa, write_private

MOSQUITTO = "mosquitto"
FLEET_USER = "fleet"
STARTUP_TIMEOUT_S = 15.0
ACL = """\
# QingKa fleet ACL. %u is the MQTT username: the box id (password listener) or the common
# name of the box's client certificate (certificate listener, use_identity_as_username).
# Pattern lines apply to every user.

# A box writes only under its own subtree and its own Home Assistant discovery...
pattern write qingka/+/%u/#
pattern write homeassistant/device/%u/+/config
# ...and reads only its own commands and Home Assistant's birth message.
pattern read qingka/+/%u/cmd
pattern read homeassistant/status

# The fleet: collectors, `qingka fleet`, Home Assistant.
user fleet
topic readwrite qingka/#
topic readwrite homeassistant/#
"""


def free_port() -> int:
    """Return a TCP port on loopback that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def password_hash(password: str) -> str:
    """Return mosquitto 2.0's ``$7$`` hash (PBKDF2-SHA512, 101 rounds) of ``password``."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return f"$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


@dataclass(frozen=True)
class BoxIdentity:
    """What one box needs to log in: its password file, or its certificate and key."""

    box_id: str
    password: str
    password_file: Path
    cert: Path
    key: Path


class FleetBroker:
    """A mosquitto process in ``directory`` (kept across restarts: same ports, same state)."""

    def __init__(
        self,
        directory: Path,
        *,
        persistence: bool = True,
        extra_config: str = "",
        certificates: bool = True,
    ) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = FleetCa(self.dir / "pki")
        self.ca_file = self.ca.cert_path
        self.ca.issue("localhost", self.dir / "server.pem", self.dir / "server.key", server=True)
        self.certificates = certificates
        self.password_port = free_port()
        self.cert_port = free_port()
        self.fleet_password = secrets.token_urlsafe(12)
        self._passwords: dict[str, str] = {FLEET_USER: password_hash(self.fleet_password)}
        self.fleet_password_file = self.dir / "fleet-password"
        write_private(self.fleet_password_file, (self.fleet_password + "\n").encode())
        self.boxes: dict[str, BoxIdentity] = {}
        self.persistence = persistence
        self.extra_config = extra_config
        self.log = self.dir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        (self.dir / "acl").write_text(ACL, encoding="utf-8")
        (self.dir / "data").mkdir(exist_ok=True)
        self._write_config()

    @property
    def url(self) -> str:
        """Return the broker URL of the password listener."""
        return f"mqtts://localhost:{self.password_port}"

    @property
    def cert_url(self) -> str:
        """Return the broker URL of the client-certificate listener."""
        return f"mqtts://localhost:{self.cert_port}"

    def add_box(self, box_id: str) -> BoxIdentity:
        """Create the login of one box (password and certificate); reload a running broker."""
        folder = self.dir / "boxes" / box_id
        folder.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        password_file = folder / "password"
        write_private(password_file, (password + "\n").encode())
        cert, key = folder / "box.pem", folder / "box.key"
        if self.certificates:
            self.ca.issue(box_id, cert, key)
        self._passwords[box_id] = password_hash(password)
        identity = BoxIdentity(box_id, password, password_file, cert, key)
        self.boxes[box_id] = identity
        self._write_passwords()
        if self.running:
            self.reload()
        return identity

    def add_boxes(self, box_ids: list[str], password: str) -> None:
        """Create many password logins at once (one password for all: benchmarks only)."""
        digest = password_hash(password)
        for box_id in box_ids:
            self._passwords[box_id] = digest
        self._write_passwords()
        if self.running:
            self.reload()

    def _write_passwords(self) -> None:
        lines = [f"{user}:{digest}" for user, digest in self._passwords.items()]
        write_private(self.dir / "passwd", ("\n".join(lines) + "\n").encode())

    def _write_config(self) -> None:
        tls = [
            f"cafile {self.ca_file}",
            f"certfile {self.dir / 'server.pem'}",
            f"keyfile {self.dir / 'server.key'}",
        ]
        lines = [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {self.dir / 'passwd'}",
            f"acl_file {self.dir / 'acl'}",
            # Run as whoever started it: the keys in this folder are readable by that user only.
            f"user {getpass.getuser()}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.dir / 'data'}/",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "set_tcp_nodelay true",
            "max_queued_messages 100000",
            # No client may make the broker hold a huge message (and forward it to 3.1.1 boxes,
            # which cannot announce a limit of their own): the largest real one is ~100 KiB.
            "max_packet_size 1048576",
            "",
            f"listener {self.password_port} 127.0.0.1",
            *tls,
            "",
            f"listener {self.cert_port} 127.0.0.1",
            *tls,
            "require_certificate true",
            "use_identity_as_username true",
            "",
            self.extra_config,
        ]
        (self.dir / "mosquitto.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def running(self) -> bool:
        """Tell whether the broker process runs."""
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start mosquitto and wait until both listeners accept connections."""
        self._write_passwords()
        self.proc = subprocess.Popen(
            [mosquitto_binary() or MOSQUITTO, "-c", str(self.dir / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "mosquitto.stderr").open("ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for port in (self.password_port, self.cert_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.tail()}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"mosquitto did not listen: {self.tail()}") from None
                    time.sleep(0.05)

    def reload(self) -> None:
        """Make the broker read its password and ACL files again (SIGHUP); wait until it did.

        mosquitto reloads in its one thread at the top of a loop turn, logging "Reloading
        config." first: once that line is in the log, every later login meets the new files.
        """
        if self.proc is None:
            return
        before = self._reloads()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while self._reloads() <= before:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"mosquitto did not reload: {self.tail()}")
            time.sleep(0.02)

    def _reloads(self) -> int:
        try:
            return self.log.read_bytes().count(b"Reloading config.")
        except FileNotFoundError:
            return 0

    def stop(self, kill: bool = False) -> None:
        """Stop the broker (SIGTERM saves its persistent state; ``kill``: SIGKILL)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same ports with the same state."""
        self.stop()
        self.start()

    def rss_kib(self) -> int | None:
        """Return the broker's resident memory in KiB (Linux)."""
        if self.proc is None:
            return None
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def tail(self, size: int = 3000) -> str:
        """Return the end of the broker's log."""
        text = ""
        for path in (self.log, self.dir / "mosquitto.stderr"):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")[-size:]
        return text

    def box_config(self, box_id: str, site: str, *, certificate: bool = False) -> str:
        """Return the ``[fleet]`` table of a box configuration for this broker."""
        identity = self.boxes[box_id]
        lines = [
            "[fleet]",
            f'broker = "{self.cert_url if certificate else self.url}"',
            f'ca_file = "{self.ca_file}"',
            f'site = "{site}"',
            f'box_id = "{box_id}"',
        ]
        if certificate:
            lines += [f'client_cert = "{identity.cert}"', f'client_key = "{identity.key}"']
        else:
            lines.append(f'credentials_file = "{identity.password_file}"')
        return "\n".join(lines) + "\n"


def mosquitto_binary() -> str | None:
    """Return the mosquitto program (Debian puts it in /usr/sbin, outside a user's PATH)."""
    found = shutil.which(MOSQUITTO)
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
