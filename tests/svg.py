"""Reading the SVG plots autolog writes, as a user's browser would: parsed as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def parse(data: bytes) -> ET.Element:
    """The document's root; fails the test unless ``data`` is well-formed SVG."""
    assert isinstance(data, bytes) and data, "no SVG bytes"
    root = ET.fromstring(data)  # raises ParseError on malformed XML
    assert root.tag == f"{SVG}svg", root.tag
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0
    return root


def texts(root: ET.Element) -> list[str]:
    """Every ``<text>``'s content, in drawing order."""
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def title(root: ET.Element) -> str:
    found = root.find(f"{SVG}title")
    assert found is not None, "no <title>"
    return found.text or ""


def elements(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(f"{SVG}{tag}"))
