"""One unit of codec work, shared by the CPython and MicroPython codec benchmarks.

Builds and parses what one ``read_monitor`` exchange puts on the wire: the CDB, the CBW, the
response body with its CRC trailer, the CSW, and a serial frame around the CBW.
"""

from appliance.protocol import bot, cdb, commands, serial_frame

MONITOR = commands.command("read_monitor")
VALUES = {
    "type": "026",
    "kpjzsj": 20261116235959,
    "bsqsrq": 20261001,
    "bszzrq": 20261031,
    "zxbsrq": 20261003,
    "scjzrq": 15,
    "dzkpxe": 9999999,
    "lxkpsc": 72,
    "lxzs": 500,
    "lxzsje": 100000000,
    "syrl": 4321,
    "offline_pending": 0,
}


def one_exchange() -> int:
    """Encode and decode one exchange; return the bytes handled."""
    block = cdb.encode_vendor_cdb(MONITOR.op, b"", MONITOR.allocation, seq=7)
    cbw = bot.encode_cbw(7, MONITOR.allocation, True, block)
    decoded = bot.decode_cbw(cbw)
    cdb.decode_vendor_cdb(decoded.cdb)
    body = commands.encode_response(MONITOR, VALUES)
    commands.decode_response(MONITOR, body)
    csw = bot.encode_csw(7, MONITOR.allocation - len(body), 0)
    bot.decode_csw(csw)
    frame = serial_frame.encode_frame(serial_frame.Frame(serial_frame.KIND_BULK_OUT, 7, cbw))
    serial_frame.decode_frame(frame)
    return len(cbw) + len(body) + len(csw) + len(frame)
