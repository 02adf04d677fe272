"""scikit-learn integration: every estimator fit, pipeline, search and cross-validation.

What gets patched, and when (nothing of scikit-learn is imported by ``autolog.autolog()``):

- ``sklearn.base`` imported → the own ``fit`` / ``fit_transform`` / ``fit_predict`` of every
  ``BaseEstimator`` subclass, existing or defined later, and of scikit-learn's mixins
  (``TransformerMixin.fit_transform``, ``ClusterMixin.fit_predict``, ...) (:mod:`._classes`).
  Searches (``BaseSearchCV`` subclasses) get the parent/children hook (:mod:`._search`),
  every other class the single-fit hook (:mod:`._estimator`);
- ``sklearn.model_selection._validation`` imported → ``cross_validate``,
  ``cross_val_score``, ``cross_val_predict`` (:mod:`._crossval`), ``learning_curve``,
  ``validation_curve``, ``permutation_test_score`` (:mod:`._curves`), also where they were
  imported by name before enabling (:mod:`._functions`);
- ``sklearn.utils.parallel`` imported → thread-pool tasks of an autologged search or
  cross-validation stay inside its call (:mod:`._parallel`).

Estimators another integration records are declared in
:attr:`SklearnIntegration.estimators_owned_by` and never patched here (XGBoost's sklearn
wrappers belong to the xgboost integration, whose ``xgboost.train`` hook would otherwise see
them as nested calls and record nothing).

Options (``autolog.autolog(sklearn={...})``): ``max_tuning_runs`` (5; None = every candidate),
``log_plots`` (True: every fit but those inside a search's or a study's run, like
``log_models``; "all": those too), ``log_training_metrics`` (True), ``log_datasets`` (True: shape and
fingerprint tags), ``pos_label`` (None: the second of ``classes_``). With the common ``log_models``
(True by default) each single fit, and a search's refitted best estimator (on the search's
run), is logged as an MLflow model (``model/``, flavors ``sklearn`` + ``python_function``);
search candidates never carry one (they are rows of ``cv_results_``, not fitted models).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from types import MappingProxyType, ModuleType
from typing import Any, ClassVar

from autolog.plugin import Integration, Options, Outcome, PatchedCall
from integrations.sklearn import _classes, _functions, _parallel

__all__ = ["SklearnIntegration"]

Steps = Generator[None, Outcome, None]

#: Model-selection functions that fit clones internally: one run per call each.
CROSS_VALIDATION_FUNCTIONS = ("cross_validate", "cross_val_score", "cross_val_predict")
CURVE_FUNCTIONS = ("learning_curve", "validation_curve", "permutation_test_score")


class SklearnIntegration(Integration):
    name = "sklearn"
    modules = ("sklearn.base", "sklearn.utils.parallel", "sklearn.model_selection._validation",
               "sklearn.model_selection")
    distributions = ("scikit-learn",)
    supported_versions = ">=1.4,<2"
    default_options = MappingProxyType({
        "max_tuning_runs": 5,
        "log_plots": True,
        "log_training_metrics": True,
        "log_datasets": True,
        "pos_label": None,
    })
    #: Integration name → estimator base classes it records itself. Applied only where that
    #: integration's plugin is installed (one that cannot load leaves them to this one).
    estimators_owned_by: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({
        "xgboost": ("xgboost.sklearn.XGBModel",),
    })
    #: Base classes whose subclasses' ``fit`` is a hyperparameter search.
    search_classes: ClassVar[frozenset[str]] = frozenset({
        "sklearn.model_selection._search.BaseSearchCV",
    })

    def __init__(self) -> None:
        super().__init__()
        self._undo: list[Callable[[], None]] = []
        self._owned_elsewhere: frozenset[str] | None = None

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        given = dict(options)
        max_runs = given.pop("max_tuning_runs", cls.default_options["max_tuning_runs"])
        plots = given.pop("log_plots", cls.default_options["log_plots"])
        merged = super().validate_options(given)
        if not isinstance(plots, bool) and plots != "all":
            raise ValueError("autolog(): option sklearn['log_plots'] must be True, False or "
                             f"'all', not {plots!r}")
        merged["log_plots"] = plots
        if max_runs is not None and (type(max_runs) is not int or max_runs < 0):
            raise ValueError("autolog(): option sklearn['max_tuning_runs'] must be an int >= 0 "
                             f"or None (every candidate), not {max_runs!r}")
        merged["max_tuning_runs"] = max_runs
        return merged

    # -- lifecycle ----------------------------------------------------------------------------
    def enable(self, options: Options | None = None) -> None:
        # Which estimators other integrations own is read from the registry here, not inside
        # the import hook: plugin discovery holds the registry's lock while importing plugins.
        self._owned_by_others()
        super().enable(options)

    def on_import(self, module: ModuleType) -> None:
        name = module.__name__
        if name == "sklearn.base":
            self._patch_estimators(module.BaseEstimator)
            for mixin in _classes.mixins(module, module.BaseEstimator):
                self._patch_class(mixin)
        elif name == "sklearn.utils.parallel":
            self._undo.append(_parallel.install(module.Parallel, lambda: self.enabled))
        else:
            hooks = {**dict.fromkeys(CROSS_VALIDATION_FUNCTIONS, self._patched_cross_validation),
                     **dict.fromkeys(CURVE_FUNCTIONS, self._patched_curve)}
            for function, hook in hooks.items():
                undo = _functions.patch_function(self, module, function, hook)
                if undo is not None:
                    self._undo.append(undo)

    def disable(self) -> None:
        super().disable()
        while self._undo:
            self._undo.pop()()
        self._owned_elsewhere = None

    # -- classes ------------------------------------------------------------------------------
    def _patch_estimators(self, base: type) -> None:
        self._undo.append(_classes.hook_class_creation(base, self._patch_class))
        for cls in list(_classes.subclasses(base)):
            self._patch_class(cls)

    def _patch_class(self, cls: type) -> None:
        if not self.enabled:
            return
        names = _classes.own_entry_points(cls)
        if not names or _classes.derives_from(cls, self._owned_by_others()):
            return
        search = _classes.derives_from(cls, self.search_classes)
        for name in names:
            if search and name == "fit":
                self.patch(cls, name, self._patched_search_fit)
            else:
                self.patch(cls, name, self._patched_fit)

    def _owned_by_others(self) -> frozenset[str]:
        if self._owned_elsewhere is None:
            from autolog import _discovery

            installed = _discovery.integrations()
            self._owned_elsewhere = frozenset(
                qualified for owner, classes in self.estimators_owned_by.items()
                if installed.get(owner) is not None for qualified in classes)
        return self._owned_elsewhere

    # -- hooks (generator functions: the original runs at their yield) -------------------------
    # The recording modules import numpy: imported at the first call, so that discovering
    # this plugin (inside ``autolog.autolog()``) costs no numpy import.
    def _patched_fit(self, call: PatchedCall) -> Steps:
        from integrations.sklearn._estimator import record_fit

        yield from record_fit(self, call)

    def _patched_search_fit(self, call: PatchedCall) -> Steps:
        from integrations.sklearn._search import record_search

        yield from record_search(self, call)

    def _patched_cross_validation(self, call: PatchedCall) -> Steps:
        from integrations.sklearn._crossval import record_cross_validation

        yield from record_cross_validation(self, call)

    def _patched_curve(self, call: PatchedCall) -> Steps:
        from integrations.sklearn._curves import record_curve

        yield from record_curve(self, call)
