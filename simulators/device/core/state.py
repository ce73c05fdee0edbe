# mypy: disable-error-code="type-arg"
# (State and records are JSON objects, typed as bare dict, i.e. dict[Any, Any]: core code runs on
# MicroPython and cannot import typing for Any.)
"""The state of one simulated tax device: a JSON-ready dict, checked when loaded.

Layout (version 1)::

    {"version": 1,
     "identity": {"device_no", "taxpayer_id", "taxpayer_name", "region", "taxpayer_kind",
                  "family", "training", "firmware", "cert_serial"},
     "device_key": hex of the private scalar, "bureau_public_key": hex of the 65-byte point,
     "pin": "88888888", "pin_tries_max": 5, "pin_tries_left": 5,
     "clock_offset": device clock minus host epoch, seconds,
     "flags": {"clock_error": false, "clock_factor_invalid": false, "busy": false},
     "types": {"026": {"monitor": {kpjzsj, bsqsrq, bszzrq, zxbsrq, scjzrq, dzkpxe, lxkpsc, lxzs,
                                   lxzsje, syrl, offline_pending},
                       "stats": {the SUMMARY statistics of the report window},
                       "summary": null | {"period", "bsqsrq", "bszzrq", statistics...},
                       "cleared": false}}}

``summary`` is what copy tax (抄税) closed: the report window and its statistics; ``cleared``
turns true when clearing data for that period is applied, after which the summary reads as "no
data". Dates are protocol ints throughout.
"""

from appliance.protocol import commands
from simulators.device.core import dates, ledger

STATE_VERSION = 1
DEFAULT_PIN_TRIES = 5
IDENTITY_FIELDS = tuple(name for name, _ in commands.IDENTITY)
MONITOR_FIELDS = tuple(name for name, _ in commands.MONITOR if name != "type")
FLAGS = ("clock_error", "clock_factor_invalid", "busy")
_SUMMARY_HEAD = ("period", "bsqsrq", "bszzrq")
# Largest value of each statistic: the width of its SUMMARY field.
_STAT_LIMITS = {}
for _name, _kind in commands.SUMMARY:
    if _name in ledger.STAT_FIELDS:
        _STAT_LIMITS[_name] = (1 << (8 * {"u32": 4, "u64": 8}[_kind])) - 1
# A PIN is an ascii:16 field; a state file asking for more could never be verified.
MAX_PIN = 16


def new_state(identity: dict, device_key: str, bureau_public_key: str, pin: str) -> dict:
    """Return a device state with no invoice types yet."""
    return {
        "version": STATE_VERSION,
        "identity": identity,
        "device_key": device_key,
        "bureau_public_key": bureau_public_key,
        "pin": pin,
        "pin_tries_max": DEFAULT_PIN_TRIES,
        "pin_tries_left": DEFAULT_PIN_TRIES,
        "clock_offset": 0,
        "flags": {"clock_error": False, "clock_factor_invalid": False, "busy": False},
        "types": {},
    }


def add_type(state: dict, code: str, monitor: dict, stats: dict) -> dict:
    """Add an invoice type with its monitor data and window statistics; return its record."""
    record = {"monitor": monitor, "stats": stats, "summary": None, "cleared": False}
    state["types"][code] = record
    return record


def type_codes(state: dict) -> list:
    """Return the invoice types of the device, sorted (dict order differs on MicroPython)."""
    return sorted(state["types"])


def device_clock(state: dict, host_epoch: int) -> int:
    """Return the device clock (``YYYYMMDDhhmmss``) at host epoch seconds ``host_epoch``."""
    return dates.epoch_to_datetime(int(host_epoch) + state["clock_offset"])


def summary_record(record: dict) -> dict:
    """Return the summary of the current report window built from its statistics."""
    monitor = record["monitor"]
    summary = {
        "period": dates.period_of(monitor["bsqsrq"]),
        "bsqsrq": monitor["bsqsrq"],
        "bszzrq": monitor["bszzrq"],
    }
    for name in ledger.STAT_FIELDS:
        summary[name] = record["stats"][name]
    return summary


def check_state(state: object) -> None:
    """Raise ``ValueError`` naming the first field of ``state`` that a device could not hold."""
    if not isinstance(state, dict):
        raise ValueError("device state is not an object")
    if state.get("version") != STATE_VERSION:
        raise ValueError(
            "device state version %r, expected %d" % (state.get("version"), STATE_VERSION)
        )
    identity = _object(state, "identity")
    for name in IDENTITY_FIELDS:
        if name not in identity:
            raise ValueError("identity.%s is missing" % name)
    try:
        commands.command("identify").response.encode(identity)
    except Exception as exc:
        raise ValueError("identity does not encode: %s" % exc) from None
    _hex(state, "device_key", 1, 32)
    _hex(state, "bureau_public_key", 65, 65)
    pin = state.get("pin")
    if not isinstance(pin, str) or not 0 < len(pin) <= MAX_PIN:
        raise ValueError("pin is not a string of 1..%d characters" % MAX_PIN)
    tries_max = _int(state, "pin_tries_max", 1, 15)
    _int(state, "pin_tries_left", 0, tries_max)
    _int(state, "clock_offset", -(1 << 40), 1 << 40)
    flags = _object(state, "flags")
    for name in FLAGS:
        if not isinstance(flags.get(name), bool):
            raise ValueError("flags.%s is not true or false" % name)
    types = _object(state, "types")
    if not 0 < len(types) <= 16:
        raise ValueError("a device holds 1..16 invoice types, this one %d" % len(types))
    for code in types:
        _check_type(code, types[code])


def _check_type(code: object, record: object) -> None:
    where = "types.%s" % code
    if not isinstance(code, str) or len(code) != 3 or not code.isdigit():
        raise ValueError("%s: invoice type is not 3 digits" % where)
    if not isinstance(record, dict):
        raise ValueError("%s is not an object" % where)
    monitor = _object(record, "monitor", where)
    values: dict = {"type": code}
    for name in MONITOR_FIELDS:
        values[name] = monitor.get(name)
    try:
        commands.command("read_monitor").response.encode(values)
    except Exception as exc:
        raise ValueError("%s.monitor does not encode: %s" % (where, exc)) from None
    for name in ("kpjzsj", "bsqsrq", "bszzrq"):
        if not monitor[name]:
            raise ValueError("%s.monitor.%s is empty" % (where, name))
    if not dates.is_valid_date(dates.date_of(monitor["kpjzsj"])):
        raise ValueError("%s.monitor.kpjzsj is not a real day" % where)
    if dates.month_index(monitor["bsqsrq"]) != dates.month_index(monitor["bszzrq"]):
        raise ValueError("%s.monitor: report window spans more than one month" % where)
    stats = _object(record, "stats", where)
    _check_stats(stats, where + ".stats")
    summary = record.get("summary")
    if summary is not None:
        if not isinstance(summary, dict):
            raise ValueError("%s.summary is not an object or null" % where)
        for name in _SUMMARY_HEAD:
            _int(summary, name, 0, 99999999, where + ".summary")
        _check_stats(summary, where + ".summary")
    if not isinstance(record.get("cleared"), bool):
        raise ValueError("%s.cleared is not true or false" % where)


def _check_stats(stats: dict, where: str) -> None:
    for name in ledger.STAT_FIELDS:
        _int(stats, name, 0, _STAT_LIMITS[name], where)
    if ledger.balance(stats) != stats["stock_end"]:
        raise ValueError("%s: stock does not balance" % where)


def _object(parent: dict, name: str, where: str = "") -> dict:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise ValueError("%s%s is not an object" % (where + "." if where else "", name))
    return value


def _int(parent: dict, name: str, low: int, high: int, where: str = "") -> int:
    value = parent.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(
            "%s%s is not a whole number in %d..%d" % (where + "." if where else "", name, low, high)
        )
    return value


def _hex(parent: dict, name: str, low: int, high: int) -> bytes:
    value = parent.get(name)
    if not isinstance(value, str):
        raise ValueError("%s is not hex" % name)
    try:
        raw = bytes.fromhex(value)
    except Exception:
        raise ValueError("%s is not hex" % name) from None
    if not low <= len(raw) <= high:
        raise ValueError("%s is %d bytes, expected %d..%d" % (name, len(raw), low, high))
    return raw
