"""Which classes get patched: every ``BaseEstimator`` subclass, now and later.

Importing all of scikit-learn to find its estimators would cost seconds, and would still miss
third-party and user-defined ones. Instead, once ``sklearn.base`` is imported:

- every subclass that exists already is found by walking ``__subclasses__()`` (a few hundred
  classes, a few milliseconds), and the ``fit`` / ``fit_transform`` / ``fit_predict`` each
  defines *itself* is patched; inherited ones are covered by the base class's patch;
- ``BaseEstimator.__init_subclass__`` is wrapped, so a class defined later (a module imported
  later, a user's subclass) is patched the moment it is created. The wrapper first runs the
  inherited hook chain (scikit-learn's metadata routing reads the original ``fit`` there).

Patches go through the core registry, so ``disable`` restores each one identically; the
``__init_subclass__`` hook is removed by the undo function :func:`hook_class_creation`
returns (the registry's wrappers act only around outermost calls, which a class statement
inside a ``fit`` is not).

A subclass whose ``fit`` calls ``super().fit`` makes a nested call: one run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from autolog.plugin import guarded

#: The training entry points patched on each class that defines them.
PATCHED_METHODS = ("fit", "fit_transform", "fit_predict")

_MISSING = object()


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def derives_from(cls: type, qualified_names: frozenset[str] | set[str]) -> bool:
    """Whether ``cls`` or a base is one of ``qualified_names`` (nothing is imported to check)."""
    return any(qualified_name(klass) in qualified_names for klass in cls.__mro__)


def subclasses(base: type) -> Iterator[type]:
    """Every subclass of ``base``, depth first, each once."""
    seen: set[type] = set()
    stack = list(type.__subclasses__(base))
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        stack.extend(type.__subclasses__(cls))


def mixins(module: Any, base: type) -> list[type]:
    """Classes of ``module`` outside ``base``'s hierarchy that define an entry point
    (scikit-learn's ``TransformerMixin.fit_transform``, ``ClusterMixin.fit_predict``): patched
    too, so the run starts at the method the user called."""
    return [value for value in vars(module).values()
            if isinstance(value, type) and value.__module__ == module.__name__
            and not issubclass(value, base) and own_entry_points(value)]


def own_entry_points(cls: type) -> list[str]:
    """The names in PATCHED_METHODS that ``cls`` defines itself (functions or descriptors
    such as scikit-learn's ``available_if``; never static or class methods)."""
    names = []
    namespace = vars(cls)
    for name in PATCHED_METHODS:
        value = namespace.get(name, _MISSING)
        if value is _MISSING or isinstance(value, (staticmethod, classmethod, property)):
            continue
        if callable(value) or hasattr(value, "__get__"):
            names.append(name)
    return names


def hook_class_creation(base: type, on_class: Callable[[type], None]) -> Callable[[], None]:
    """Call ``on_class(cls)`` for every subclass of ``base`` created from now on.

    Returns the undo function, which removes the hook if it is still the one installed
    (restoring ``base``'s own ``__init_subclass__``, or deleting the inherited shadow).
    """
    own = vars(base).get("__init_subclass__", _MISSING)

    def __init_subclass__(cls: type, **kwargs: Any) -> None:  # noqa: N807
        if own is _MISSING:
            super(base, cls).__init_subclass__(**kwargs)  # type: ignore[misc]
        else:
            own.__get__(None, cls)(**kwargs)
        # Runs inside the user's class statement or import: it must never raise into it.
        with guarded("sklearn: patching a new estimator class", reraise=False):
            on_class(cls)

    hooked = classmethod(__init_subclass__)
    base.__init_subclass__ = hooked  # type: ignore[assignment]

    def undo() -> None:
        if vars(base).get("__init_subclass__") is not hooked:
            return
        if own is _MISSING:
            delattr(base, "__init_subclass__")
        else:
            base.__init_subclass__ = own  # type: ignore[assignment]

    return undo
