"""The benchmark: ``python -m autolog bench`` (also ``benchmarks/run.py``).

One harness for every measurement of logging overhead: each workload (``workloads/``) runs
bare and under each tool (``tools/``: autolog, MLflow's autologging, W&B, Comet, ClearML,
DVCLive) in a fresh process per run, at the cadence users train at (back to back), locally
and against MLflow servers of MLflow's default shape (4 workers) and with 1 worker:

- ``_workload``: the workload and hooks interface (how to add a workload);
- ``_runner``: the rows to run, the servers, one process per run, medians;
- ``_cell``: one measured process; ``_probe``: CPU per thread and of sidecar processes,
  connections outside the machine; ``_census``: what each tool recorded;
- ``_report``: the table, the README's Markdown, the plot; ``_cli``: the command line.
"""

from autolog._bench._cli import add_arguments, main, run

__all__ = ["add_arguments", "main", "run"]
