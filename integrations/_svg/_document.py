"""SVG markup built as a list of strings (a :class:`Document`, or a :class:`Fragment` of one
that can be cached and reused), and the escaping of text put in it.

Coordinates are written with one decimal (a tenth of a pixel): enough for any zoom a
browser applies to an image, and the same float always prints the same way, so the same
chart is the same bytes.
"""

from __future__ import annotations

import re

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
FONT_SIZE = 12
#: Average advance of one character, as a fraction of the font size: text cannot be measured
#: without a font, so layouts reserve room from the length of the longest label.
CHAR_WIDTH = 0.6

#: Characters XML 1.0 does not allow anywhere, even escaped (control characters, lone
#: surrogates, U+FFFE/U+FFFF): a label holding one would make the whole file unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` safe inside an element or an attribute value; characters XML forbids become
    U+FFFD (the replacement character)."""
    if _NOT_XML.search(text) is not None:
        text = _NOT_XML.sub("\ufffd", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut label ends with an ellipsis."""
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "\u2026"


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated width in pixels of ``text`` set at ``size``."""
    return len(text) * size * CHAR_WIDTH


def number(value: float) -> str:
    """A coordinate: one decimal, no negative zero."""
    text = "%.1f" % value  # noqa: UP031 - the fastest of Python's float formattings
    return "0.0" if text == "-0.0" else text


class Fragment:
    """Elements appended in drawing order, as markup strings."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def markup(self) -> str:
        return "".join(self.parts)

    def add(self, markup: str) -> None:
        """Markup already escaped (the element helpers below escape what they are given)."""
        self.parts.append(markup)

    def text(self, x: float, y: float, content: str, *, anchor: str = "middle",
             size: float | None = None, bold: bool = False, fill: str | None = None,
             rotate: float | None = None) -> None:
        """One line of text; ``y`` is its vertical middle (``dy=".35em"``, which every SVG
        renderer supports, unlike ``dominant-baseline``)."""
        attributes = [f'x="{number(x)}" y="{number(y)}" dy=".35em"']
        if anchor != "start":
            attributes.append(f'text-anchor="{anchor}"')
        if size is not None:
            attributes.append(f'font-size="{number(size)}"')
        if bold:
            attributes.append('font-weight="bold"')
        if fill is not None:
            attributes.append(f'fill="{fill}"')
        if rotate is not None:
            attributes.append(f'transform="rotate({number(rotate)} {number(x)} {number(y)})"')
        self.parts.append(f"<text {' '.join(attributes)}>{escape(content)}</text>")

    def line(self, x1: float, y1: float, x2: float, y2: float, *, stroke: str = "#000000",
             width: float = 1.0, dash: str | None = None) -> None:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{number(x1)}" y1="{number(y1)}" x2="{number(x2)}" y2="{number(y2)}" '
            f'stroke="{stroke}" stroke-width="{number(width)}"{dashed}/>')

    def rect(self, x: float, y: float, width: float, height: float, *, fill: str,
             stroke: str | None = None) -> None:
        outline = f' stroke="{stroke}"' if stroke else ""
        self.parts.append(f'<rect x="{number(x)}" y="{number(y)}" width="{number(width)}" '
                          f'height="{number(height)}" fill="{fill}"{outline}/>')

    def polyline(self, points: str, *, stroke: str, width: float = 2.0,
                 dash: str | None = None) -> None:
        """``points``: ``"x y x y ..."`` (see :func:`integrations._svg._thin.points`)."""
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{points}" fill="none" stroke="{stroke}" '
                          f'stroke-width="{number(width)}" stroke-linejoin="round"{dashed}/>')


class Document(Fragment):
    """A whole SVG document: the root element, its title and a white background first;
    :meth:`to_bytes` closes it."""

    def __init__(self, width: float, height: float, title: str) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self.parts = [
            '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
            f'width="{number(width)}" height="{number(height)}" '
            f'viewBox="0 0 {number(width)} {number(height)}" '
            f'font-family="{FONT}" font-size="{FONT_SIZE}">',
            f"<title>{escape(title)}</title>",
            f'<rect width="{number(width)}" height="{number(height)}" fill="#ffffff"/>',
        ]

    def to_bytes(self) -> bytes:
        return (self.markup() + "</svg>\n").encode("utf-8")
