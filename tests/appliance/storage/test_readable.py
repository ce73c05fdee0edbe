"""The readable summary: fen to yuan exactly, unknown and odd fields tolerated."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from appliance.storage.readable import COLUMNS, read_summary, yuan


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_yuan_is_exact(fen: int) -> None:
    text = yuan(fen)
    assert Decimal(text) * 100 == fen
    assert len(text.split(".")[1]) == 2


def test_yuan_examples() -> None:
    assert yuan(0) == "0.00"
    assert yuan(5) == "0.05"
    assert yuan(-5) == "-0.05"
    assert yuan(123456789) == "1234567.89"


def test_unknown_fields_are_kept_and_odd_types_shown_as_found() -> None:
    summary = read_summary(
        "summary-004.json",
        json.dumps(
            {
                "type": "004",
                "issued_amount": "12.00",
                "issued_tax": True,
                "bsqsrq": 0,
                "bszzrq": 123,
                "future_field": [1, 2],
            }
        ).encode(),
    )
    assert summary.values["type_name"] == "增值税专用发票"
    assert summary.values["issued_amount"] == "12.00"
    assert summary.values["issued_tax"] == "true"
    assert summary.values["bsqsrq"] == ""
    assert summary.values["bszzrq"] == "123"
    assert summary.values["void_count"] == ""
    assert summary.other == {"future_field": [1, 2]}
    assert len(summary.row()) == len(COLUMNS)


@given(st.binary(max_size=300))
def test_any_bytes_give_a_row(content: bytes) -> None:
    summary = read_summary("x.json", content)
    assert len(summary.row()) == len(COLUMNS)
    assert summary.to_json()
