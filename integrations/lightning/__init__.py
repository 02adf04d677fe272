"""PyTorch Lightning: ``Trainer.fit`` (and ``validate`` / ``test``) in both namespaces.

The patches only add a Lightning ``Callback`` to the trainer for the duration of the call; the
callback (``_callback``) records everything through Lightning's hooks, on global rank zero only:

- ``fit`` opens the run (or uses the user's) in the process where ``fit`` is
  called, if that process is global rank zero. Under ``strategy="ddp"`` the other ranks are
  copies of the script, whose ``fit`` sees a non-zero rank and records nothing; under
  ``ddp_spawn`` the callback travels to the spawned processes and rank zero writes into the
  run by id (``_link``), while the calling process delivers and closes it.
- ``validate`` / ``test`` after ``fit`` record into the fit's run (found by trainer or module);
  without a fit they open a run like ``fit`` does. Metrics of ``validate`` are named
  ``validate/<name>`` (its names are those of fit's validation series); ``test`` metrics keep
  their names; both at the last fitted epoch's step.
- Ctrl-C during training: Lightning runs ``on_exception`` and exits with ``SystemExit(1)``;
  the run autolog opened ends KILLED (an exception: FAILED), with what was recorded so far.
- After ``fit``, on global rank zero, the trained module is logged as an MLflow model under
  ``model/`` (``_model``): its ``state_dict`` by default (flavor ``pytorch_state_dict``, for
  ``mlflow.pytorch.load_state_dict``), the pickled module with ``log_model_pickled`` (flavors
  ``pytorch`` and ``python_function``), with a signature and input example from the first
  training batch, and a logged model on MLflow 3 servers. A failed fit logs no model and marks
  its logged model failed, never pending.

Options (``autolog.autolog(lightning={...})``): the common ``log_every_n_epochs``,
``log_every_n_steps``, ``log_models`` (True: every fit's model, except fits inside an Optuna
trial, which need ``"all"``; False: none), ``registered_model_name`` and ``max_model_mb``, and
``log_model_pickled`` (default False: the ``state_dict``), ``log_checkpoints`` (default False:
upload ModelCheckpoint's best and last files), ``log_model_summary`` (default True).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from autolog.plugin import OPENED_BY, Integration, PatchedCall

__all__ = ["LightningIntegration"]

_NAMESPACES = ("lightning.pytorch", "pytorch_lightning")


class LightningIntegration(Integration):
    name = "lightning"
    modules = _NAMESPACES
    distributions = ("lightning", "pytorch-lightning")
    supported_versions = ">=2.0,<3"
    default_options = {"log_checkpoints": False, "log_model_summary": True,
                       "log_model_pickled": False}

    def on_import(self, module: ModuleType) -> None:
        trainer = module.Trainer
        self.patch(trainer, "fit", self._patched_fit)
        self.patch(trainer, "validate", self._patched_validate)
        self.patch(trainer, "test", self._patched_test)

    # -- hooks (see autolog._patching for the contract) -----------------------------------------
    def _patched_fit(self, call: PatchedCall) -> Any:
        from integrations.lightning._callback import make_callback
        from integrations.lightning._link import RunLink, remember_fit

        trainer = call.instance
        if not trainer.is_global_zero:
            return  # another rank of a multi-process job: rank zero records
        from integrations._models import per_fit_output_wanted

        model = call.arg(0, "model")
        run = call.open_run(type(model).__name__)
        logs_model = per_fit_output_wanted(run, self.options.log_models)
        callback = make_callback(_namespace(call), RunLink.to(run),
                                 self._capture_options(keep_input_example=logs_model), "fit",
                                 run=run)
        trainer.callbacks.append(callback)
        outcome = yield
        _remove_callback(trainer, callback)
        last_epoch = callback.last_epoch
        if last_epoch is None:
            last_epoch = max(int(trainer.current_epoch) - 1, 0)
        remember_fit(run, last_epoch, trainer, model)
        if logs_model:
            self._log_model(run, trainer, model, callback, ok=outcome.ok
                            and not callback.interrupted)
        if callback.interrupted and run.integration_state.get(OPENED_BY) == self.name:
            run.end("KILLED")  # Lightning re-raised Ctrl-C as SystemExit(1)

    def _log_model(self, run: Any, trainer: Any, model: Any, callback: Any, *,
                   ok: bool) -> None:
        from autolog.plugin import guarded
        from integrations.lightning._model import log_trained_model

        module = trainer.lightning_module if ok else None
        with guarded("lightning: logging the model"):
            log_trained_model(run, module if module is not None else model, self.options,
                              example=callback.input_example, ok=ok)

    def _patched_validate(self, call: PatchedCall) -> Any:
        yield from self._evaluation(call, "validate")

    def _patched_test(self, call: PatchedCall) -> Any:
        yield from self._evaluation(call, "test")

    def _evaluation(self, call: PatchedCall, stage: str) -> Any:
        from integrations.lightning._callback import make_callback
        from integrations.lightning._link import RunLink, fitted_run

        trainer = call.instance
        if not trainer.is_global_zero:
            return
        model = call.arg(0, "model")
        fitted = fitted_run(model, trainer, trainer.lightning_module)
        if fitted is not None:
            run, step = fitted
        else:
            module = model if model is not None else trainer.lightning_module
            run = call.open_run(type(module).__name__ if module is not None else stage)
            step = 0
        callback = make_callback(_namespace(call), RunLink.to(run), self._capture_options(),
                                 stage, eval_step=step, run=run)
        trainer.callbacks.append(callback)
        yield
        _remove_callback(trainer, callback)

    def _capture_options(self, keep_input_example: bool = False) -> Any:
        from integrations.lightning._callback import CaptureOptions

        options = self.options
        return CaptureOptions(
            every_n_epochs=options.log_every_n_epochs,
            every_n_steps=options.log_every_n_steps,
            log_checkpoints=bool(options.specific.get("log_checkpoints", False)),
            log_model_summary=bool(options.specific.get("log_model_summary", True)),
            keep_input_example=keep_input_example,
        )


def _namespace(call: PatchedCall) -> str:
    """``lightning.pytorch`` or ``pytorch_lightning``: where the patched Trainer comes from."""
    module_name = getattr(call.patch.owner, "__module__", "")
    for namespace in _NAMESPACES:
        if module_name == namespace or module_name.startswith(namespace + "."):
            return namespace
    return _NAMESPACES[0]


def _remove_callback(trainer: Any, callback: Any) -> None:
    """A re-used trainer must not accumulate autolog callbacks (Lightning may rebuild the list)."""
    callbacks = trainer.callbacks
    for index in range(len(callbacks) - 1, -1, -1):
        if callbacks[index] is callback:
            del callbacks[index]
