"""Finding integrations: only through the ``autolog.integrations`` entry-point group.

This repository's own integrations register there in ``pyproject.toml`` exactly as a
third-party plugin would; the entry-point name is the integration's name and option key.

- A plugin whose import fails gives one ``AutologWarning``; the others still load.
- A malformed plugin (no name, a name registered twice, a bad version spec, a class that does
  not match its entry point) is a bug in that plugin: :func:`validate_plugin` raises a
  ``ValueError`` naming it. Under ``AUTOLOG_TESTING`` discovery raises it too, so a plugin's
  own tests fail; in a user's process it is a warning and the plugin is skipped.

Discovery runs once per process (``refresh()`` forgets it).
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from autolog import _metadata
from autolog._guard import testing, user_stacklevel
from autolog._integration import Integration, VersionSpec
from autolog._metadata import EntryPoint
from autolog._options import COMMON_OPTIONS
from autolog._warnings import warn_once

GROUP = "autolog.integrations"


class Plugin(NamedTuple):
    """One registered integration; ``integration`` is None when it could not be loaded."""

    name: str
    target: str  # "module:Class", as registered
    integration: type[Integration] | None
    error: str | None = None


_lock = threading.Lock()
_discovered: dict[str, Plugin] | None = None


def entry_points() -> list[EntryPoint]:
    """Every entry point of the group (tests add their fake framework's here)."""
    return _metadata.entry_points(GROUP)


def discover(*, refresh: bool = False) -> dict[str, Plugin]:
    """Every registered plugin by name, loaded and validated (cached)."""
    global _discovered
    with _lock:
        if _discovered is None or refresh:
            _discovered = _load_all(entry_points())
        return dict(_discovered)


def integrations() -> dict[str, type[Integration] | None]:
    """Name → integration class, or None where the plugin is broken."""
    return {name: plugin.integration for name, plugin in discover().items()}


def refresh() -> None:
    global _discovered
    with _lock:
        _discovered = None


def validate_plugin(cls: object, name: str, target: str = "") -> None:
    """Raise ``ValueError`` naming the plugin unless ``cls`` can be the integration ``name``."""
    label = f"autolog plugin {name!r}" + (f" ({target})" if target else "")
    if not isinstance(cls, type) or not issubclass(cls, Integration):
        raise ValueError(f"{label}: {cls!r} is not a subclass of autolog's Integration")
    if not name.isidentifier() or name in COMMON_OPTIONS or name == "disable":
        raise ValueError(f"{label}: the name must be a Python identifier that is not an "
                         "autolog option, since it is used as autolog(<name>=...)")
    if not cls.name:
        raise ValueError(f"{label}: {cls.__qualname__} has no name")
    if cls.name != name:
        raise ValueError(f"{label}: {cls.__qualname__}.name is {cls.name!r}, but it is "
                         f"registered as {name!r}; they must be the same")
    for attribute in ("modules", "distributions", "takes_over"):
        value = getattr(cls, attribute)
        if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{label}: {attribute} must be a tuple of non-empty str, "
                             f"not {value!r}")
    if not cls.modules:
        raise ValueError(f"{label}: modules is empty; name the framework module(s) it patches")
    if not isinstance(cls.supported_versions, str):
        raise ValueError(f"{label}: supported_versions must be a str like '>=1.2,<2'")
    try:
        VersionSpec.parse(cls.supported_versions)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    try:
        cls.validate_options({})
    except ValueError as exc:
        raise ValueError(f"{label}: its default options are invalid: {exc}") from None


def _load_all(found: list[EntryPoint]) -> dict[str, Plugin]:
    by_name: dict[str, list[EntryPoint]] = {}
    for entry_point in found:
        if not entry_point.name or not entry_point.name.strip():
            _malformed(f"autolog plugin {entry_point.value!r} is registered without a name")
            continue
        same = by_name.setdefault(entry_point.name, [])
        if all(other.value != entry_point.value for other in same):
            same.append(entry_point)
    plugins: dict[str, Plugin] = {}
    for name, entry_points_of_name in sorted(by_name.items()):
        targets = " and ".join(ep.value for ep in entry_points_of_name)
        if len(entry_points_of_name) > 1:
            error = f"autolog plugin {name!r} is registered more than once: {targets}"
            _malformed(error)
            plugins[name] = Plugin(name, targets, None, error)
            continue
        plugins[name] = _load_one(entry_points_of_name[0])
    return plugins


def _load_one(entry_point: EntryPoint) -> Plugin:
    name, target = entry_point.name, entry_point.value
    try:
        cls = entry_point.load()
    except Exception as exc:
        # Not re-raised even under AUTOLOG_TESTING: a plugin that cannot be imported must not
        # stop the others, and the tests that need it check its loading themselves.
        error = f"{type(exc).__name__}: {exc}"
        warn_once(f"plugin-load:{name}", f"autolog: integration {name!r} ({target}) could not "
                  f"be loaded ({error}); the other integrations still work",
                  stacklevel=user_stacklevel())
        return Plugin(name, target, None, error)
    try:
        validate_plugin(cls, name, target)
    except ValueError as exc:
        _malformed(str(exc))
        return Plugin(name, target, None, str(exc))
    return Plugin(name, target, cls)


def _malformed(message: str) -> None:
    if testing():
        raise ValueError(message)
    warn_once(f"plugin-malformed:{message}", f"{message}; it is skipped",
              stacklevel=user_stacklevel())
