"""The optimization-history plot as SVG (the default ``plot_format``), logged on the study run.

Writing it costs a few tenths of a millisecond for a hundred trials, so it needs no thread
of its own (unlike the matplotlib PNG of :mod:`._plot`): it is a deferred record that
autolog's writer draws from the snapshot ``optimize`` took, and ``autolog.flush()`` and the
exit flush cover it like any other record.
"""

from __future__ import annotations

from integrations.optuna._plot import PlotJob

ARTIFACT = "optimization_history.svg"


def log_history_svg(job: PlotJob) -> None:
    job.run.log_artifact_later(ARTIFACT, lambda: render(job),
                               what="optuna: the optimization history")


def render(job: PlotJob) -> bytes | None:
    """SVG bytes of the history of the complete trials; None without any."""
    from integrations._svg import optimization_history_svg

    complete = [(number, values) for number, state, values in job.trials
                if state == "COMPLETE" and values is not None]
    return optimization_history_svg(complete, job.directions, job.value_names,
                                    f"Optimization history: {job.title}", job.pareto)
