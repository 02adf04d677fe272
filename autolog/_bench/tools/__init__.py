"""The tools a workload is measured with: bare, autolog, MLflow and the peer trackers.

A tool is a :class:`Tool` subclass in a module of this package, listed in ``TOOLS``. The
harness uses it in two places:

- in the parent process, as data: is it installed, which framework it has an integration for
  (``integrations``, what a user would pick) or only documented manual calls for (``manual``,
  run as a second, labelled row), and the environment its process gets (offline mode,
  telemetry off; every tool gets a private ``HOME`` and working folder);
- in the measured process: :meth:`Tool.setup` before the workload's frameworks are imported,
  then :meth:`Tool.start` returns a :class:`Session` whose ``hooks`` go into the workload's
  code, whose :meth:`Session.finish` is the tool's own flush or close (timed), and whose
  :meth:`Session.census` counts what it recorded (untimed).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autolog._bench._workload import Hooks

#: name -> module of this package defining ``TOOL``; in the order the tables show them.
TOOLS = {
    "bare": "autolog._bench.tools.bare",
    "autolog": "autolog._bench.tools.autolog",
    "mlflow": "autolog._bench.tools.mlflow",
    "wandb": "autolog._bench.tools.wandb",
    "comet": "autolog._bench.tools.comet",
    "clearml": "autolog._bench.tools.clearml",
    "dvclive": "autolog._bench.tools.dvclive",
}
#: Environment of every measured process: one BLAS/OpenMP thread (on a small machine a busy
#: neighbour otherwise stalls OpenBLAS's second thread, which drowns every comparison).
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CENSUS_KEYS = ("runs", "params", "metric_points", "tags", "files", "models")


@dataclass
class Context:
    """Where one measured process logs, and what it measures."""

    workload: str  # "sklearn.fits"
    frameworks: tuple[str, ...]
    models: bool  # the tool's default for models and checkpoints, or off
    mode: str  # "integration" or "manual"
    destination: str  # "embedded", "server" or "server-1"
    uri: str | None  # the MLflow server of a server destination
    server_root: str | None  # its folder (for counting what arrived), when the bench started it
    workdir: Path  # this workload's working folder (private to this run)
    process_dir: Path  # the process's (shared by the workloads of a smoke-test process)
    experiment: str

    @property
    def remote(self) -> bool:
        return self.uri is not None


class Session:
    """A tool switched on for one workload."""

    hooks: Hooks = Hooks()

    def finish(self, mark: Callable[[str], None]) -> None:
        """The tool's own flush or close, timed; ``mark("stored")`` notes an intermediate
        point (e.g. stored locally before delivered to a server)."""

    def census(self) -> dict[str, Any] | None:
        """What the workload recorded: ``runs``, ``params``, ``metric_points``, ``files``...
        (None: nothing to count)."""
        return None


class Tool:
    name = ""
    #: Importable module (None: always there) and the distribution whose version is reported.
    module: str | None = None
    distribution: str | None = None
    install = ""  # what to pip install
    #: framework -> the integration a user would pick, in words (what the tables show).
    integrations: dict[str, str] = {}
    #: framework -> documented manual calls, for a second, labelled row where there is no
    #: integration.
    manual: dict[str, str] = {}
    #: framework -> why there is no row (e.g. an integration without an offline mode).
    missing: dict[str, str] = {}
    #: Does it log to an MLflow server (so it runs at the server destinations too)?
    servers = False
    #: Does it keep training going with its server down (the outage rows)? MLflow's client
    #: retries each call for minutes instead.
    outage = False
    #: label -> environment: documented switches for a default that is slow for a reason
    #: the tool's docs give; each adds a row beside the default one (the smoke test runs
    #: only the last, to stay fast).
    switches: dict[str, dict[str, str]] = {}

    def available(self) -> str | None:
        """None when installed, else why not."""
        if self.module is not None and importlib.util.find_spec(self.module) is None:
            return f"not installed (pip install {self.install or self.distribution})"
        return None

    def modes(self, frameworks: tuple[str, ...]) -> list[str]:
        """The rows this tool has for a workload over ``frameworks`` (its first is the
        framework whose call is measured)."""
        if self.name == "bare":
            return ["integration"]
        main = frameworks[0]
        return [mode for mode, table in (("integration", self.integrations),
                                         ("manual", self.manual)) if main in table]

    def describe(self, frameworks: tuple[str, ...], mode: str) -> str:
        table = self.integrations if mode == "integration" else self.manual
        ways = [table.get(framework) or self.integrations.get(framework) for framework in frameworks]
        if len(set(ways)) == 1 and ways[0]:
            return ways[0]
        return "; ".join(f"{framework}: {how or 'no integration'}"
                         for framework, how in zip(frameworks, ways, strict=True))

    def why_missing(self, framework: str) -> str:
        return self.missing.get(framework, "no integration")

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        """Variables of the measured process besides HOME (offline mode, telemetry off)."""
        return {}

    def setup(self, context: Context) -> None:
        """Before the workload's frameworks are imported (import order matters to some)."""

    def start(self, context: Context) -> Session:
        return Session()

    def version(self) -> str | None:
        if self.distribution is None:
            return None
        from autolog import _metadata

        return _metadata.version(self.distribution)


def load(name: str) -> Tool:
    return importlib.import_module(TOOLS[name]).TOOL
