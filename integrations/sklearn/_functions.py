"""Patching module-level functions so that names imported *before* enabling see it too.

``from sklearn.model_selection import cross_validate`` at the top of a script, then
``autolog.autolog()``, is the usual order, and patching the module attribute misses that
name. scikit-learn's public functions are wrapped by its ``validate_params`` decorator, whose
wrapper calls the undecorated function through a closure cell; autolog patches *that* call:

- the undecorated function is put on a stand-in module and patched there through the core
  registry (so the safe-patch contract, nesting rules and restore all apply unchanged);
- the closure cell is pointed at the registry's wrapper, and pointed back by the returned
  undo function, only if it still holds that wrapper.

Every reference to the decorated function, however it was imported, then goes through the
patch. Where a function is not decorated that way (other scikit-learn versions), the module
attribute is patched instead, and the limitation above applies.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from autolog.plugin import Hook

if TYPE_CHECKING:
    from autolog.plugin import Integration


def patch_function(integration: Integration, module: ModuleType, name: str,
                   hook: Hook) -> Callable[[], None] | None:
    """Patch ``module.name``; returns an undo function when a closure cell was patched."""
    decorated = getattr(module, name, None)
    if not callable(decorated):
        return None
    cell = _cell_of_undecorated(decorated)
    if cell is None:
        integration.patch(module, name, hook)
        return None
    undecorated = decorated.__wrapped__
    if cell.cell_contents is not undecorated:
        return None  # patched already: the same function, seen through another module
    stand_in = ModuleType(module.__name__)
    setattr(stand_in, name, undecorated)
    patch = integration.patch(stand_in, name, hook)
    if patch is None:
        return None
    cell.cell_contents = patch.wrapper

    def undo() -> None:
        if cell.cell_contents is patch.wrapper:
            cell.cell_contents = undecorated

    return undo


def _cell_of_undecorated(decorated: Any) -> Any:
    """The closure cell through which ``decorated`` calls ``decorated.__wrapped__`` (or, once
    patched, autolog's wrapper of it)."""
    undecorated = getattr(decorated, "__wrapped__", None)
    closure = getattr(decorated, "__closure__", None)
    if undecorated is None or not closure:
        return None
    for cell in closure:
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if contents is undecorated or getattr(contents, "__wrapped__", None) is undecorated:
            return cell
    return None
