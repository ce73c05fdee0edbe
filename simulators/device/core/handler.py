# mypy: disable-error-code="type-arg"
# (State and records are JSON objects, typed as bare dict, i.e. dict[Any, Any]: core code runs on
# MicroPython and cannot import typing for Any.)
"""The device's command processor: a vendor CDB and its data OUT in, response bytes or a Sense out.

Requests are parsed and responses built from the command table only (``commands.BY_OP``, the
layouts, ``encode_response``), so the device speaks exactly what the driver reads. The order of
the gates is part of the contract:

1. an unknown op answers ``SW_UNKNOWN_OP``; every command received is counted first, whatever
   becomes of it (tests assert how many PINs a host sent);
2. a busy device answers ``SW_BUSY`` to everything;
3. a data OUT whose length or check byte disagrees with the CDB answers ``SW_BAD_CHECK`` (or
   ``SW_WRONG_LENGTH``) and nothing is executed;
4. without an open session and the tax application selected: ``SW_NO_SESSION``;
5. a command marked ``needs_pin`` without a PIN verified in this session: ``SW_PIN_REQUIRED``.

Session facts (open, application, PIN, selected type) live here, not in the saved state: a
device that loses power forgets them, as a real one does.
"""

from appliance.protocol import commands, sense
from appliance.protocol.cdb import CDB_SIZE, VENDOR_MARKER, decode_vendor_cdb, verify_out_data
from appliance.protocol.errors import BadCheck, NeedMore, ProtocolError, TooLarge
from simulators.device.core import signer, tax
from simulators.device.core.host import HostClock, StateSink
from simulators.device.core.state import device_clock, type_codes

# A handshake challenge is a nonce and a timestamp, well under this.
MAX_CHALLENGE = 256
UNKNOWN = "unknown"

_KEY_OF_STATUS = {
    sense.SW_BUSY: sense.KEY_NOT_READY,
    sense.SW_NO_SESSION: sense.KEY_NOT_READY,
    sense.SW_UNKNOWN_OP: sense.KEY_ILLEGAL_REQUEST,
    sense.SW_BAD_CHECK: sense.KEY_ILLEGAL_REQUEST,
    sense.SW_WRONG_LENGTH: sense.KEY_ILLEGAL_REQUEST,
    sense.SW_TYPE_NOT_FOUND: sense.KEY_ILLEGAL_REQUEST,
    sense.SW_CONDITIONS: sense.KEY_ILLEGAL_REQUEST,
    sense.SW_PIN_REQUIRED: sense.KEY_DATA_PROTECT,
    sense.SW_PIN_BLOCKED: sense.KEY_DATA_PROTECT,
    sense.SW_CLEARING_FORGED: sense.KEY_DATA_PROTECT,
    sense.SW_CLEARING_MISMATCH: sense.KEY_DATA_PROTECT,
    sense.SW_CLOCK_ERROR: sense.KEY_HARDWARE_ERROR,
    sense.SW_INTERNAL: sense.KEY_HARDWARE_ERROR,
}


def sense_for(status: int, detail: int = 0) -> sense.Sense:
    """Return the sense data carrying a vendor status word."""
    if status & 0xFFF0 == sense.SW_PIN_WRONG:
        key = sense.KEY_DATA_PROTECT
    else:
        key = _KEY_OF_STATUS.get(status, sense.KEY_ABORTED)
    return sense.Sense(key, status, detail)


class Handler:
    """Runs the tax application's commands against one device state."""

    __slots__ = (
        "_app",
        "_changed",
        "_forced",
        "_open",
        "_pin_ok",
        "_public",
        "_selected",
        "_session_id",
        "counters",
        "host_clock",
        "sink",
        "state",
    )

    def __init__(self, state: dict, host_clock: HostClock, sink: StateSink | None = None) -> None:
        self.state = state
        self.host_clock = host_clock
        self.sink = sink or StateSink()
        self.counters: dict[str, int] = {}
        self._public = b""
        self._session_id = 0
        self._forced: list[int] = []
        self._changed = False
        self.reset_session()

    def reset_session(self) -> None:
        """Forget the session, as a power cycle or a USB reset does."""
        self._open = False
        self._app = False
        self._pin_ok = False
        self._selected = ""

    def force_status(self, status: int) -> None:
        """Answer the next command with ``status`` without running it (fault injection)."""
        self._forced.append(status)

    def clock(self) -> int:
        """Return the device clock, ``YYYYMMDDhhmmss``."""
        return device_clock(self.state, self.host_clock.now())

    def count(self, name: str) -> None:
        """Count one command received."""
        self.counters[name] = self.counters.get(name, 0) + 1

    def handle(self, cdb: bytes, data_out: bytes) -> bytes | sense.Sense:
        """Run one command; return the response bytes (trailer included) or a :class:`Sense`."""
        try:
            result = self._handle(bytes(cdb), bytes(data_out))
        except Exception:
            # A device must answer whatever it is sent; a fault of ours reads as an internal
            # error, which the tests look for and never expect.
            result = sense_for(sense.SW_INTERNAL)
        if self._changed:
            self._changed = False
            self.sink.save(self.state)
        return result

    def _handle(self, cdb: bytes, data_out: bytes) -> bytes | sense.Sense:
        cmd = None
        if len(cdb) == CDB_SIZE and cdb[0] == VENDOR_MARKER:
            cmd = commands.BY_OP.get(cdb[1])
        if cmd is None:
            self.count(UNKNOWN)
            return sense_for(sense.SW_UNKNOWN_OP)
        self.count(cmd.name)
        if self._forced:
            return sense_for(self._forced.pop(0))
        if self.state["flags"]["busy"]:
            return sense_for(sense.SW_BUSY)
        try:
            verify_out_data(decode_vendor_cdb(cdb), data_out)
        except BadCheck:
            return sense_for(sense.SW_BAD_CHECK)
        except ProtocolError:
            return sense_for(sense.SW_WRONG_LENGTH)
        name = cmd.name
        if name == "open_session":
            return self._respond(cmd, self._open_session())
        if name == "close_session":
            self.reset_session()
            return self._respond(cmd, {})
        if not self._open:
            return sense_for(sense.SW_NO_SESSION)
        try:
            request = cmd.request.decode(data_out)
        except (NeedMore, TooLarge):
            return sense_for(sense.SW_WRONG_LENGTH)
        except ProtocolError:
            return sense_for(sense.SW_BAD_CHECK)
        if name == "select_app":
            if request["aid"] != commands.APPLICATION_ID:
                return sense_for(sense.SW_TYPE_NOT_FOUND)
            self._app = True
            return self._respond(cmd, {})
        if not self._app:
            return sense_for(sense.SW_NO_SESSION)
        if cmd.needs_pin and not self._pin_ok:
            return sense_for(sense.SW_PIN_REQUIRED)
        result = getattr(self, "_" + name)(request)
        if isinstance(result, sense.Sense):
            return result
        if isinstance(result, int):
            return sense_for(result)
        return self._respond(cmd, result)

    def _respond(self, cmd: commands.Command, values: dict) -> bytes:
        # Even an empty response carries its CRC trailer: two bytes the host checks.
        return commands.encode_response(cmd, values)

    # -- commands ----------------------------------------------------------------------------

    def _open_session(self) -> dict:
        self.reset_session()
        self._open = True
        self._session_id = (self._session_id + 1) & 0xFFFFFFFF
        return {"session": self._session_id}

    def _identify(self, request: dict) -> dict:
        identity: dict = self.state["identity"]
        return identity

    def _verify_pin(self, request: dict) -> dict | int | sense.Sense:
        state = self.state
        if state["pin_tries_left"] <= 0:
            return sense.SW_PIN_BLOCKED
        self._changed = True
        if request["pin"] == state["pin"]:
            state["pin_tries_left"] = state["pin_tries_max"]
            self._pin_ok = True
            return {"tries_left": state["pin_tries_left"]}
        state["pin_tries_left"] -= 1
        self._pin_ok = False
        tries = state["pin_tries_left"]
        return sense_for(sense.SW_PIN_WRONG | min(tries, 15), tries)

    def _list_types(self, request: dict) -> dict:
        return {"types": type_codes(self.state)}

    def _read_clock(self, request: dict) -> dict:
        return {"clock": self.clock()}

    def _read_cert(self, request: dict) -> dict:
        if not self._public:
            self._public = signer.public_key(int(self.state["device_key"], 16))
        return {"cert_serial": self.state["identity"]["cert_serial"], "public_key": self._public}

    def _select_type(self, request: dict) -> dict | int | sense.Sense:
        if request["type"] not in self.state["types"]:
            return sense.SW_TYPE_NOT_FOUND
        self._selected = request["type"]
        return {}

    def _read_monitor(self, request: dict) -> dict | int | sense.Sense:
        if not self._selected:
            return sense.SW_CONDITIONS
        values = {"type": self._selected}
        monitor = self.state["types"][self._selected]["monitor"]
        for name in monitor:
            values[name] = monitor[name]
        return values

    def _copy_tax(self, request: dict) -> dict | int | sense.Sense:
        if not self._selected:
            return sense.SW_CONDITIONS
        result = tax.copy_tax(self.state, self._selected, self.clock())
        if not isinstance(result, int):
            self._changed = True
        return result

    def _read_summary(self, request: dict) -> dict | int | sense.Sense:
        if not self._selected:
            return sense.SW_CONDITIONS
        return tax.summary_values(self.state, self._selected)

    def _write_clearing(self, request: dict) -> dict | int | sense.Sense:
        result = tax.write_clearing(self.state, request["data"])
        if not isinstance(result, int):
            self._changed = True
        return result

    def _sign(self, request: dict) -> dict | int | sense.Sense:
        challenge = request["challenge"]
        if len(challenge) > MAX_CHALLENGE:
            return sense.SW_WRONG_LENGTH
        return {"signature": signer.sign(int(self.state["device_key"], 16), challenge)}
