"""Entry points and distribution versions, read straight from ``*.dist-info`` folders.

``importlib.metadata`` costs ~40 ms to import here (it pulls in ``email``, ``zipfile`` and
``csv``), almost the whole budget of ``import autolog; autolog.autolog()``. What autolog needs
from it is small: the entry points of two groups and a few versions, all of which sit in plain
files on ``sys.path``. Anything unusual (zipped eggs, custom finders) falls back to
``importlib.metadata``, so answers never differ, only the cost does.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any, NamedTuple

_NORMALIZE = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    return _NORMALIZE.sub("_", name).lower()


class EntryPoint(NamedTuple):
    """The subset of ``importlib.metadata.EntryPoint`` autolog uses."""

    name: str
    value: str
    group: str

    def load(self) -> Any:
        module_name, _, attribute = self.value.partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for part in attribute.split("[", 1)[0].strip().split(".") if attribute else ():
            target = getattr(target, part)
        return target


def _metadata_dirs() -> list[tuple[str, str]]:
    """``(normalized distribution name, folder)`` in ``sys.path`` order, first one wins."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") or name.endswith(".egg-info"):
                distribution = normalize(name.rsplit(".", 1)[0].split("-", 1)[0])
                found.setdefault(distribution, os.path.join(entry or ".", name))
    return list(found.items())


def _parse_entry_points(text: str, group: str) -> list[EntryPoint]:
    points: list[EntryPoint] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
        elif current == group and "=" in line:
            name, _, value = line.partition("=")
            points.append(EntryPoint(name.strip(), value.strip(), group))
    return points


def entry_points(group: str) -> list[EntryPoint]:
    try:
        points: list[EntryPoint] = []
        for _distribution, folder in _metadata_dirs():
            path = os.path.join(folder, "entry_points.txt")
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    points.extend(_parse_entry_points(handle.read(), group))
        return points
    except Exception:  # an odd layout: let the standard library answer
        import importlib.metadata

        return [EntryPoint(ep.name, ep.value, group)
                for ep in importlib.metadata.entry_points(group=group)]


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    wanted = normalize(distribution)
    for name, folder in _metadata_dirs():
        if name != wanted:
            continue
        base = os.path.basename(folder).rsplit(".", 1)[0]
        if "-" in base:
            return base.split("-", 1)[1]
        for filename in ("METADATA", "PKG-INFO"):
            path = os.path.join(folder, filename)
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        if line.startswith("Version:"):
                            return line.split(":", 1)[1].strip()
                        if not line.strip():
                            break
    import importlib.metadata  # not found the fast way: ask the standard library

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
