"""What a plugin builds on: the public face of autolog's integration and backend machinery.

An integration subclasses :class:`Integration` and patches its framework's functions with
hooks that receive a :class:`PatchedCall` and ``yield`` once (the user's call runs there and
its :class:`Outcome` comes back). Runs come from ``call.open_run``, or from the run helpers
below for work outside a patched call. Autolog's own failures inside ``with guarded(...)``
become one warning and never reach the user's code. A backend implements :class:`Backend`
(and :class:`ModelBackend` for logged models and the registry), answering :class:`Result`.

Everything here is re-exported from autolog's private modules, which may change; these names
do not without a deprecation. The built-in integrations in ``integrations/`` use them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autolog._guard import guarded
from autolog._integration import ERROR_TAG, HOLDS_MODEL, OPENED_BY, Integration, run_scope
from autolog._lifecycle import register_background_work
from autolog._options import Options
from autolog._patching import Hook, Outcome, PatchedCall
from autolog._run_handles import activated, attach_run
from autolog._runs import Run, activate, active_run, deactivate, start_run

if TYPE_CHECKING:  # the backend names load on first use (they bring the store's sqlite3)
    from autolog.backends.base import Backend, Limits, Metric, ModelBackend, Result, RunSpec

__all__ = [
    "ERROR_TAG",
    "HOLDS_MODEL",
    "OPENED_BY",
    "Backend",
    "Hook",
    "Integration",
    "Limits",
    "Metric",
    "ModelBackend",
    "Options",
    "Outcome",
    "PatchedCall",
    "Result",
    "Run",
    "RunSpec",
    "activate",
    "activated",
    "active_run",
    "attach_run",
    "deactivate",
    "guarded",
    "register_background_work",
    "run_scope",
    "start_run",
]

_BACKEND_NAMES = frozenset({"Backend", "Limits", "Metric", "ModelBackend", "Result", "RunSpec"})


def __getattr__(name: str) -> object:
    if name in _BACKEND_NAMES:
        from autolog.backends import base

        return getattr(base, name)
    raise AttributeError(f"module 'autolog.plugin' has no attribute {name!r}")
