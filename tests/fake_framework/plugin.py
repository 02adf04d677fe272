"""Registering test plugins through the real discovery path, without touching the environment.

The registry reads plugins from ``autolog._discovery.entry_points()`` only; these helpers add
entry points there (as an installed package's metadata would) and make it discover again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint

from autolog import _discovery

FAKE_ENTRY_POINT = EntryPoint(
    name="fakeml", value="tests.fake_framework.fake_integration:FakeIntegration",
    group=_discovery.GROUP,
)
FAKE_NAME = FAKE_ENTRY_POINT.name
FAKE_MODULE = "tests.fake_framework.fakeml"


def entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=_discovery.GROUP)


def install(*extra: EntryPoint, only: bool = False) -> None:
    """Make discovery see ``extra`` (default: the fake framework's plugin) from now on.

    ``only=True`` hides the installed plugins. For a subprocess; tests use :func:`registered`.
    """
    installed = _discovery.entry_points
    extra = extra or (FAKE_ENTRY_POINT,)

    def with_extra() -> list[EntryPoint]:
        return ([] if only else installed()) + list(extra)

    _discovery.entry_points = with_extra  # type: ignore[assignment]
    _discovery.refresh()


@contextmanager
def registered(*extra: EntryPoint, only: bool = False) -> Iterator[None]:
    """:func:`install` for the duration of a block."""
    installed = _discovery.entry_points
    install(*extra, only=only)
    try:
        yield
    finally:
        _discovery.entry_points = installed  # type: ignore[assignment]
        _discovery.refresh()
