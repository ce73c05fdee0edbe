# mypy: disable-error-code="type-arg"
# (State and records are JSON objects, typed as bare dict, i.e. dict[Any, Any]: core code runs on
# MicroPython and cannot import typing for Any.)
"""Period statistics of one invoice type: plausible numbers and the stock arithmetic behind them.

Every blank invoice (paper, or an e-invoice number allocated to the device) leaves the stock in
exactly one way, so the stock of a period balances as::

    stock_end = stock_start + bought - returned - issued_count - negative_count - void_count

Issued (blue), negative (red) and voided invoices each use their own invoice number. Amounts are
fen before tax; negative amounts are stored as magnitudes (the field is unsigned).

The numbers come from SHA-256 of a seed string, so the same device, type and period always show
the same figures: on the box, in the bureau simulator and after a restart.
"""

import hashlib

STAT_FIELDS = (
    "issued_count",
    "issued_amount",
    "issued_tax",
    "negative_count",
    "negative_amount",
    "negative_tax",
    "void_count",
    "void_amount",
    "stock_start",
    "bought",
    "returned",
    "stock_end",
)

# VAT rates in percent: 13% on goods for a general taxpayer; 1% for small-scale taxpayers (the
# reduced rate in force 2023-2027).
RATE_GENERAL = 13
RATE_SMALL = 1
# Blank invoices come in packs of this many.
PACK = 100


class _Draw:
    """Successive small numbers drawn from a hash."""

    __slots__ = ("_digest", "_pos", "_seed")

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._digest = hashlib.sha256(seed.encode()).digest()
        self._pos = 0

    def between(self, low: int, high: int) -> int:
        if self._pos + 4 > len(self._digest):
            # Chain the hash for more draws than one digest holds.
            self._digest = hashlib.sha256(self._digest + self._seed.encode()).digest()
            self._pos = 0
        raw = int.from_bytes(self._digest[self._pos : self._pos + 4], "big")
        self._pos += 4
        return low + raw % (high - low + 1)


def balance(stats: dict) -> int:
    """Return the stock at the end of the period the other fields describe."""
    return int(
        stats["stock_start"]
        + stats["bought"]
        - stats["returned"]
        - stats["issued_count"]
        - stats["negative_count"]
        - stats["void_count"]
    )


def generate(seed: str, small: bool, stock_start: int) -> dict:
    """Return the statistics of one period: ``seed`` names device, type and period."""
    draw = _Draw(seed)
    rate = RATE_SMALL if small else RATE_GENERAL
    if small:
        issued = draw.between(4, 60)
        average = draw.between(3000, 80000)
    else:
        issued = draw.between(40, 360)
        average = draw.between(60000, 600000)
    issued_amount = issued * average + draw.between(0, 99)
    negative = draw.between(0, 3)
    negative_amount = negative * (average // 2 + draw.between(0, 999))
    void = draw.between(0, 4)
    void_amount = void * (average + draw.between(0, 999))
    used = issued + negative + void
    bought = 0
    if stock_start < used + PACK // 4:
        bought = (used + PACK // 4 - stock_start + PACK - 1) // PACK * PACK
    # A few invoices go back to the tax office now and then (a damaged pack, a closed outlet).
    returned = draw.between(0, 5) if draw.between(0, 9) == 0 else 0
    stock_free = stock_start + bought - used
    returned = min(returned, stock_free)
    stats = {
        "issued_count": issued,
        "issued_amount": issued_amount,
        "issued_tax": issued_amount * rate // 100,
        "negative_count": negative,
        "negative_amount": negative_amount,
        "negative_tax": negative_amount * rate // 100,
        "void_count": void,
        "void_amount": void_amount,
        "stock_start": stock_start,
        "bought": bought,
        "returned": returned,
        "stock_end": 0,
    }
    stats["stock_end"] = balance(stats)
    return stats
