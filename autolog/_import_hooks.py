"""Run code right after a module is imported, or now if it already is.

``when_imported("sklearn.base", hook)`` calls ``hook(module)`` once the module has executed,
so enabling autolog before or after the framework import behaves the same, and returns an
undo handle. The mechanism is the one wrapt's post-import hooks use (a meta-path finder that
wraps the found loader's ``exec_module``), written small here for three reasons:

- a hook runs inside the user's ``import``, so every hook body is guarded and never raises
  into it (wrapt lets a raising hook break the import);
- hooks can be removed (wrapt's cannot), so a disabled integration leaves nothing behind;
- importing wrapt costs ~40 ms (it imports asyncio), which alone would exceed the budget of
  ``autolog.autolog()``; wrapt is imported only when a framework is actually patched.

Hooks stay registered until undone, so a module that is removed from ``sys.modules`` and
imported again is hooked again (its classes are new objects).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from autolog._guard import guarded

Hook = Callable[[ModuleType], None]

_hooks: dict[str, list[Hook]] = {}
_lock = threading.Lock()
_resolving = threading.local()  # names this thread is looking up through the other finders
_executing: set[str] = set()  # hooked modules whose code is running now; they fire at the end


def when_imported(module_name: str, hook: Hook) -> Callable[[], None]:
    """Call ``hook(module)`` after every import of ``module_name``; now if already imported.

    Returns a function that removes the hook. The hook never raises into the import: its
    failures are guarded (one ``AutologWarning``; recorded for the test suite).
    """
    with _lock:
        _install_finder()
        _hooks.setdefault(module_name, []).append(hook)
        module = sys.modules.get(module_name)
    if module is not None and module_name not in _executing:
        _call_hook(hook, module_name, module)
    return lambda: _remove(module_name, hook)


def _remove(module_name: str, hook: Hook) -> None:
    with _lock:
        hooks = _hooks.get(module_name)
        if hooks and hook in hooks:
            hooks.remove(hook)
            if not hooks:
                del _hooks[module_name]


def _call_hook(hook: Hook, module_name: str, module: ModuleType) -> None:
    with guarded(f"import hook for {module_name}", reraise=False):
        hook(module)


def _fire(module_name: str, module: ModuleType) -> None:
    with _lock:
        hooks = list(_hooks.get(module_name, ()))
    for hook in hooks:
        _call_hook(hook, module_name, module)


class _HookedLoader:
    """Stands in for the real loader until the module executes, then runs the hooks."""

    def __init__(self, loader: Any, module_name: str) -> None:
        self._loader = loader
        self._module_name = module_name

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        loader = self._loader
        # The module sees its real loader while it executes (importlib.resources, pkgutil).
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = loader
        name = self._module_name
        _executing.add(name)
        try:
            loader.exec_module(module)
        finally:
            _executing.discard(name)
        _fire(name, sys.modules.get(name, module))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _Finder:
    """First on ``sys.meta_path``; only ever answers for hooked module names."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in _hooks:
            return None
        busy = _resolving.__dict__.setdefault("names", set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = None
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            busy.discard(fullname)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(loader, fullname)
        return spec

    def invalidate_caches(self) -> None:
        return None


_finder: _Finder | None = None


def _install_finder() -> None:
    global _finder
    if _finder is None or _finder not in sys.meta_path:
        _finder = _Finder()
        sys.meta_path.insert(0, _finder)
