"""Safe, strict XML for the bureau's envelope and business bodies.

Parsing goes through defusedxml with DTDs forbidden, so no entity expansion ("billion laughs"),
no external entities and no network fetches can happen, and every document is capped in size
before the parser sees it. The reader is strict: a known root, known children each at most once,
no stray text, every value matched against a pattern. Anything else is a typed
:class:`XmlError`, never a parser exception leaking out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import ElementTree as SafeElementTree

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")


class XmlError(ValueError):
    """Bytes that are not the XML document expected."""


class XmlTooLarge(XmlError):
    """A document above its size cap, refused before parsing."""


def parse(data: bytes, root: str, max_bytes: int) -> Element:
    """Parse ``data`` (UTF-8, at most ``max_bytes``) and check its root element is ``root``."""
    if len(data) > max_bytes:
        raise XmlTooLarge(f"{root} document of {len(data)} bytes above the cap of {max_bytes}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XmlError(f"{root} document is not UTF-8: {exc}") from None
    declared = _ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise XmlError(f"{root} document declares encoding {declared.group(1)!r}, not UTF-8")
    try:
        element = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (ParseError, ValueError, LookupError) as exc:
        # DefusedXmlException is a ValueError; LookupError is an encoding Python lacks.
        raise XmlError(f"{root} document is not well-formed XML: {exc}") from None
    if element.tag != root:
        raise XmlError(f"root element <{element.tag}> where <{root}> was expected")
    return element


def children(
    element: Element, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Element]:
    """Map the children of ``element`` by tag; refuse unknown, repeated or missing ones."""
    required = tuple(required)
    allowed = set(required) | set(optional)
    _no_stray_text(element)
    found: dict[str, Element] = {}
    for child in element:
        if not isinstance(child.tag, str) or child.tag not in allowed:
            raise XmlError(f"unexpected element <{child.tag}> in <{element.tag}>")
        if child.tag in found:
            raise XmlError(f"element <{child.tag}> repeated in <{element.tag}>")
        found[child.tag] = child
    for name in required:
        if name not in found:
            raise XmlError(f"element <{name}> missing from <{element.tag}>")
    return found


def repeated(element: Element, tag: str, limit: int) -> list[Element]:
    """Return the children of ``element``, all of them ``tag``, at most ``limit``."""
    _no_stray_text(element)
    items = list(element)
    if len(items) > limit:
        raise XmlError(f"<{element.tag}> holds {len(items)} entries above the cap of {limit}")
    for child in items:
        if child.tag != tag:
            raise XmlError(f"unexpected element <{child.tag}> in <{element.tag}>")
    return items


def value(
    element: Element, pattern: re.Pattern[str], attributes: Mapping[str, str] | None = None
) -> str:
    """Return the text of a leaf element, which must match ``pattern`` in full."""
    if len(element):
        raise XmlError(f"<{element.tag}> has child elements where a value was expected")
    expected = dict(attributes or {})
    if element.attrib != expected:
        raise XmlError(f"<{element.tag}> has attributes {element.attrib!r}, expected {expected!r}")
    text = element.text or ""
    if not pattern.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise XmlError(f"<{element.tag}> value {shown!r} is not of the expected form")
    return text


def _no_stray_text(element: Element) -> None:
    if (element.text or "").strip():
        raise XmlError(f"<{element.tag}> holds text beside its child elements")
    for child in element:
        if (child.tail or "").strip():
            raise XmlError(f"text after <{child.tag}> in <{element.tag}>")


def build(
    root: str,
    fields: Iterable[tuple[str, str | list[tuple[str, str]]]],
    attributes: Mapping[str, Mapping[str, str]] | None = None,
) -> Element:
    """Return a root element whose children are leaf values or lists of leaf values.

    ``attributes`` maps a tag (the root's or a child's) to the attributes it carries.
    """
    attributes = attributes or {}
    element = Element(root, dict(attributes.get(root, {})))
    for name, content in fields:
        child = SubElement(element, name, dict(attributes.get(name, {})))
        if isinstance(content, str):
            child.text = content
        else:
            for sub_name, sub_text in content:
                SubElement(child, sub_name).text = sub_text
    return element


def serialize(element: Element) -> bytes:
    """Return the UTF-8 document of ``element`` with its XML declaration."""
    return _DECLARATION + tostring(element, encoding="unicode").encode("utf-8")
