"""A whole device session under MicroPython: the core as the bench firmware will run it.

Usage: ``micropython mp_session.py REPO_ROOT PARAMS_JSON``. PARAMS_JSON holds a device state, the
host epoch to freeze the clock at and the bureau's private scalar (hex) to sign clearing data
with. The host side is written here from the protocol codecs, bytes in, bytes out, over the
target's ``bulk_out`` / ``bulk_in``; the result is printed as one JSON line.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

from appliance.protocol import bot, cdb, commands, sense
from simulators.device.core import dates, p256
from simulators.device.core.handler import Handler
from simulators.device.core.host import FixedClock, StateSink
from simulators.device.core.target import Target


class CountingSink(StateSink):
    __slots__ = ("saves",)

    def __init__(self):
        self.saves = 0

    def save(self, state):
        self.saves += 1


class MiniHost:
    def __init__(self, target):
        self.target = target
        self.tag = 0

    def exchange(self, block, data_out, length):
        self.tag += 1
        self.target.bulk_out(bot.encode_cbw(self.tag, length, True, block))
        if data_out:
            self.target.bulk_out(data_out)
        data = self.target.bulk_in(length) if length else b""
        csw = bot.decode_csw(self.target.bulk_in(bot.CSW_SIZE))
        assert csw.tag == self.tag
        return data, csw

    def call(self, name, values=None):
        cmd = commands.command(name)
        out = cmd.request.encode(values or {})
        data, csw = self.exchange(
            cdb.encode_vendor_cdb(cmd.op, out, cmd.allocation), out, cmd.allocation
        )
        if csw.status == bot.CSW_PASSED:
            return commands.decode_response(cmd, data)
        raw, _ = self.exchange(cdb.encode_request_sense(), b"", sense.SENSE_SIZE)
        return sense.decode_sense(raw).status


def main(argv):
    with open(argv[2]) as handle:  # noqa: PTH123 - MicroPython has no pathlib
        params = json.load(handle)
    state = params["state"]
    sink = CountingSink()
    handler = Handler(state, FixedClock(params["epoch"]), sink)
    host = MiniHost(Target(handler))
    out = {}
    host.call("open_session")
    host.call("select_app", {"aid": commands.APPLICATION_ID})
    out["identify"] = host.call("identify")["device_no"]
    out["wrong_pin"] = host.call("verify_pin", {"pin": "00000000"})
    out["pin"] = host.call("verify_pin", {"pin": commands.DEFAULT_PIN})["tries_left"]
    public = host.call("read_cert")["public_key"]
    out["clock"] = host.call("read_clock")["clock"]
    types = host.call("list_types")["types"]
    out["types"] = types
    out["copies"] = []
    out["summaries"] = []
    for code in types:
        host.call("select_type", {"type": code})
        monitor = host.call("read_monitor")
        out["copies"].append(host.call("copy_tax"))
        summary = host.call("read_summary")
        signed = commands.signed_bytes(commands.SUMMARY_LAYOUT, summary)
        out["summaries"].append(
            {
                "signed": signed.hex(),
                "signature": summary["signature"].hex(),
                "verified": p256.verify(public, signed, summary["signature"]),
            }
        )
    period = dates.period_of(monitor["bsqsrq"])
    year, month = dates.month_from_index(dates.period_index(period) + 1)
    values = {
        "version": 1,
        "taxpayer_id": state["identity"]["taxpayer_id"],
        "device_no": state["identity"]["device_no"],
        "period": period,
        "types": types,
        "kpjzsj": params["next_lock"],
        "bsqsrq": dates.first_day(year, month),
        "bszzrq": dates.last_day(year, month),
        "issued_at": out["clock"],
        "nonce": bytes(16),
    }
    values["signature"] = p256.sign(
        int(params["bureau"], 16), commands.signed_bytes(commands.CLEARING_LAYOUT, values)
    )
    data = commands.CLEARING_LAYOUT.encode(values)
    out["clear"] = host.call("write_clearing", {"data": data})
    out["again"] = host.call("write_clearing", {"data": data})
    out["summary_after"] = host.call("read_summary")
    out["kpjzsj_after"] = host.call("read_monitor")["kpjzsj"]
    out["public_key"] = public.hex()
    out["counters"] = handler.counters
    out["saves"] = sink.saves
    print(json.dumps(out))


main(sys.argv)
