"""The Lightning ``Callback`` autolog injects: every capture goes through Lightning's hooks.

One callback per ``fit`` / ``validate`` / ``test`` call, built on the ``Callback`` class of the
namespace being patched (``lightning.pytorch`` or ``pytorch_lightning``), so Lightning treats
it as its own. Every hook is guarded (autolog's failures never reach training) and records on
global rank zero only.

Per epoch the training thread reads ``trainer.callback_metrics`` and appends; the epoch's
values are taken at the start of the next epoch (or at the end of training), after Lightning
has run every ``on_train_epoch_end`` hook and gathered what they logged. Step metrics (only
with ``log_every_n_steps``) keep their tensors until the epoch ends or a few dozen are waiting,
so the device is synchronised once per batch of them, not once per step.

Pickling (``ddp_spawn`` sends the trainer to new processes) carries only a
:class:`~integrations.lightning._link.RunLink`, never the run with its threads.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from autolog._throttle import Throttle
from autolog.plugin import Run, guarded
from integrations.lightning import _metrics, _model, _params
from integrations.lightning._link import RunLink, flush_attached, run_for

logger = logging.getLogger("autolog.integrations.lightning")

SUMMARY_ARTIFACT = "model_summary.txt"
EXAMPLE_ROWS = 5
_STEP_BUFFER = 32  # step records kept as tensors before one conversion
_STEP_BUFFER_SECONDS = 10.0


@dataclass(frozen=True)
class CaptureOptions:
    """The options a callback needs, plain and picklable."""

    every_n_epochs: int | None = 1
    every_n_steps: int | None = None
    log_checkpoints: bool = False
    log_model_summary: bool = True
    #: Keep the first batch's inputs (a few rows) as the logged model's input example.
    keep_input_example: bool = False


class AutologHooks:
    """The hooks; :func:`make_callback` mixes them into the namespace's ``Callback``."""

    def __init__(self, namespace: str, link: RunLink, options: CaptureOptions, stage: str,
                 eval_step: int = 0, run: Run | None = None) -> None:
        self._namespace = namespace
        self._link = link
        self._options = options
        self._stage = stage
        self._eval_step = eval_step
        self._run = run
        self._run_pid = os.getpid() if run is not None else -1
        self._active: bool | None = None
        #: Set when training was interrupted by Ctrl-C (Lightning turns it into SystemExit).
        self.interrupted = False
        #: The last epoch whose metrics were taken (None: no epoch completed).
        self.last_epoch: int | None = None
        self._throttle: Throttle | None = None
        self._monitor: str | None = None
        self._lr_optimizers: list[Any] | None = None
        self._epoch_lrs: dict[str, float] = {}
        self._epoch_seen = _metrics.Freshness()
        self._step_seen = _metrics.Freshness()
        self._pending_epoch: int | None = None
        self._steps: list[tuple[int, int, dict[str, Any]]] = []
        self._steps_since = 0.0
        self._last_step = -1
        self._ended = False
        #: The first training batch's inputs, a few rows (with ``keep_input_example``).
        self.input_example: Any = None
        self._wants_example = options.keep_input_example and stage == "fit"

    def __repr__(self) -> str:
        return f"<autolog Lightning callback ({self._stage}) run={self._link.run_id}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._namespace, self._link, self._options, self._stage,
                           self._eval_step))

    @property
    def run(self) -> Run:
        """The run to record into from this process (attached by id in another one)."""
        if self._run_pid != os.getpid():
            self._run = run_for(self._link)
            self._run_pid = os.getpid()
        assert self._run is not None
        return self._run

    def _is_active(self, trainer: Any) -> bool:
        active = self._active
        if active is None:
            active = self._active = bool(trainer.is_global_zero)
        return active

    # -- fit ----------------------------------------------------------------------------------
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if self._stage != "fit" or not self._is_active(trainer):
            return
        with guarded("lightning: recording the fit's configuration"):
            self._record_configuration(trainer, pl_module)
        if self._options.log_model_summary:
            with guarded("lightning: recording the model summary"):
                text, counts = _params.model_summary(self._namespace, pl_module)
                self.run.log_text(text, SUMMARY_ARTIFACT)
                self.run.log_params(counts)

    def _record_configuration(self, trainer: Any, pl_module: Any) -> None:
        self._monitor, mode = _params.best_monitor(trainer)
        self._throttle = Throttle(self._options.every_n_epochs or sys.maxsize,
                                  monitor=self._monitor, mode=mode)
        run = self.run
        optimizers = list(trainer.optimizers)
        schedulers = list(trainer.lr_scheduler_configs)
        self._lr_optimizers = optimizers if schedulers else None
        params = _params.merge_without_overriding(
            _params.hparams(pl_module, trainer.datamodule),
            _params.optimizer_params(optimizers),
            _params.scheduler_params(schedulers),
            _params.trainer_params(trainer),
            _params.callback_params(trainer),
        )
        run.log_params(params)
        framework = importlib.import_module(self._namespace.partition(".")[0])
        run.set_tags({"autolog.lightning.model_class": type(pl_module).__qualname__,
                      "autolog.lightning.version": getattr(framework, "__version__", "?")})

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if self._stage != "fit" or not self._is_active(trainer):
            return
        with guarded("lightning: recording epoch metrics"):
            if self._pending_epoch is not None:
                self._record_epoch(trainer)
            if self._lr_optimizers:
                self._epoch_lrs = _params.group_lrs(self._lr_optimizers)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        # Only note the epoch: what the module's own on_train_epoch_end logs (it runs after
        # this hook) reaches callback_metrics later; the values are taken at the next hook.
        if self._stage == "fit" and self._is_active(trainer):
            self._pending_epoch = trainer.current_epoch

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any,
                             batch_idx: int) -> None:
        if not self._wants_example:
            return
        self._wants_example = False  # the first batch only
        if self._is_active(trainer):
            with guarded("lightning: keeping the model's input example"):
                self.input_example = _model.first_inputs(batch, EXAMPLE_ROWS)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        every = self._options.every_n_steps
        if every is None or self._stage != "fit":
            return
        step = trainer.global_step
        if step == self._last_step or step % every or not self._is_active(trainer):
            return
        with guarded("lightning: recording step metrics"):
            self._last_step = step
            values = _metrics.step_values(self._step_seen.fresh(trainer.callback_metrics))
            if values:
                if not self._steps:
                    self._steps_since = time.monotonic()
                self._steps.append((step, int(time.time() * 1000), values))
                if (len(self._steps) >= _STEP_BUFFER
                        or time.monotonic() - self._steps_since > _STEP_BUFFER_SECONDS):
                    self._flush_steps()

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self._stage == "fit" and self._is_active(trainer):
            with guarded("lightning: recording epoch metrics"):
                self._finish_epochs(trainer)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        if self._stage != "fit" or not self._is_active(trainer):
            return
        with guarded("lightning: recording early stopping and checkpoint results"):
            self._record_results(trainer)
        if self._options.log_checkpoints:
            with guarded("lightning: uploading checkpoints"):
                self._upload_checkpoints(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.interrupted = True
        if not self._is_active(trainer):
            return
        if self._stage == "fit" and self._throttle is not None:
            with guarded("lightning: recording epoch metrics"):
                self._finish_epochs(trainer)
            with guarded("lightning: recording early stopping and checkpoint results"):
                self._record_results(trainer)
        self._flush_attached()

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self._is_active(trainer):
            self._flush_attached()

    # -- validate / test after (or without) fit -----------------------------------------------
    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if self._stage == "validate" and not trainer.sanity_checking:
            self._record_evaluation(trainer, "validate/")

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        if self._stage == "test":
            self._record_evaluation(trainer, "")

    def _record_evaluation(self, trainer: Any, prefix: str) -> None:
        if not self._is_active(trainer):
            return
        with guarded(f"lightning: recording {self._stage} metrics"):
            values = _metrics.to_floats(_metrics.epoch_values(dict(trainer.callback_metrics)))
            if values:
                self.run.log_metrics({prefix + key: value for key, value in values.items()},
                                     step=self._eval_step)

    # -- pieces -------------------------------------------------------------------------------
    def _record_epoch(self, trainer: Any) -> None:
        epoch, self._pending_epoch = self._pending_epoch, None
        metrics = trainer.callback_metrics
        fresh = self._epoch_seen.fresh(metrics)
        self._step_seen.mark_seen(metrics)  # epoch values are not step values
        self._flush_steps()
        values = _metrics.to_floats(_metrics.epoch_values(fresh, keep=self._monitor))
        for key, value in self._epoch_lrs.items():
            values.setdefault(key, value)
        if epoch is None or not values:
            return
        self.last_epoch = epoch
        throttle = self._throttle
        if throttle is None or throttle.offer(epoch, values):
            self.run.log_metrics(values, step=epoch)

    def _finish_epochs(self, trainer: Any) -> None:
        if self._ended:
            return
        self._ended = True
        if self._pending_epoch is not None:
            self._record_epoch(trainer)
        self._flush_steps()
        if self._throttle is not None:
            for epoch, values in self._throttle.finish():
                self.run.log_metrics(values, step=epoch)

    def _flush_steps(self) -> None:
        steps, self._steps = self._steps, []
        if not steps:
            return
        # One conversion for every waiting step: one device synchronisation, not one per step.
        converted = _metrics.to_floats({(index, key): value
                                        for index, (_, _, values) in enumerate(steps)
                                        for key, value in values.items()})
        run = self.run
        for index, (step, timestamp, values) in enumerate(steps):
            floats = {key: converted[(index, key)] for key in values if (index, key) in converted}
            if floats:
                run.log_metrics(floats, step=step, timestamp=timestamp)

    def _record_results(self, trainer: Any) -> None:
        step = self.last_epoch if self.last_epoch is not None else 0
        metrics: dict[str, Any] = {}
        tags: dict[str, Any] = {}
        stopping = trainer.early_stopping_callback
        if stopping is not None:
            metrics["early_stopping.stopped_epoch"] = stopping.stopped_epoch
            metrics["early_stopping.best_score"] = stopping.best_score
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None:
            if getattr(checkpoint, "best_model_path", ""):
                tags["checkpoint.best_model_path"] = checkpoint.best_model_path
            if getattr(checkpoint, "best_model_score", None) is not None:
                metrics["checkpoint.best_model_score"] = checkpoint.best_model_score
        if self._throttle is not None and self._throttle.best_step is not None:
            tags["autolog.best_epoch"] = self._throttle.best_step
            tags["autolog.best_epoch.monitor"] = self._monitor
        if metrics:
            self.run.log_metrics(_metrics.to_floats(metrics), step=step)
        if tags:
            self.run.set_tags(tags)

    def _upload_checkpoints(self, trainer: Any) -> None:
        checkpoint = trainer.checkpoint_callback
        if checkpoint is None:
            return
        paths = {getattr(checkpoint, "best_model_path", ""),
                 getattr(checkpoint, "last_model_path", "")}
        for path in sorted(p for p in paths if p):
            if os.path.isfile(path):  # remote (fsspec) checkpoint folders are not copied
                self.run.log_artifact(path, "checkpoints")
            else:
                logger.info("autolog: checkpoint %s is not a local file; not uploaded", path)

    def _flush_attached(self) -> None:
        if self._run_pid == os.getpid() and self._run is not None:
            with guarded("lightning: writing the records of this process"):
                flush_attached(self._run)


_classes: dict[str, type] = {}


def callback_class(namespace: str) -> type:
    """The callback class for ``namespace``, subclassing that namespace's ``Callback``."""
    cls = _classes.get(namespace)
    if cls is None:
        base = importlib.import_module(namespace).Callback
        cls = type("AutologCallback", (AutologHooks, base), {
            "__module__": __name__,
            "__doc__": f"Records training into an autolog run ({namespace}.Callback).",
        })
        _classes[namespace] = cls
    return cls


def make_callback(namespace: str, link: RunLink, options: CaptureOptions, stage: str,
                  eval_step: int = 0, run: Run | None = None) -> AutologHooks:
    return callback_class(namespace)(namespace, link, options, stage, eval_step, run)


def _rebuild(namespace: str, link: RunLink, options: CaptureOptions, stage: str,
             eval_step: int) -> AutologHooks:
    """Unpickling: the same callback in another process (it attaches to the run by id)."""
    return make_callback(namespace, link, options, stage, eval_step)
