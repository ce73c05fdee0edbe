"""The strict, safe XML reader."""

from __future__ import annotations

import re

import pytest

from appliance.bureau import xmlcodec
from appliance.bureau.xmlcodec import XmlError, XmlTooLarge

DIGITS = re.compile(r"\d+")


def test_parse_checks_size_encoding_and_root() -> None:
    assert xmlcodec.parse(b"<a/>", "a", 10).tag == "a"
    with pytest.raises(XmlTooLarge):
        xmlcodec.parse(b"<a></a>", "a", 6)
    with pytest.raises(XmlError, match="UTF-8"):
        xmlcodec.parse(b"<a>\xff</a>", "a", 100)
    with pytest.raises(XmlError, match="root"):
        xmlcodec.parse(b"<b/>", "a", 100)
    with pytest.raises(XmlError, match="well-formed"):
        xmlcodec.parse(b"<a>", "a", 100)


def test_billion_laughs_is_refused_without_expanding() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY l0 "ha">'
        + b"".join(
            b'<!ENTITY l%d "%s">' % (n, b"".join(b"&l%d;" % (n - 1) for _ in range(10)))
            for n in range(1, 10)
        )
        + b"]><a>&l9;</a>"
    )
    with pytest.raises(XmlError):
        xmlcodec.parse(bomb, "a", 10_000)


def test_children_are_strict() -> None:
    root = xmlcodec.parse(b"<r><a>1</a><b>2</b></r>", "r", 100)
    assert set(xmlcodec.children(root, ["a"], ["b"])) == {"a", "b"}
    with pytest.raises(XmlError, match="unexpected"):
        xmlcodec.children(root, ["a"])
    with pytest.raises(XmlError, match="missing"):
        xmlcodec.children(root, ["a", "b", "c"])
    twice = xmlcodec.parse(b"<r><a>1</a><a>2</a></r>", "r", 100)
    with pytest.raises(XmlError, match="repeated"):
        xmlcodec.children(twice, ["a"])
    stray = xmlcodec.parse(b"<r><a>1</a>tail</r>", "r", 100)
    with pytest.raises(XmlError, match="text after"):
        xmlcodec.children(stray, ["a"])


def test_values_are_matched_in_full() -> None:
    root = xmlcodec.parse(b'<r><a>12</a><b x="1">3</b><c>4a</c></r>', "r", 100)
    found = xmlcodec.children(root, ["a", "b", "c"])
    assert xmlcodec.value(found["a"], DIGITS) == "12"
    assert xmlcodec.value(found["b"], DIGITS, {"x": "1"}) == "3"
    with pytest.raises(XmlError, match="attributes"):
        xmlcodec.value(found["b"], DIGITS)
    with pytest.raises(XmlError, match="expected form"):
        xmlcodec.value(found["c"], DIGITS)


def test_build_escapes_text() -> None:
    element = xmlcodec.build(
        "r", [("a", "<&>"), ("l", [("i", "1"), ("i", "2")])], {"r": {"v": "1"}}
    )
    data = xmlcodec.serialize(element)
    assert b"&lt;&amp;&gt;" in data
    parsed = xmlcodec.parse(data, "r", 1000)
    assert parsed.attrib == {"v": "1"}
    assert [item.text for item in xmlcodec.repeated(parsed[1], "i", 2)] == ["1", "2"]
    with pytest.raises(XmlError, match="cap"):
        xmlcodec.repeated(parsed[1], "i", 1)
