"""Argument schemas: what passes, what is refused and how the refusal names the argument."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.api.errors import BAD_REQUEST, ApiError
from appliance.api.schema import Arg, ArgSchema

SCHEMA = ArgSchema(
    Arg("device", str, min_len=1, max_len=32, pattern=r"[A-Za-z0-9:._-]+"),
    Arg("limit", int, required=False, default=20, minimum=1, maximum=100),
    Arg("ratio", float, required=False),
    Arg("force", bool, required=False, default=False),
    Arg("lang", str, required=False, choices=("zh", "en")),
    Arg("types", list, required=False, max_len=3, items=Arg("type", str, choices=("004", "007"))),
)


def refusal(message: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        SCHEMA.validate(message)
    assert caught.value.code == BAD_REQUEST
    return caught.value


def test_defaults_fill_what_was_left_out_and_the_envelope_is_dropped() -> None:
    assert SCHEMA.validate({"id": 1, "cmd": "history", "device": "usb:1234:5678"}) == {
        "device": "usb:1234:5678",
        "limit": 20,
        "ratio": None,
        "force": False,
        "lang": None,
        "types": None,
    }


def test_null_counts_as_left_out() -> None:
    assert SCHEMA.validate({"device": "d", "limit": None})["limit"] == 20


def test_an_int_is_widened_for_a_float_argument() -> None:
    checked = SCHEMA.validate({"device": "d", "ratio": 2})
    assert checked["ratio"] == 2.0
    assert isinstance(checked["ratio"], float)


def test_valid_values_pass() -> None:
    checked = SCHEMA.validate(
        {"device": "d", "limit": 100, "force": True, "lang": "en", "types": ["004", "007"]}
    )
    assert checked["types"] == ["004", "007"]


def test_list_defaults_are_not_shared_between_requests() -> None:
    schema = ArgSchema(Arg("tags", list, required=False, default=[], items=Arg("tag", str)))
    first = schema.validate({})
    first["tags"].append("changed")
    assert schema.validate({}) == {"tags": []}


@pytest.mark.parametrize(
    ("message", "arg"),
    [
        ({}, "device"),
        ({"device": None}, "device"),
        ({"device": 5}, "device"),
        ({"device": ""}, "device"),
        ({"device": "x" * 33}, "device"),
        ({"device": "bad device"}, "device"),
        ({"device": "d", "limit": 0}, "limit"),
        ({"device": "d", "limit": 101}, "limit"),
        ({"device": "d", "limit": 2.5}, "limit"),
        ({"device": "d", "limit": True}, "limit"),
        ({"device": "d", "limit": "5"}, "limit"),
        ({"device": "d", "ratio": False}, "ratio"),
        ({"device": "d", "force": 1}, "force"),
        ({"device": "d", "lang": "fr"}, "lang"),
        ({"device": "d", "types": "004"}, "types"),
        ({"device": "d", "types": ["004", "026"]}, "type"),
        ({"device": "d", "types": ["004"] * 4}, "types"),
        ({"device": "d", "types": [4]}, "type"),
        ({"device": "d", "devcie": "typo"}, "devcie"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(message: dict[str, Any], arg: str) -> None:
    error = refusal(message)
    assert error.details == {"arg": arg}
    assert arg in error.message
    assert arg in error.message_zh


def test_a_long_unknown_name_is_echoed_short() -> None:
    error = refusal({"device": "d", "z" * 10_000: 1})
    assert len(error.message) < 100


@pytest.mark.parametrize(
    "make",
    [
        lambda: Arg("Device", str),
        lambda: Arg("id", str),
        lambda: Arg("cmd", str),
        lambda: Arg("when", dict),
        lambda: Arg("tags", list),
        lambda: Arg("name", str, items=Arg("x", str)),
        lambda: Arg("limit", int, default=5),
        lambda: Arg("limit", int, required=False, default=500, maximum=100),
        lambda: ArgSchema(Arg("a", str), Arg("a", int)),
    ],
)
def test_schema_mistakes_fail_at_definition(make: Any) -> None:
    with pytest.raises(ValueError):
        make()
