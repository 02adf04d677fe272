"""Every workload of the benchmark, in the order the tables show them (see ``_workload``)."""

from __future__ import annotations

from autolog._bench._workload import Workload
from autolog._bench.workloads import lightning, logging, optuna, patching, sklearn, xgboost

WORKLOADS: dict[str, Workload] = {
    workload.key: workload
    for module in (sklearn, xgboost, lightning, optuna, logging, patching)
    for workload in module.WORKLOADS
}
