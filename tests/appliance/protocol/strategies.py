"""Hypothesis strategies that produce valid values for any field layout of the command table."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from appliance.protocol.fields import MAX_BLOB, MAX_TYPES, Layout

_dates = st.dates(
    min_value=__import__("datetime").date(1900, 1, 1),
    max_value=__import__("datetime").date(9999, 12, 31),
)
_date_ints = _dates.map(lambda d: d.year * 10000 + d.month * 100 + d.day)
_datetime_ints = st.tuples(
    _date_ints, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)
).map(lambda t: t[0] * 1_000_000 + t[1] * 10000 + t[2] * 100 + t[3])
_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_type_codes = st.integers(0, 999).map(lambda n: f"{n:03d}")


def _field(base: str, size: int) -> st.SearchStrategy[Any]:
    if base in ("u8", "u16", "u32", "u64"):
        return st.integers(0, (1 << (8 * size)) - 1)
    if base == "date":
        return st.one_of(st.just(0), _date_ints)
    if base == "datetime":
        return st.one_of(st.just(0), _datetime_ints)
    if base == "ascii":
        # NUL padding means a value cannot end in NUL, and the codec strips nothing else.
        return st.text(_printable, max_size=size)
    if base == "raw":
        return st.binary(min_size=size, max_size=size)
    if base == "text":
        return st.text(max_size=60).filter(lambda s: len(s.encode()) <= 255)
    if base == "blob":
        return st.binary(max_size=min(MAX_BLOB, 200))
    return st.lists(_type_codes, max_size=MAX_TYPES)


def values_for(layout: Layout) -> st.SearchStrategy[dict[str, Any]]:
    """Return a strategy of complete, valid value dicts for ``layout``."""
    return st.fixed_dictionaries({name: _field(base, size) for name, base, size in layout.fields})
