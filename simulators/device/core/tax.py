# mypy: disable-error-code="type-arg"
# (State and records are JSON objects, typed as bare dict, i.e. dict[Any, Any]: core code runs on
# MicroPython and cannot import typing for Any.)
"""What the tax application does with its state: copy tax (抄税), the summary, clearing (清卡).

Each operation takes the device state, an invoice type and the device clock, and returns either
the response values (a dict) or the status word of its refusal (an int from
:mod:`appliance.protocol.sense`). The contract is DESIGN §2 and ``docs/clearing-data.md``.
"""

from appliance.protocol import commands, sense
from appliance.protocol.errors import ProtocolError
from simulators.device.core import dates, ledger, signer
from simulators.device.core.state import summary_record

# A device whose lock moment passed more than this many whole days ago has missed several
# months: it cannot report any more and needs a visit to the tax hall (the same rule as
# appliance.calendar.stage.ZOMBIE_DAYS).
ZOMBIE_DAYS = 90


def is_zombie(monitor: dict, clock: int) -> bool:
    """Tell whether the device clock is more than 90 whole days past the lock moment."""
    late = dates.datetime_to_epoch(clock) - dates.datetime_to_epoch(monitor["kpjzsj"])
    return late > 0 and late // dates.SECONDS_PER_DAY > ZOMBIE_DAYS


def copy_tax(state: dict, code: str, clock: int) -> dict | int:
    """Close the report window of one type; return the copy_tax response or a status word."""
    record = state["types"][code]
    monitor = record["monitor"]
    flags = state["flags"]
    if state["identity"]["training"]:
        return sense.SW_TRAINING
    if is_zombie(monitor, clock):
        return sense.SW_MULTI_MONTH
    if monitor["offline_pending"] > 0:
        return sense.SW_OFFLINE_PENDING
    if flags["clock_error"]:
        return sense.SW_CLOCK_ERROR
    if flags["clock_factor_invalid"]:
        return sense.SW_CLOCK_FACTOR
    now_month = dates.month_index(clock)
    if now_month <= dates.month_index(monitor["bszzrq"]):
        return sense.SW_NOT_REPORT_TIME
    period = dates.period_of(monitor["bsqsrq"])
    summary = record["summary"]
    copied = (
        summary is not None
        and not record["cleared"]
        and summary["period"] == period
        and monitor["zxbsrq"]
        and dates.month_index(monitor["zxbsrq"]) == now_month
    )
    if not copied:
        monitor["zxbsrq"] = dates.date_of(clock)
        record["summary"] = summary_record(record)
        record["cleared"] = False
    return {"type": code, "period": period, "zxbsrq": monitor["zxbsrq"]}


def summary_values(state: dict, code: str) -> dict | int:
    """Return the signed SUMMARY response of one type, or ``SW_NO_SUMMARY``."""
    record = state["types"][code]
    summary = record["summary"]
    if summary is None or record["cleared"]:
        return sense.SW_NO_SUMMARY
    values: dict = {"type": code}
    for name in summary:
        values[name] = summary[name]
    identity = state["identity"]
    values["device_no"] = identity["device_no"]
    values["taxpayer_id"] = identity["taxpayer_id"]
    payload = commands.signed_bytes(commands.SUMMARY_LAYOUT, values)
    values["signature"] = signer.sign(int(state["device_key"], 16), payload)
    return values


def write_clearing(state: dict, blob: bytes) -> dict | int:
    """Check and apply clearing data; return the response values or a status word.

    The checks run in the order of docs/clearing-data.md, each with its status word.
    """
    if state["identity"]["training"]:
        return sense.SW_TRAINING
    # 1. decodes, version 1
    try:
        data: dict = commands.CLEARING_LAYOUT.decode(blob)
    except ProtocolError:
        return sense.SW_BAD_CHECK
    if data["version"] != commands.CLEARING_DATA_VERSION:
        return sense.SW_BAD_CHECK
    # 2. signed by the bureau
    payload = commands.signed_bytes(commands.CLEARING_LAYOUT, data)
    if not signer.verify(bytes.fromhex(state["bureau_public_key"]), payload, data["signature"]):
        return sense.SW_CLEARING_FORGED
    # 3. for this taxpayer and device
    identity = state["identity"]
    if data["taxpayer_id"] != identity["taxpayer_id"] or data["device_no"] != identity["device_no"]:
        return sense.SW_CLEARING_MISMATCH
    # 4. every listed type is on the device
    types = data["types"]
    if not types:
        return sense.SW_CLEARING_MISMATCH
    for code in types:
        if code not in state["types"]:
            return sense.SW_CLEARING_MISMATCH
    # 5. applied before: every listed type already holds exactly this lock moment and window
    # (older clearing data replayed later does not match and fails the period check below)
    pending = []
    for code in types:
        monitor = state["types"][code]["monitor"]
        applied = (monitor["kpjzsj"], monitor["bsqsrq"], monitor["bszzrq"]) == (
            data["kpjzsj"],
            data["bsqsrq"],
            data["bszzrq"],
        )
        if not applied:
            pending.append(code)
    if not pending:
        return sense.SW_ALREADY_CLEARED
    for code in pending:
        monitor = state["types"][code]["monitor"]
        # 6. for the report window the device holds (not a replay of another period)
        if data["period"] != dates.period_of(monitor["bsqsrq"]):
            return sense.SW_CLEARING_MISMATCH
        # 7. that window was reported
        if not monitor["zxbsrq"] or monitor["zxbsrq"] <= monitor["bszzrq"]:
            return sense.SW_NOT_REPORTED
    # 8. the new lock moment is later than the current one and the new window is the month
    # after the period
    year, month = dates.month_from_index(dates.period_index(data["period"]) + 1)
    if data["bsqsrq"] != dates.first_day(year, month) or data["bszzrq"] != dates.last_day(
        year, month
    ):
        return sense.SW_CLEARING_MISMATCH
    for code in pending:
        if data["kpjzsj"] <= state["types"][code]["monitor"]["kpjzsj"]:
            return sense.SW_CLEARING_MISMATCH
    for code in pending:
        _apply(state, code, data)
    return {"types": sorted(types), "kpjzsj": data["kpjzsj"]}


def _apply(state: dict, code: str, data: dict) -> None:
    record = state["types"][code]
    monitor = record["monitor"]
    monitor["kpjzsj"] = data["kpjzsj"]
    monitor["bsqsrq"] = data["bsqsrq"]
    monitor["bszzrq"] = data["bszzrq"]
    record["cleared"] = True
    # The new window's invoices: what this device will have issued by the time it reports.
    small = state["identity"]["taxpayer_kind"] == commands.KIND_SMALL
    seed = "%s/%s/%d" % (state["identity"]["device_no"], code, dates.period_of(data["bsqsrq"]))
    record["stats"] = ledger.generate(seed, small, record["stats"]["stock_end"])
