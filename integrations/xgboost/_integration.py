"""The XGBoost integration: ``xgboost.train``, ``xgboost.cv`` and the scikit-learn API.

Each entry point is patched only to install a :class:`RoundRecorder` (XGBoost's own
``TrainingCallback``) after the user's callbacks; everything per round happens there. One
training call gives one run:

- ``xgboost.train`` → run ``xgboost.train``: booster params and the ``train()`` arguments
  that shape the model, per-round metrics ``<eval_name>-<metric>``, early-stopping summary,
  feature importance (JSON now, the plot drawn by autolog's writer thread), dataset tags.
- ``xgboost.cv`` → run ``xgboost.cv``: per-round ``<name>-mean`` and ``<name>-std``.
- ``XGBClassifier.fit`` and the other ``XGBModel`` estimators → run named after the class:
  ``get_params()``, the same per-round metrics from ``eval_set``, the scikit-learn
  integration's training metrics. The ``train()`` a fit calls internally runs inside the
  patched fit and opens nothing (a patched call inside another does no work of its own); its
  rounds reach the fit's run through the recorder the fit lends to ``callbacks``.

The trained model (``xgboost.train``'s ``Booster``, or the fitted estimator with its class
recorded) is logged as an MLflow model under ``model/``: native ``model.ubj``, flavors
``xgboost`` and ``python_function``, a signature and input example from the first training
rows, and a logged model on MLflow 3 servers (``registered_model_name`` registers it too).
Only the booster's bytes are copied on the training thread; the rest happens on autolog's
threads. The common ``log_models`` decides: True (default) for single fits, not for fits inside
an Optuna trial unless ``"all"``; False never. A failed training logs no model, and its logged
model is marked failed rather than left pending. ``xgboost.cv`` keeps no model.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import MappingProxyType, ModuleType
from typing import Any, ClassVar

from autolog.plugin import Integration, PatchedCall, guarded

#: Importance types ``Booster.get_score`` knows.
IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")


class XGBoostIntegration(Integration):
    """Records ``xgboost.train``, ``xgboost.cv`` and ``XGBModel.fit`` (all sklearn estimators).

    Options (``autolog.autolog(xgboost={...})``):

    - ``log_every_n_iterations``: record every n-th boosting round (default: the common
      ``log_every_n_epochs``, itself 1; None there: only the first, last and best rounds).
      The first, the last and the best round are always recorded.
    - ``importance_types``: ``Booster.get_score`` types to log (default weight and gain;
      empty: no feature importance).
    - ``log_importance_plot``: also a bar plot (``feature_importance.svg``, or ``.png`` with
      ``plot_format="png"``); like ``log_models``, True leaves out the trainings inside a
      search's or a study's runs, "all" includes them (default True).
    - ``log_training_metrics``: training-set metrics for the sklearn API (default True).
    """

    name = "xgboost"
    modules = ("xgboost",)
    # The module comes from either distribution; the CPU-only one avoids a 469 MB CUDA wheel.
    distributions = ("xgboost", "xgboost-cpu")
    supported_versions = ">=2.0,<4"
    # "integration:class": the scikit-learn integration leaves these estimators (and their
    # subclasses) to this one, which records their boosting rounds as well.
    takes_over = ("sklearn:xgboost.sklearn.XGBModel",)
    default_options: ClassVar[Mapping[str, Any]] = MappingProxyType({
        "log_every_n_iterations": None,
        "importance_types": ("weight", "gain"),
        "log_importance_plot": True,
        "log_training_metrics": True,
    })

    def __init__(self) -> None:
        super().__init__()
        self._random_forests: tuple[type, ...] = ()

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        given = dict(options)
        every_n = given.pop("log_every_n_iterations", None)
        types = given.pop("importance_types", cls.default_options["importance_types"])
        plot = given.pop("log_importance_plot", cls.default_options["log_importance_plot"])
        merged = super().validate_options(given)
        if not isinstance(plot, bool) and plot != "all":
            raise ValueError("autolog(): option xgboost['log_importance_plot'] must be True, "
                             f"False or 'all', not {plot!r}")
        merged["log_importance_plot"] = plot
        if every_n is not None and (type(every_n) is not int or every_n < 1):
            raise ValueError("autolog(): option xgboost['log_every_n_iterations'] must be a "
                             f"positive int or None, not {every_n!r}")
        merged["log_every_n_iterations"] = every_n
        merged["importance_types"] = _importance_types(types)
        return merged

    # -- patching -----------------------------------------------------------------------------
    def on_import(self, module: ModuleType) -> None:
        training = sys.modules.get("xgboost.training") or getattr(module, "training", None)
        # ``xgboost.train`` and ``xgboost.training.train`` are two names users call the same
        # function by; each gets its own wrapper. The sklearn API calls a third binding
        # (``xgboost.sklearn.train``) only from inside the patched ``fit``, so it needs none.
        for owner in (module, training):
            if owner is not None:
                self.patch(owner, "train", self._patched_train)
                self.patch(owner, "cv", self._patched_cv)
        estimators = sys.modules.get("xgboost.sklearn")
        if estimators is None:
            return  # XGBoost without its scikit-learn API (an optional import there)
        base = estimators.XGBModel
        self._random_forests = tuple(
            cls for cls in (getattr(estimators, "XGBRFClassifier", None),
                            getattr(estimators, "XGBRFRegressor", None)) if cls is not None)
        for value in list(vars(estimators).values()):
            if isinstance(value, type) and issubclass(value, base) and "fit" in vars(value):
                self.patch(value, "fit", self._patched_fit)

    # -- hooks --------------------------------------------------------------------------------
    def _patched_train(self, call: PatchedCall):
        from integrations.xgboost._dataset import dmatrix_tags
        from integrations.xgboost._params import train_params

        kwargs = call.kwargs
        run = call.open_run("xgboost.train", tags=_version_tag())
        run.log_params(train_params(call.arg(0, "params"), call.arg(2, "num_boost_round", 10),
                                    kwargs))
        with guarded(f"{call.kind}: dataset tags"):
            run.set_tags(dmatrix_tags(call.arg(1, "dtrain")))
        recorder = self._install(call, run, early_stopping_rounds=kwargs.get(
            "early_stopping_rounds"), maximize=kwargs.get("maximize"))
        outcome = yield
        recorder.finish(ok=outcome.ok)
        if outcome.ok:
            self._log_importance(call, run, outcome.result)
        self._log_model(call, run, outcome.result, outcome.ok, dtrain=call.arg(1, "dtrain"))

    def _patched_cv(self, call: PatchedCall):
        from integrations.xgboost._dataset import dmatrix_tags
        from integrations.xgboost._params import cv_params

        kwargs = call.kwargs
        run = call.open_run("xgboost.cv", tags=_version_tag())
        run.log_params(cv_params(call.arg(0, "params"), call.arg(2, "num_boost_round", 10),
                                 kwargs))
        with guarded(f"{call.kind}: dataset tags"):
            run.set_tags(dmatrix_tags(call.arg(1, "dtrain")))
        recorder = self._install(call, run, early_stopping_rounds=kwargs.get(
            "early_stopping_rounds"), maximize=kwargs.get("maximize"), is_cv=True)
        outcome = yield
        recorder.finish(ok=outcome.ok)

    def _patched_fit(self, call: PatchedCall):
        from integrations.xgboost._capture import RoundRecorder, StoppingRule
        from integrations.xgboost._dataset import array_tags
        from integrations.xgboost._params import estimator_params

        model = call.instance
        if model is None:
            return
        features, labels = call.arg(0, "X"), call.arg(1, "y")
        cls = type(model)
        run = call.open_run(cls.__name__, tags={
            "estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
            **_version_tag()})
        run.log_params(estimator_params(model))
        with guarded(f"{call.kind}: dataset tags"):
            run.set_tags(array_tags(features, labels))
        user_callbacks = list(model.callbacks or ())
        recorder = RoundRecorder(run, every_n=self._every_n(), kind=call.kind, rule=StoppingRule(
            rounds=model.early_stopping_rounds, callbacks=user_callbacks))
        # The estimator passes ``self.callbacks`` to the inner train(), so the recorder rides
        # there for the duration of this fit and the user's value is put back right after.
        # Random forests refuse any callback: their one round is read from evals_result().
        lends_callbacks = not isinstance(model, self._random_forests)
        if lends_callbacks:
            users_value = model.callbacks
            installed = [*user_callbacks, recorder]
            call.on_finish(lambda _: _put_back(model, installed, users_value))
            model.callbacks = installed
        started = time.perf_counter()
        outcome = yield
        run.log_metrics({"fit_duration_s": time.perf_counter() - started})
        if lends_callbacks:
            _put_back(model, installed, users_value)
        elif outcome.ok:
            recorder.adopt(model.evals_result())
        recorder.finish(ok=outcome.ok)
        if not outcome.ok:
            self._log_model(call, run, model, ok=False)
            return
        if self.options.specific["log_training_metrics"] and labels is not None:
            with guarded(f"{call.kind}: training metrics"):
                run.log_metrics(_training_metrics(model, features, labels,
                                                  call.kwargs.get("sample_weight")))
        self._log_importance(call, run, model.get_booster())
        self._log_model(call, run, model, ok=True, features=features)

    # -- shared pieces ------------------------------------------------------------------------
    def _every_n(self) -> int | None:
        every_n = self.options.specific["log_every_n_iterations"]
        return every_n if every_n is not None else self.options.log_every_n_epochs

    def _install(self, call: PatchedCall, run: Any, *, early_stopping_rounds: Any,
                 maximize: Any, is_cv: bool = False) -> Any:
        """Append a recorder to the call's callbacks (the user's stay first, in order)."""
        from integrations.xgboost._capture import RoundRecorder, StoppingRule

        user_callbacks = list(call.kwargs.get("callbacks") or ())
        rule = StoppingRule(rounds=early_stopping_rounds, maximize=maximize,
                            callbacks=user_callbacks)
        recorder = RoundRecorder(run, every_n=self._every_n(), rule=rule, is_cv=is_cv,
                                 kind=call.kind)
        call.kwargs = {**call.kwargs, "callbacks": [*user_callbacks, recorder]}
        return recorder

    def _log_model(self, call: PatchedCall, run: Any, model: Any, ok: bool, *,
                   features: Any = None, dtrain: Any = None) -> None:
        """The trained model into ``run`` as ``model/``, if ``log_models`` wants it here."""
        from integrations._models import per_fit_output_wanted

        options = self.options
        if not per_fit_output_wanted(run, options.log_models):
            return
        from integrations.xgboost._model import dmatrix_example, log_trained_model

        example = features
        if ok and dtrain is not None:
            with guarded(f"{call.kind}: model input example"):
                example = dmatrix_example(dtrain)
        with guarded(f"{call.kind}: logging the model"):
            log_trained_model(run, model, options, example=example if ok else None, ok=ok)

    def _log_importance(self, call: PatchedCall, run: Any, booster: Any) -> None:
        from integrations._models import per_fit_output_wanted
        from integrations.xgboost._importance import log_importance

        options = self.options
        plot = per_fit_output_wanted(run, options.specific["log_importance_plot"])
        with guarded(f"{call.kind}: feature importance"):
            log_importance(run, booster, options.specific["importance_types"],
                           plot_format=options.plot_format if plot else None)


def _training_metrics(model: Any, features: Any, labels: Any, sample_weight: Any
                      ) -> dict[str, float]:
    """The scikit-learn integration's ``training_*`` metrics, computed here and now.

    Its capture step (one prediction on the training data, labels encoded into autolog's own
    arrays) and its numpy formulas, so an ``XGBClassifier`` run reads like any scikit-learn
    classifier's; the arithmetic runs on this thread, which keeps it covered by ``flush()``
    whether or not the scikit-learn integration is enabled.
    """
    from integrations._fit_capture import capture
    from integrations._metrics import classification_metrics

    captured = capture(model, features, labels, sample_weight)
    metrics = dict(captured.metrics)
    if captured.classifier is not None:
        metrics.update(classification_metrics(captured.classifier,
                                              with_score=captured.derive_score))
    return metrics


def _put_back(model: Any, installed: list[Any], users_value: Any) -> None:
    if model.callbacks is installed:
        model.callbacks = users_value


def _version_tag() -> dict[str, str]:
    module = sys.modules.get("xgboost")
    version = getattr(module, "__version__", None)
    return {"autolog.xgboost_version": str(version)} if version else {}


def _importance_types(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise ValueError("autolog(): option xgboost['importance_types'] must be a list of "
                         f"{', '.join(IMPORTANCE_TYPES)}, not {value!r}")
    unknown = [item for item in value if item not in IMPORTANCE_TYPES]
    if unknown:
        raise ValueError(f"autolog(): option xgboost['importance_types'] has unknown types "
                         f"{unknown}; known: {', '.join(IMPORTANCE_TYPES)}")
    return tuple(dict.fromkeys(value))
