"""``autolog.autolog()``: switch every installed integration on (or off) in one call.

Each call states the whole wanted state and is idempotent: integrations it leaves out of
the plan are disabled, options of enabled ones are replaced. It imports no framework: it reads
entry points, checks that the frameworks can be found, and leaves the patching to import hooks.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, NamedTuple

from autolog import _discovery
from autolog._integration import Integration
from autolog._options import Choice, Options, disabled_by_env, resolve

logger = logging.getLogger("autolog.patching")

_lock = threading.Lock()
_instances: dict[str, Integration] = {}


def autolog(*, disable: bool = False, **options: Any) -> None:
    """Record training runs of every installed framework, imported now or later.

    ``disable=True`` restores every original. ``AUTOLOG_DISABLE=1`` (or a comma list of
    integration names) switches autologging off without code changes. Options are validated
    before anything changes; a bad one raises ``ValueError`` naming it.
    """
    if not isinstance(disable, bool):
        raise ValueError(f"autolog(): option disable must be True or False, not {disable!r}")
    plugins = _discovery.integrations()
    choices = resolve(options, plugins)
    with _lock:
        wanted = {} if disable else _plan(plugins, choices)
        for name, instance in list(_instances.items()):
            if name not in wanted or type(instance) is not plugins.get(name):
                instance.disable()
                if type(instance) is not plugins.get(name):
                    del _instances[name]
        for name, integration_options in wanted.items():
            instance = _instances.get(name)
            if instance is None:
                instance = _instances[name] = plugins[name]()  # type: ignore[misc]
            instance.enable(integration_options)


def disable_all() -> None:
    """Disable every integration enabled in this process (no discovery; for tests and exit)."""
    with _lock:
        for instance in _instances.values():
            instance.disable()


def enabled_integrations() -> dict[str, Integration]:
    with _lock:
        return {name: inst for name, inst in _instances.items() if inst.enabled}


def _plan(plugins: dict[str, type[Integration] | None],
          choices: dict[str, Choice]) -> dict[str, Options]:
    """Which integrations to enable, with which options; raises before anything changes."""
    switched_off = disabled_by_env(plugins) or frozenset()
    wanted: dict[str, Options] = {}
    for name, choice in choices.items():
        cls = plugins[name]
        if choice.options is None or cls is None:
            continue
        if name in switched_off:
            logger.info("autolog: %s is off (AUTOLOG_DISABLE)", name)
            continue
        if not cls.is_installed():
            if choice.requested:
                raise ValueError(f"autolog(): {name} was asked for, but its framework "
                                 f"({', '.join(cls.distributions or cls.modules)}) is not "
                                 "installed")
            continue
        wanted[name] = choice.options
    taken_over = {other for name in wanted for other in plugins[name].takes_over}  # type: ignore[union-attr]
    for name in taken_over & set(wanted):
        if not choices[name].requested:
            logger.debug("autolog: %s is covered by an integration that takes it over", name)
            del wanted[name]
    return wanted


class IntegrationStatus(NamedTuple):
    """One row of ``python -m autolog integrations`` (a plugin that failed to load has None
    where nothing is known; ``_discovery.discover()[name].error`` says why)."""

    name: str
    distribution: str | None
    installed: bool | None
    version: str | None
    supported: str | None
    in_range: bool | None  # None: not installed, or no version to check
    enabled: bool


def integrations_table() -> list[IntegrationStatus]:
    """Every discovered integration: installed? which version? supported? enabled?"""
    rows = []
    enabled = enabled_integrations()
    for name, plugin in _discovery.discover().items():
        cls = plugin.integration
        if cls is None:
            rows.append(IntegrationStatus(name, None, None, None, None, None, False))
            continue
        found = cls.installed_distribution()
        spec = cls.version_spec()
        installed = cls.is_installed()
        version = found[1] if found else None
        in_range = spec.contains(version) if version is not None else None
        rows.append(IntegrationStatus(
            name, found[0] if found else (cls.distributions or (None,))[0], installed, version,
            str(spec), in_range, name in enabled))
    return rows
