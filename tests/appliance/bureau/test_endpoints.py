"""Per-province endpoint selection."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.bureau.endpoints import (
    AUTHORITIES,
    EndpointError,
    EndpointTable,
    authority_name,
    authority_prefix,
)


def test_longest_prefix_wins() -> None:
    table = EndpointTable({"44": "https://gd.example/", "4403": "https://sz.example"})
    assert table.url_for("440305") == "https://sz.example"
    assert table.url_for("440106") == "https://gd.example"
    with pytest.raises(EndpointError):
        table.url_for("420103")


def test_authorities() -> None:
    assert authority_prefix("420103") == "42"
    assert authority_prefix("370212") == "3702"
    assert authority_name("4403") == "国家税务总局深圳市税务局"
    with pytest.raises(EndpointError):
        authority_prefix("990000")
    assert len({name for name, _ in AUTHORITIES.values()}) == len(AUTHORITIES)


def test_per_authority_table() -> None:
    table = EndpointTable.per_authority("https://127.0.0.1:8443/")
    assert table.url_for("420106") == "https://127.0.0.1:8443/hubei"
    assert table.url_for("210204") == "https://127.0.0.1:8443/dalian"


@pytest.mark.parametrize(
    "urls",
    [{"4": "https://a.example"}, {"42": "http://plain.example"}, {"42": "https://"}],
)
def test_bad_tables_are_refused(urls: dict[str, str]) -> None:
    with pytest.raises(EndpointError):
        EndpointTable(urls)


def test_file_loading_is_capped(tmp_path: Path) -> None:
    good = tmp_path / "endpoints.json"
    good.write_text(json.dumps({"42": "https://hubei.example"}))
    assert EndpointTable.from_file(good).url_for("420100") == "https://hubei.example"
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (64 * 1024 + 1))
    with pytest.raises(EndpointError, match="larger"):
        EndpointTable.from_file(big)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff")
    with pytest.raises(EndpointError):
        EndpointTable.from_file(bad)
    with pytest.raises(EndpointError):
        EndpointTable.from_mapping(["https://x.example"])


@given(st.text(max_size=8))
def test_any_region_text_is_answered_or_refused_typed(region: str) -> None:
    table = EndpointTable.per_authority("https://bureau.example")
    with contextlib.suppress(EndpointError):
        assert table.url_for(region).startswith("https://bureau.example/")


@given(
    st.one_of(
        st.dictionaries(st.text(max_size=5), st.text(max_size=30), max_size=4),
        st.lists(st.text(max_size=5), max_size=3),
        st.integers(),
    )
)
def test_any_json_table_is_a_table_or_refused_typed(data: object) -> None:
    with contextlib.suppress(EndpointError):
        EndpointTable.from_mapping(data)
