"""Protocol codec throughput under MicroPython: ``micropython bench/mp_codec.py ROOT SECONDS``.

Prints one JSON line: exchanges per second (encode CBW + CDB + a response, decode them back).
"""

import json
import sys
import time

sys.path.insert(0, sys.argv[1])

from bench.codec_work import one_exchange


def main():
    seconds = float(sys.argv[2])
    count = 0
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < seconds * 1000:
        one_exchange()
        count += 1
    elapsed = time.ticks_diff(time.ticks_ms(), start) / 1000
    print(json.dumps({"exchanges": count, "seconds": elapsed}))


main()
