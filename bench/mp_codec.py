"""Protocol codec throughput under MicroPython: ``micropython bench/mp_codec.py ROOT SECONDS``.

Prints one JSON line: exchanges per second (encode CBW + CDB + a response, decode them back).
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

from appliance.protocol.compat import ticks_diff, ticks_ms
from bench.codec_work import one_exchange


def main() -> None:
    """Run the codec loop for the given seconds and print the count."""
    seconds = float(sys.argv[2])
    count = 0
    start = ticks_ms()
    while ticks_diff(ticks_ms(), start) < seconds * 1000:
        one_exchange()
        count += 1
    elapsed = ticks_diff(ticks_ms(), start) / 1000
    print(json.dumps({"exchanges": count, "seconds": elapsed}))


main()
