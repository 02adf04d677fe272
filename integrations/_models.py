"""When an integration logs the model it trained: the common ``log_models`` option.

- ``True`` (the default): the model of every single fit, whether it records into a run of its
  own, the user's run or a child of the user's run; not the models fitted inside a run another
  integration opened (a search's candidates, the fits inside an Optuna trial), because a study
  of 200 trials would upload 200 models nobody asked for.
- ``"all"``: those too, so ``autolog.register_best(study, ...)`` finds the best trial's model.
- ``False``: none.

The same rule decides the sklearn integration's ``log_plots`` and the xgboost integration's
``log_importance_plot``: a study's trial fits are many fits of the same shape, and their
plots would be hundreds of artifacts (one request each to a server) nobody asked for.

"Inside a search" is read from the run's ancestors: a run autolog opened for an integration
(``OPENED_BY`` in its ``integration_state``) that hosts fits as children is a search's or a
study's run; a fit's own run is never an ancestor of another fit's, since a patched call
inside another opens nothing.
"""

from __future__ import annotations

from typing import Any

from autolog.plugin import OPENED_BY, Options, Run


def per_fit_output_wanted(run: Run, setting: bool | str) -> bool:
    """Whether a fit recorded in ``run`` logs a heavy output (its model under ``log_models``,
    its plots under ``log_plots`` / ``log_importance_plot``): ``"all"`` everywhere, ``True``
    everywhere but inside a search's or a study's run, ``False`` nowhere."""
    if setting == "all":
        return True
    if not setting:
        return False
    ancestor = run.parent
    while ancestor is not None:
        if OPENED_BY in ancestor.integration_state:
            return False
        ancestor = ancestor.parent
    return True


def log_fitted_model(options: Options, run: Run, model: Any, *, flavor: str,
                     input_example: Any = None, output_example: Any = None,
                     training_failed: bool = False) -> None:
    """Log ``model`` in ``run`` when ``options.log_models`` says so (see :func:`per_fit_output_wanted`)."""
    if not per_fit_output_wanted(run, options.log_models):
        return
    from autolog.models import log_model  # loaded with the first model, not with autolog()

    log_model(run, model, flavor=flavor, input_example=input_example,
              output_example=output_example, registered_model_name=options.registered_model_name,
              max_model_mb=options.max_model_mb, training_failed=training_failed)
