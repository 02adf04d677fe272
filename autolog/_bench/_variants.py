"""The variants every workload compares: bare, autolog, MLflow's autolog for a flavor."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from autolog._bench._destination import Destination
from autolog._bench._harness import Variant

FLUSH_TIMEOUT = 600.0
#: Read by autolog when no tracking URI is given; ``mlflow.set_tracking_uri`` sets the second
#: one (to MLflow's own ``sqlite:`` store in the embedded comparison), so autolog's variants
#: run without them.
URI_VARIABLES = ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI")
_hidden: dict[str, str] = {}


def hide_uri_variables() -> None:
    for name in URI_VARIABLES:
        if name in os.environ:
            _hidden[name] = os.environ.pop(name)


def restore_uri_variables() -> None:
    os.environ.update(_hidden)
    _hidden.clear()


def bare(units: int | None = None, samples: int | None = None) -> Variant:
    return Variant("bare", "nothing", units=units, samples=samples)


def flush_autolog() -> None:
    import autolog  # looked up per call: integrations may wrap autolog.flush

    if not autolog.flush(timeout=FLUSH_TIMEOUT):
        raise RuntimeError(f"autolog did not store everything within {FLUSH_TIMEOUT:.0f} s")


def autolog_variant(destination: Destination, workload: str, integrations: Mapping[str, Any],
                    logged: str, *, before_flush: Callable[[], None] | None = None,
                    units: int | None = None, samples: int | None = None) -> Variant:
    """``autolog.autolog(**integrations)`` with every other integration off, into an
    experiment of its own; settled by ``autolog.flush()``."""
    import autolog
    from autolog import _registry

    experiment = destination.experiment(workload, "autolog")
    others = {name: False for name in _registry.discover() if name not in integrations}

    def on() -> None:
        hide_uri_variables()
        autolog.autolog(tracking_uri=destination.autolog_uri, experiment=experiment,
                        **others, **integrations)

    def off() -> None:
        autolog.autolog(disable=True)
        restore_uri_variables()

    def settle() -> None:
        if before_flush is not None:
            before_flush()
        flush_autolog()

    return Variant("autolog", logged, on, off, settle, units, samples,
                   lambda: destination.census_autolog(experiment))


def mlflow_autolog_variant(destination: Destination, workload: str, flavor: str,
                           options: Mapping[str, Any], logged: str, *,
                           units: int | None = None, samples: int | None = None) -> Variant:
    """``mlflow.<flavor>.autolog(**options)`` into an experiment of its own (synchronous:
    nothing to settle)."""
    experiment = destination.experiment(workload, "mlflow")
    module = importlib.import_module(f"mlflow.{flavor}")

    def on() -> None:
        destination.use_mlflow_experiment(experiment)
        module.autolog(silent=True, **options)

    def off() -> None:
        module.autolog(disable=True, silent=True)

    return Variant("mlflow", logged, on, off, units=units, samples=samples,
                   census=lambda: destination.census_mlflow(experiment))
