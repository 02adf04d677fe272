"""Terminal output for the command line: colours, value formats, and tables that fit the width.

Colours only go to a terminal and never when ``NO_COLOR`` is set (https://no-color.org).
Tables fit ``COLUMNS`` or the terminal's width; into a pipe or a file they are not cut.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

_COLOURS = {"green": "32", "red": "31", "yellow": "33", "blue": "34", "bold": "1", "dim": "2"}
STATUS_COLOURS = {"FINISHED": "green", "FAILED": "red", "KILLED": "yellow", "RUNNING": "blue"}
_WIDEST_CELL = 40
ELLIPSIS = "…"


class Style:
    """ANSI colours when ``out`` is a terminal and ``NO_COLOR`` is unset; plain text otherwise."""

    def __init__(self, out: TextIO) -> None:
        isatty = getattr(out, "isatty", None)
        self.enabled = not os.environ.get("NO_COLOR") and bool(isatty and isatty())

    def paint(self, text: str, colour: str | None) -> str:
        if not self.enabled or not colour or not text:
            return text
        return f"\033[{_COLOURS[colour]}m{text}\033[0m"

    def status(self, text: str, status: str) -> str:
        return self.paint(text, STATUS_COLOURS.get(status))


def width_limit(out: TextIO) -> int | None:
    """Characters a line may take: ``COLUMNS``, else the terminal's; None into a pipe or file."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    isatty = getattr(out, "isatty", None)
    if isatty and isatty():
        return shutil.get_terminal_size().columns
    return None


def cut(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS if width > 0 else ""


def number(value: float | None, digits: int = 6) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def local_time(milliseconds: int | None) -> str:
    if not milliseconds:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(milliseconds / 1000))


@dataclass
class Column:
    header: str
    cell: Callable[[Any], str]
    numeric: bool = False
    #: Dropped last (and shrunk first) when the table is too wide.
    required: bool = False
    status: bool = False


class Table:
    """A table whose column widths are planned from its first rows, then streamed row by row.

    Columns that do not fit the width limit are left out (``hidden`` says how many); required
    columns are shrunk instead. Cells longer than their column end in an ellipsis.
    """

    def __init__(self, columns: Sequence[Column], out: TextIO, style: Style,
                 limit: int | None) -> None:
        self.columns = list(columns)
        self.out = out
        self.style = style
        self.limit = limit
        self.widths: list[int] = []
        self.shown: list[Column] = []
        self.hidden = 0

    def plan(self, sample: Sequence[Any]) -> None:
        natural = []
        for column in self.columns:
            cells = [len(column.cell(item)) for item in sample]
            natural.append(min(max([len(column.header), *cells]), _WIDEST_CELL))
        required = [i for i, column in enumerate(self.columns) if column.required]
        chosen = list(required)
        used = sum(natural[i] for i in chosen) + 2 * max(0, len(chosen) - 1)
        for index, _column in enumerate(self.columns):
            if index in chosen:
                continue
            if self.limit is not None and used + 2 + natural[index] > self.limit:
                self.hidden = len(self.columns) - len(chosen)
                break
            chosen.append(index)
            used += 2 + natural[index]
        chosen.sort()
        widths = {i: natural[i] for i in chosen}
        overflow = 0 if self.limit is None else used - self.limit
        for index in sorted(required, key=lambda i: -natural[i]):  # shrink the widest first
            if overflow <= 0:
                break
            cut_by = min(overflow, widths[index] - 6)
            if cut_by > 0:
                widths[index] -= cut_by
                overflow -= cut_by
        self.shown = [self.columns[i] for i in chosen]
        self.widths = [widths[i] for i in chosen]

    def write_header(self) -> None:
        cells = [self._fit(column.header, width, column.numeric)
                 for column, width in zip(self.shown, self.widths, strict=True)]
        self.out.write(self.style.paint("  ".join(cells).rstrip(), "bold") + "\n")

    def write_row(self, item: Any) -> None:
        cells = []
        for column, width in zip(self.shown, self.widths, strict=True):
            text = self._fit(column.cell(item), width, column.numeric)
            cells.append(self.style.status(text, text.strip()) if column.status else text)
        self.out.write("  ".join(cells).rstrip() + "\n")

    @staticmethod
    def _fit(text: str, width: int, numeric: bool) -> str:
        text = cut(text, width)
        return text.rjust(width) if numeric else text.ljust(width)
