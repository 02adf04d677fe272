"""Comet, offline (``COMET_START_ONLINE=false``): one experiment per script, as its docs show.

``comet_ml`` is imported before the frameworks (its auto-logging needs that), then
``comet_ml.start()`` opens the experiment and the framework calls run; ``experiment.end()``
archives it (a zip in ``COMET_OFFLINE_DIRECTORY``). Its scikit-learn and XGBoost
auto-logging ride on that experiment; Lightning uses Lightning's ``CometLogger`` (``online``
left unset: with Lightning 2.6 ``online=False`` records nothing). optuna-integration's
``CometCallback`` has no offline mode, so Optuna has no row. Comet also records the console,
the installed and OS packages and system metrics (counted apart); by default it probes the
cloud metadata address (169.254.169.254) for environment details, which
``COMET_AUTO_LOG_ENV_DETAILS=false`` switches off (a second row).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autolog._bench._workload import Hooks
from autolog._bench.tools import Context, Session, Tool


class CometHooks(Hooks):
    def __init__(self, context: Context) -> None:
        self.context = context

    def lightning_loggers(self) -> list[Any]:
        from lightning.pytorch.loggers import CometLogger

        return [CometLogger(project=self.context.experiment)]


class CometSession(Session):
    def __init__(self, context: Context) -> None:
        import comet_ml

        self.context = context
        self.hooks = CometHooks(context)
        self.experiment = None
        if context.frameworks[0] != "lightning":  # the logger opens its own
            self.experiment = comet_ml.start(project_name=context.experiment)

    def finish(self, mark: Callable[[str], None]) -> None:
        import comet_ml

        if self.experiment is not None:
            self.experiment.end()
        running = comet_ml.get_running_experiment()
        if running is not None:
            running.end()

    def census(self) -> dict[str, Any] | None:
        return census(self.context.workdir / "comet")


def census(folder: Path) -> dict[str, Any]:
    counts = {"runs": 0, "params": 0, "metric_points": 0, "files": 0}
    system = console = 0
    for archive in sorted(folder.glob("*.zip")):
        counts["runs"] += 1
        params: set[str] = set()
        with zipfile.ZipFile(archive) as opened:
            lines = opened.read("messages.json").decode().splitlines()
        for line in lines:
            message = json.loads(line)
            kind, payload = message.get("type"), message.get("payload", {})
            if kind == "parameter_msg":
                params.add(payload["param"]["paramName"])
            elif kind == "metric_msg":
                if payload["metric"]["metricName"].startswith("sys."):
                    system += 1
                else:
                    counts["metric_points"] += 1
            elif kind in ("file_upload", "remote_file"):
                counts["files"] += 1
            elif kind == "standard_output":
                console += 1
        counts["params"] += len(params)
    counts["note"] = f"+ {system:,} system-metric values, {console:,} console lines"
    return counts


class Comet(Tool):
    name = "comet"
    module = "comet_ml"
    distribution = "comet-ml"
    integrations = {
        "sklearn": "comet_ml.start() + its scikit-learn auto-logging (params only)",
        "xgboost": "comet_ml.start() + its XGBoost auto-logging",
        "lightning": "lightning's CometLogger (COMET_START_ONLINE=false)",
    }
    missing = {"optuna": "optuna-integration's CometCallback has no offline mode"}
    switches = {"env details off": {"COMET_AUTO_LOG_ENV_DETAILS": "false"}}

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        return {"COMET_START_ONLINE": "false", "COMET_ERROR_TRACKING_ENABLE": "false",
                "COMET_DISABLE_ANNOUNCEMENT": "true"}

    def setup(self, context: Context) -> None:
        os.environ["COMET_OFFLINE_DIRECTORY"] = str(context.workdir / "comet")
        import comet_ml  # noqa: F401  (before the frameworks: its auto-logging patches them)

    def start(self, context: Context) -> Session:
        return CometSession(context)


TOOL = Comet()
