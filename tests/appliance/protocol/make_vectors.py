"""Regenerate vectors.json from the codecs (run after a deliberate change of the command table).

``python -m tests.appliance.protocol.make_vectors`` rewrites the file; review the diff: every
changed byte is a wire-format change that the bench device firmware must follow too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.protocol import bot, cdb, commands, crc, sense, serial_frame

HERE = Path(__file__).parent

IDENTITY = {
    "device_no": "661900000000",
    "taxpayer_id": "91420103MA0000000A",
    "taxpayer_name": "武汉江汉示范商贸有限公司",
    "region": "420103",
    "taxpayer_kind": 1,
    "family": 1,
    "training": 0,
    "firmware": "UK-3.2.1",
    "cert_serial": "A1B2C3D4E5F60718",
}
MONITOR = {
    "type": "026",
    "kpjzsj": 20261116235959,
    "bsqsrq": 20261001,
    "bszzrq": 20261031,
    "zxbsrq": 20261003,
    "scjzrq": 15,
    "dzkpxe": 9_999_999,
    "lxkpsc": 72,
    "lxzs": 500,
    "lxzsje": 100_000_000,
    "syrl": 4321,
    "offline_pending": 0,
}
CLEARING = {
    "version": 1,
    "taxpayer_id": "91420103MA0000000A",
    "device_no": "661900000000",
    "period": 202610,
    "types": ["007", "026"],
    "kpjzsj": 20261215235959,
    "bsqsrq": 20261101,
    "bszzrq": 20261130,
    "issued_at": 20261105100005,
    "nonce": bytes(range(16)),
    "signature": bytes(range(64)),
}


def _json_value(value: Any) -> Any:
    return {"hex": value.hex()} if isinstance(value, bytes) else value


def build() -> dict[str, Any]:
    """Return the vectors."""
    crcs = [b"123456789", b"", b"\x00", b"88888888", bytes(range(256))]
    cbws = [
        {"tag": 1, "length": 18, "data_in": True, "cdb": cdb.encode_request_sense().hex()},
        {
            "tag": 0x12345678,
            "length": 512,
            "data_in": True,
            "cdb": cdb.encode_vendor_cdb(0x10).hex(),
        },
    ]
    csws = [{"tag": 1, "residue": 0, "status": 0}, {"tag": 0xDEADBEEF, "residue": 7, "status": 1}]
    cdbs = [
        {"op": 0x10, "data_out": "", "in_length": 300, "p1": 0, "p2": 0, "seq": 1},
        {"op": 0x11, "data_out": b"88888888".hex(), "in_length": 3, "p1": 0, "p2": 0, "seq": 2},
        {"op": 0x24, "data_out": "ab" * 200, "in_length": 60, "p1": 1, "p2": 2, "seq": 255},
    ]
    senses = [
        {"key": sense.KEY_ILLEGAL_REQUEST, "status": sense.SW_PIN_WRONG | 2, "detail": 2},
        {"key": sense.KEY_DATA_PROTECT, "status": sense.SW_ALREADY_CLEARED, "detail": 0},
    ]
    frames = [
        {"kind": serial_frame.KIND_HELLO, "seq": 0, "payload": ""},
        {
            "kind": serial_frame.KIND_BULK_OUT,
            "seq": 7,
            "payload": bot.encode_cbw(3, 18, True, b"\x03\0\0\0\x12\0").hex(),
        },
        {"kind": serial_frame.KIND_IN_DATA, "seq": 200, "payload": "a55a" * 40},
    ]
    responses = [
        ("identify", IDENTITY),
        ("read_monitor", MONITOR),
        ("read_clock", {"clock": 20261105100000}),
        ("list_types", {"types": ["004", "007", "026"]}),
        ("verify_pin", {"tries_left": 5}),
    ]
    good_cbw = bot.encode_cbw(9, 64, True, cdb.encode_vendor_cdb(0x21))
    good_frame = serial_frame.encode_frame(serial_frame.Frame(serial_frame.KIND_ACK, 1, b"xy"))
    clearing_raw = commands.CLEARING_LAYOUT.encode(CLEARING)
    garbage = [
        ("cbw", good_cbw[:20], "NeedMore"),
        ("cbw", b"USBX" + good_cbw[4:], "BadFrame"),
        ("cbw", good_cbw[:8] + (0x7FFFFFFF).to_bytes(4, "little") + good_cbw[12:], "TooLarge"),
        ("cbw", good_cbw[:12] + b"\x81" + good_cbw[13:], "BadFrame"),
        ("cbw", good_cbw[:14] + b"\x11" + good_cbw[15:], "BadFrame"),
        ("csw", bot.encode_csw(1, 0, 0)[:12] + b"\x03", "BadFrame"),
        ("csw", b"USBS", "NeedMore"),
        ("cdb", b"\xfd" + cdb.encode_vendor_cdb(0x21)[1:], "BadFrame"),
        ("cdb", cdb.encode_vendor_cdb(0x21)[:15] + b"\x01", "BadFrame"),
        (
            "cdb",
            cdb.encode_vendor_cdb(0x21)[:4] + b"\xff\xff" + cdb.encode_vendor_cdb(0x21)[6:],
            "TooLarge",
        ),
        ("sense", bytes(18), "BadFrame"),
        ("sense", b"\x70\x00", "NeedMore"),
        ("frame", good_frame[:-1] + bytes((good_frame[-1] ^ 1,)), "BadCheck"),
        ("frame", b"\xa5\x5a\x81\x01\xff\xff", "TooLarge"),
        ("frame", b"\xa5\x5a\x99\x01\x00\x00\x00\x00", "BadFrame"),
        ("frame", b"\xa5\x5a\x81", "NeedMore"),
        ("frame", b"\x00\xa5", "BadFrame"),
        ("clearing", clearing_raw[:40], "NeedMore"),
        ("clearing", clearing_raw[:1] + b"\x01" * 20 + clearing_raw[21:], "BadFrame"),
        ("clearing", clearing_raw[:46] + b"\x13" + clearing_raw[47:], "BadFrame"),
        ("clearing", clearing_raw + b"\x00", "BadFrame"),
    ]
    return {
        "crc": [
            {"hex": d.hex(), "crc": crc.crc16_x25(d), "check": crc.check_byte(d)} for d in crcs
        ],
        "cbw": [
            {
                "fields": f,
                "hex": bot.encode_cbw(
                    f["tag"], f["length"], f["data_in"], bytes.fromhex(f["cdb"])
                ).hex(),
            }
            for f in cbws
        ],
        "csw": [
            {"fields": f, "hex": bot.encode_csw(f["tag"], f["residue"], f["status"]).hex()}
            for f in csws
        ],
        "cdb": [
            {
                "fields": f,
                "hex": cdb.encode_vendor_cdb(
                    f["op"],
                    bytes.fromhex(f["data_out"]),
                    f["in_length"],
                    f["p1"],
                    f["p2"],
                    f["seq"],
                ).hex(),
            }
            for f in cdbs
        ],
        "sense": [
            {
                "fields": f,
                "hex": sense.encode_sense(sense.Sense(f["key"], f["status"], f["detail"])).hex(),
            }
            for f in senses
        ],
        "frame": [
            {
                "fields": f,
                "hex": serial_frame.encode_frame(
                    serial_frame.Frame(f["kind"], f["seq"], bytes.fromhex(f["payload"]))
                ).hex(),
            }
            for f in frames
        ],
        "responses": [
            {
                "command": name,
                "values": {k: _json_value(v) for k, v in values.items()},
                "hex": commands.encode_response(commands.command(name), values).hex(),
            }
            for name, values in responses
        ],
        "clearing": [
            {
                "values": {k: _json_value(v) for k, v in CLEARING.items()},
                "hex": clearing_raw.hex(),
                "signed_length": len(commands.signed_bytes(commands.CLEARING_LAYOUT, CLEARING)),
            }
        ],
        "garbage": [{"codec": c, "hex": raw.hex(), "error": err} for c, raw, err in garbage],
    }


def main() -> None:
    """Write vectors.json."""
    text = json.dumps(build(), ensure_ascii=False, indent=1)
    (HERE / "vectors.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
