"""The trained LightningModule as an MLflow model in the fit's run (``model/``).

``autolog.models.log_model`` does the work. By default the module's ``state_dict`` is logged:
portable, loaded with ``mlflow.pytorch.load_state_dict`` into the user's own class. With
``lightning={"log_model_pickled": True}`` the whole module is pickled instead, so
``mlflow.pytorch.load_model`` and ``mlflow.pyfunc.load_model`` rebuild it, as long as its class
can be imported where it is loaded. On the training thread only the weights are copied (to the
CPU, then serialized) and the module runs once on the example rows; files and the upload
happen on autolog's threads.

The input example is the first few rows of the first training batch's inputs, kept by the
callback when that batch starts (a small copy on the batch's device, no synchronisation): the
batch itself when it is a tensor, its first element when it is an ``(inputs, targets)``
sequence. Other batch shapes (dicts, custom objects) give no example, since which part the
module's ``forward`` takes is the user's convention.
"""

from __future__ import annotations

from typing import Any


def first_inputs(batch: Any, rows: int) -> Any:
    """A copy of the first ``rows`` rows of the batch's inputs, or None (see module docs)."""
    import torch

    inputs = batch
    if isinstance(batch, (list, tuple)) and batch:
        inputs = batch[0]
    if not isinstance(inputs, torch.Tensor) or inputs.dim() == 0:
        return None
    return inputs.detach()[:rows].clone()


def log_trained_model(run: Any, module: Any, options: Any, *, example: Any, ok: bool) -> None:
    """Log ``module`` into ``run``; after a failed fit, no model, only the logged model marked
    failed so the server never shows it pending."""
    from autolog.models import log_model

    log_model(run, module, flavor="pytorch", input_example=example if ok else None,
              pickle_module=bool(options.specific.get("log_model_pickled", False)),
              registered_model_name=options.registered_model_name,
              max_model_mb=options.max_model_mb, training_failed=not ok)
