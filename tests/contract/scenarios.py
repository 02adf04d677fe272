"""Per-integration scenarios for the contract suite (tests/contract/test_contract.py).

Every registered integration needs an entry in ``SCENARIOS``: its entry-point name → a factory
returning a :class:`Scenario`. The factory, and this module, must not import the framework
(the suite checks enabling before the framework import); import it inside the callables.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingCall:
    """``fn(*args, **kwargs)``: one minimal training call through the patched entry point."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


@dataclass(frozen=True)
class Scenario:
    #: Importing this module makes the integration patch ``entry``.
    module: str
    #: The patched training entry point, ``"module:Owner.attribute"`` (or ``"module:function"``);
    #: it must be defined on that owner itself, since the suite spies on it there.
    entry: str
    #: Builds a call that trains through ``entry`` (called after autolog is enabled).
    call: Callable[[], TrainingCall]
    #: Builds a call through ``entry`` in which the framework or the user's code raises.
    failing_call: Callable[[], TrainingCall]
    #: What "the same training result" compares between two calls (deterministic ones).
    fingerprint: Callable[[Any], Any] = lambda result: result
    #: Runs one top-level ``call()`` opens (a search: 1 + its children).
    runs_per_call: int = 1
    #: Keyword arguments the integration may add or replace (to pass a framework callback).
    injected_kwargs: frozenset[str] = frozenset()


def resolve_entry(entry: str) -> tuple[Any, str]:
    """``"pkg.mod:Owner.attr"`` → (Owner, "attr"), importing ``pkg.mod``."""
    module_name, _, path = entry.partition(":")
    owner: Any = importlib.import_module(module_name)
    *owners, attribute = path.split(".")
    for name in owners:
        owner = getattr(owner, name)
    return owner, attribute


def _fakeml() -> Scenario:
    def fakeml() -> Any:
        return importlib.import_module("tests.fake_framework.fakeml")

    return Scenario(
        module="tests.fake_framework.fakeml",
        entry="tests.fake_framework.fakeml:Model.fit",
        call=lambda: TrainingCall(fakeml().Model(lr=0.05, epochs=4).fit, ([1.0, 2.0, 3.0],),
                                  {"y": [2.0, 4.0, 6.5]}),
        failing_call=lambda: TrainingCall(fakeml().Model().fit, ([],)),
        fingerprint=lambda model: (model.weight_, model.loss_),
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "fakeml": _fakeml,
}
