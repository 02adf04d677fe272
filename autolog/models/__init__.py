"""Models in MLflow's format: one call for integrations, the registry for users.

``log_model(run, model, flavor="sklearn", input_example=X[:5])`` records ``model`` under the
run's artifacts as an MLflow model directory (``model/``) that ``mlflow.pyfunc.load_model`` and
the flavor's own loader read, and, against an MLflow 3 server, as a logged model linked to the
run, finalized READY (FAILED when ``training_failed``; never left PENDING).

On the caller's thread it only freezes what may change after it returns: the model's state as
bytes, the first rows of the input and the model's output on them. Files, environment pins,
uploads, logged-model calls and registration happen on autolog's own threads. A model past
``max_model_mb`` is skipped with one warning; so is any failure of autolog's own, so model
logging never breaks or stalls training.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from autolog._guard import guarded
from autolog._records import DEFERRED
from autolog._runs import Run
from autolog.models._flavors import FLAVORS, ModelTooLarge, freeze
from autolog.models._mlmodel import utc_created
from autolog.models._model_registry import Promotion, register_best
from autolog.models._package import FAILED, PendingModel, warn_too_large
from autolog.models._signature import freeze_example, predict_output

__all__ = ["FLAVORS", "ModelInfo", "Promotion", "log_model", "register_best"]

logger = logging.getLogger("autolog.models")

_MB = 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """What was recorded. The tracking server's ids exist only once the run is delivered:
    :meth:`model_uri` waits for them."""

    run_id: str
    artifact_path: str
    flavor: str
    serialization: str | None
    #: None for a model serialized later on autolog's writer thread (XGBoost tree boosters).
    size_bytes: int | None
    status: str
    client_model_id: str
    registered_model_name: str | None = None
    run: Run | None = field(default=None, repr=False, compare=False)

    def model_uri(self, timeout: float | None = 30.0) -> str | None:
        """``runs:/<server run id>/<artifact_path>`` for MLflow's loaders (None on timeout)."""
        remote = self.run.remote_id(timeout) if self.run is not None else self.run_id
        return f"runs:/{remote}/{self.artifact_path}" if remote else None


def _clean_artifact_path(artifact_path: str) -> str:
    cleaned = str(artifact_path).replace("\\", "/").strip("/")
    if not cleaned or any(part in ("", ".", "..") for part in cleaned.split("/")):
        raise ValueError(f"artifact_path must be a relative path, not {artifact_path!r}")
    return cleaned


def log_model(
    run: Run,
    model: Any,
    *,
    flavor: str,
    input_example: Any = None,
    output_example: Any = None,
    artifact_path: str = "model",
    registered_model_name: str | None = None,
    pickle_module: bool = False,
    max_model_mb: float = 500,
    training_failed: bool = False,
    save_input_example: bool = True,
) -> ModelInfo | None:
    """Record ``model`` in ``run`` as an MLflow model; None when nothing was recorded.

    - ``flavor``: ``"sklearn"``, ``"xgboost"`` (a ``Booster`` or a scikit-learn wrapper) or
      ``"pytorch"`` (any ``torch.nn.Module``, LightningModules included).
    - ``input_example``: training input; its first rows become the signature's inputs (with
      the model's output on them as outputs) and ``input_example.json`` unless
      ``save_input_example=False``.
    - ``output_example``: the model's output on ``input_example`` (at least on its first
      rows), when the caller has it already; otherwise the model predicts them here, once.
    - ``pickle_module``: PyTorch only; the whole pickled module (loadable with
      ``mlflow.pytorch.load_model`` and pyfunc, needs the class importable) instead of the
      ``state_dict`` (portable, loaded with ``mlflow.pytorch.load_state_dict``).
    - ``registered_model_name``: also register the model as a new version of that name.
    - ``training_failed``: training raised; nothing is serialized and the logged model is
      finalized FAILED, so the server never shows it PENDING.
    """
    with guarded("models.log_model"):
        return _log_model(run, model, flavor, input_example, output_example, artifact_path,
                          registered_model_name, pickle_module, max_model_mb, training_failed,
                          save_input_example)
    return None


def _log_model(run: Run, model: Any, flavor: str, input_example: Any, output_example: Any,
               artifact_path: str, registered_model_name: str | None, pickle_module: bool,
               max_model_mb: float, training_failed: bool,
               save_input_example: bool) -> ModelInfo | None:
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
    if not isinstance(run, Run):
        raise ValueError(f"run must be an autolog Run, not {type(run).__name__}")
    path = _clean_artifact_path(artifact_path)
    pending = PendingModel(
        run_id=run.run_id,
        artifact_path=path,
        flavor=flavor,
        client_model_id=uuid.uuid4().hex,
        created=utc_created(),
        registered_model_name=registered_model_name or None,
        save_example=save_input_example,
        max_model_mb=max_model_mb,
    )
    if training_failed:
        pending.status = FAILED
    else:
        try:
            pending.frozen = freeze(model, flavor, pickle_module=pickle_module,
                                    limit_bytes=int(max_model_mb * _MB))
        except ModelTooLarge as error:
            warn_too_large(flavor, run.name, error.size, max_model_mb)
            return None
        pending.example = freeze_example(input_example)
        if output_example is not None and pending.example is not None:
            pending.output = output_example[:len(pending.example)]
        else:
            pending.output = _output_for_signature(model, flavor, pending.example)
    run.pipeline.append((DEFERRED, partial(PendingModel.records, pending)))
    frozen = pending.frozen
    return ModelInfo(
        run_id=run.run_id,
        artifact_path=path,
        flavor=flavor,
        serialization=frozen.form if frozen is not None else None,
        size_bytes=frozen.size if frozen is not None else 0,
        status=pending.status,
        client_model_id=pending.client_model_id,
        registered_model_name=pending.registered_model_name,
        run=run,
    )


def _output_for_signature(model: Any, flavor: str, example: Any) -> Any:
    """The model's output on the example rows; a model that cannot predict them (a transformer,
    an example holding extra columns) just gets a signature without outputs."""
    if example is None:
        return None
    try:
        return predict_output(model, flavor, example)
    except Exception as error:
        logger.debug("no output signature: predicting the example failed (%s)", error)
        return None

