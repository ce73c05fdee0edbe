"""Check the protocol codecs against vectors.json; runs on CPython and under MicroPython.

Usage under MicroPython: ``micropython vector_runner.py REPO_ROOT VECTORS_FILE``. Prints one line
per failure and a final ``ok N`` / ``FAILED N of M`` line; exits 1 on any failure.
"""

import json
import sys


def _value(value):
    # bytes travel in JSON as {"hex": "..."}
    if isinstance(value, dict) and "hex" in value:
        return bytes.fromhex(value["hex"])
    return value


def _values(mapping):
    out = {}
    for key in mapping:
        out[key] = _value(mapping[key])
    return out


def _same(decoded, expected):
    for key in expected:
        if decoded[key] != expected[key]:
            return False
    return len(decoded) == len(expected)


def run(vectors):
    """Return a list of failure descriptions (empty when every vector holds)."""
    from appliance.protocol import bot, cdb, commands, crc, sense, serial_frame

    decoders = {
        "cbw": bot.decode_cbw,
        "csw": bot.decode_csw,
        "cdb": cdb.decode_vendor_cdb,
        "sense": sense.decode_sense,
        "frame": lambda buf: serial_frame.decode_frame(buf)[0],
        "clearing": commands.CLEARING_LAYOUT.decode,
    }
    failures = []

    def check(name, ok):
        if not ok:
            failures.append(name)

    for v in vectors["crc"]:
        data = bytes.fromhex(v["hex"])
        check("crc %s" % v["hex"], crc.crc16_x25(data) == v["crc"])
        check("check byte %s" % v["hex"], crc.check_byte(data) == v["check"])
    for v in vectors["cbw"]:
        f = v["fields"]
        raw = bot.encode_cbw(f["tag"], f["length"], f["data_in"], bytes.fromhex(f["cdb"]))
        check("cbw encode %d" % f["tag"], raw.hex() == v["hex"])
        back = bot.decode_cbw(bytes.fromhex(v["hex"]))
        check("cbw decode %d" % f["tag"], back.tag == f["tag"] and back.cdb.hex() == f["cdb"])
    for v in vectors["csw"]:
        f = v["fields"]
        check(
            "csw %d" % f["tag"],
            bot.encode_csw(f["tag"], f["residue"], f["status"]).hex() == v["hex"],
        )
        back = bot.decode_csw(bytes.fromhex(v["hex"]))
        check(
            "csw decode %d" % f["tag"], back.residue == f["residue"] and back.status == f["status"]
        )
    for v in vectors["cdb"]:
        f = v["fields"]
        out = bytes.fromhex(f["data_out"])
        raw = cdb.encode_vendor_cdb(f["op"], out, f["in_length"], f["p1"], f["p2"], f["seq"])
        check("cdb 0x%02x" % f["op"], raw.hex() == v["hex"])
        back = cdb.decode_vendor_cdb(raw)
        cdb.verify_out_data(back, out)
    for v in vectors["sense"]:
        f = v["fields"]
        raw = sense.encode_sense(sense.Sense(f["key"], f["status"], f["detail"]))
        check("sense 0x%04x" % f["status"], raw.hex() == v["hex"])
        check(
            "sense decode",
            sense.decode_sense(raw) == sense.Sense(f["key"], f["status"], f["detail"]),
        )
    for v in vectors["frame"]:
        f = v["fields"]
        frame = serial_frame.Frame(f["kind"], f["seq"], bytes.fromhex(f["payload"]))
        check("frame %d" % f["seq"], serial_frame.encode_frame(frame).hex() == v["hex"])
        decoder = serial_frame.FrameDecoder()
        raw = bytes.fromhex(v["hex"])
        got = None
        for i in range(len(raw)):  # one byte at a time
            decoder.feed(raw[i : i + 1])
            got = decoder.next_frame() or got
        check("frame bytewise %d" % f["seq"], got == frame)
    for v in vectors["responses"]:
        cmd = commands.command(v["command"])
        values = _values(v["values"])
        raw = commands.encode_response(cmd, values)
        check("response %s" % v["command"], raw.hex() == v["hex"])
        check(
            "response decode %s" % v["command"], _same(commands.decode_response(cmd, raw), values)
        )
    for v in vectors["clearing"]:
        values = _values(v["values"])
        raw = commands.CLEARING_LAYOUT.encode(values)
        check("clearing encode", raw.hex() == v["hex"])
        signed = commands.signed_bytes(commands.CLEARING_LAYOUT, values)
        check("clearing signed part", raw.startswith(signed) and len(signed) == v["signed_length"])
    for v in vectors["garbage"]:
        name = "garbage %s %s" % (v["codec"], v["hex"][:24])
        try:
            decoders[v["codec"]](bytes.fromhex(v["hex"]))
        except Exception as exc:
            check(name + " raised " + type(exc).__name__, type(exc).__name__ == v["error"])
        else:
            check(name + " was accepted", False)
    return failures


def count(vectors):
    """Return how many vectors the file holds."""
    total = 0
    for key in vectors:
        if isinstance(vectors[key], list):
            total += len(vectors[key])
    return total


def main(argv):
    sys.path.insert(0, argv[1])
    with open(argv[2]) as handle:
        vectors = json.load(handle)
    failures = run(vectors)
    for failure in failures:
        print("FAIL", failure)
    if failures:
        print("FAILED %d of %d" % (len(failures), count(vectors)))
        return 1
    print("ok %d" % count(vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
