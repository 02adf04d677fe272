"""DVCLive: files written as the training goes (``dvclive/``), outside any git repository.

Its integrations: ``dvclive.xgb.DVCLiveCallback``, ``dvclive.lightning.DVCLiveLogger``
(``log_model=False``) and ``dvclive.optuna.DVCLiveCallback`` (a ``Live`` per trial in one
folder: outside git only the last trial is kept). scikit-learn has none: the manual row opens a
``Live`` per fit in a folder of its own, logs the estimator's params and training score.
Inside a git repository ``Live()`` runs ``dvc init`` at its root, so every run here is in a
temporary folder outside git. Analytics off (``DVC_NO_ANALYTICS``, ``DO_NOT_TRACK``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autolog._bench._workload import Hooks
from autolog._bench.tools import Context, Session, Tool


class DvcliveHooks(Hooks):
    def __init__(self, context: Context) -> None:
        self.context = context
        self.fits = 0

    def sklearn_fit(self, estimator: Any, X: Any, y: Any) -> Any:
        from dvclive import Live

        self.fits += 1
        with Live(dir=str(self.context.workdir / "dvclive" / f"fit-{self.fits}"),
                  save_dvc_exp=False) as live:
            fitted = estimator.fit(X, y)
            live.log_params({key: value if isinstance(value, (int, float, str, bool))
                             or value is None else repr(value)
                             for key, value in estimator.get_params().items()})
            live.log_metric("training_score", fitted.score(X, y))
        return fitted

    def xgboost_callbacks(self) -> list[Any]:
        from dvclive import Live
        from dvclive.xgb import DVCLiveCallback

        return [DVCLiveCallback(live=Live(dir=str(self.context.workdir / "dvclive"),
                                          save_dvc_exp=False))]

    def lightning_loggers(self) -> list[Any]:
        from dvclive.lightning import DVCLiveLogger

        return [DVCLiveLogger(dir=str(self.context.workdir / "dvclive"), log_model=False,
                              save_dvc_exp=False)]

    def optuna_callbacks(self) -> list[Any]:
        from dvclive.optuna import DVCLiveCallback

        return [DVCLiveCallback(metric_name="value",
                                dir=str(self.context.workdir / "dvclive-optuna"))]


class DvcliveSession(Session):
    def __init__(self, context: Context) -> None:
        self.context = context
        self.hooks = DvcliveHooks(context)

    def finish(self, mark: Callable[[str], None]) -> None:
        """Nothing: every ``Live`` was ended by its integration (files written on the way)."""

    def census(self) -> dict[str, Any] | None:
        return census(self.context.workdir)


def census(folder: Path) -> dict[str, Any]:
    import yaml

    counts = {"runs": 0, "params": 0, "metric_points": 0, "files": 0}
    roots = {path.parent for pattern in ("dvclive*/**/metrics.json", "dvclive*/**/params.yaml",
                                         "dvclive*/metrics.json", "dvclive*/params.yaml")
             for path in folder.glob(pattern)}
    for root in sorted(roots):
        counts["runs"] += 1
        counts["files"] += sum(1 for path in root.rglob("*") if path.is_file())
        params = root / "params.yaml"
        if params.exists():
            counts["params"] += _leaves(yaml.safe_load(params.read_text()) or {})
        for table in (root / "plots" / "metrics").rglob("*.tsv"):
            counts["metric_points"] += max(0, len(table.read_text().splitlines()) - 1)
    return counts


def _leaves(tree: Any) -> int:
    if isinstance(tree, dict):
        return sum(_leaves(value) for value in tree.values())
    return 1


class Dvclive(Tool):
    name = "dvclive"
    module = "dvclive"
    distribution = "dvclive"
    integrations = {
        "xgboost": "dvclive.xgb.DVCLiveCallback",
        "lightning": "dvclive.lightning.DVCLiveLogger (log_model=False)",
        "optuna": "dvclive.optuna.DVCLiveCallback (outside git: the last trial kept)",
    }
    manual = {"sklearn": "a Live per fit: log_params (params) + log_metric (training score)"}
    missing = {"sklearn": "no scikit-learn integration"}

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        return {"DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}

    def start(self, context: Context) -> Session:
        return DvcliveSession(context)


TOOL = Dvclive()
