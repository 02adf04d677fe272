"""The optimization-history plot, drawn off the user's threads.

Importing matplotlib and drawing cost about a second and a few hundred milliseconds, far more
than a whole small study, so ``optimize`` only hands a snapshot of the trials (plain numbers)
to one background thread. It draws with ``matplotlib.figure.Figure`` and the Agg canvas (no
pyplot: no global state, no GUI backend) and logs the PNG as an artifact of the study run.

:func:`wait_for_plots` waits for what is queued; the integration calls it at exit, before
autolog's final flush, so a script's last plot is delivered too.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from autolog._lifecycle import on_fork, start_thread
from autolog.plugin import Run, guarded

logger = logging.getLogger("autolog.integrations.optuna")

ARTIFACT = "optimization_history.png"


@dataclass(frozen=True)
class PlotJob:
    run: Run
    title: str
    directions: Sequence[str]
    value_names: Sequence[str]
    #: ``(number, state, values)`` of every finished trial.
    trials: Sequence[tuple[int, str, tuple[float, ...] | None]]
    pareto: frozenset[int] = frozenset()


class _Plotter:
    def __init__(self) -> None:
        self.jobs: queue.Queue[PlotJob] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, job: PlotJob) -> None:
        self.jobs.put(job)
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = start_thread(self._loop, "autolog-optuna-plots")
        while self.thread is None:  # exit has begun, no thread may start: draw them here
            try:
                self._draw(self.jobs.get_nowait())
            except queue.Empty:
                return

    def _loop(self) -> None:
        while True:
            self._draw(self.jobs.get())

    def _draw(self, job: PlotJob) -> None:
        try:
            with guarded("optuna: drawing the optimization history", reraise=False):
                png = render(job)
                if png is not None:
                    job.run.log_bytes(png, ARTIFACT)
        finally:
            self.jobs.task_done()

    def wait(self, timeout: float | None) -> bool:
        """Wait on the queue's own condition: no helper thread (none may start at exit)."""
        with self.jobs.all_tasks_done:
            return self.jobs.all_tasks_done.wait_for(lambda: not self.jobs.unfinished_tasks,
                                                      timeout)


_plotter = _Plotter()


def submit(job: PlotJob) -> None:
    _plotter.submit(job)


def wait_for_plots(timeout: float | None = 30.0) -> bool:
    """Wait until every plot handed over so far is logged; False if ``timeout`` passed first."""
    if _plotter.jobs.unfinished_tasks == 0:
        return True
    return _plotter.wait(timeout)


def render(job: PlotJob) -> bytes | None:
    """PNG bytes of the optimization history, or None without matplotlib or complete trials."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.debug("matplotlib is not installed: no optimization-history plot")
        return None
    complete = [(number, values) for number, state, values in job.trials
                if state == "COMPLETE" and values is not None]
    if not complete:
        return None
    objectives = len(job.directions)
    figure = Figure(figsize=(7.0, 3.2 * objectives), layout="constrained")
    FigureCanvasAgg(figure)
    for index in range(objectives):
        axes = figure.add_subplot(objectives, 1, index + 1)
        numbers = [number for number, _ in complete]
        values = [vals[index] for _, vals in complete]
        axes.scatter(numbers, values, s=14, color="tab:blue", label="objective value")
        if objectives == 1:
            best_numbers, best_values = _best_so_far(complete, job.directions[0])
            axes.step(best_numbers, best_values, where="post", color="tab:red",
                      label="best value")
        elif job.pareto:
            front = [(n, vals[index]) for n, vals in complete if n in job.pareto]
            axes.scatter([n for n, _ in front], [v for _, v in front], s=28, color="tab:red",
                         label="Pareto front")
        axes.set_ylabel(job.value_names[index] if index < len(job.value_names) else "value")
        axes.set_xlabel("trial")
        axes.grid(alpha=0.3)
        axes.legend(loc="best", fontsize="small")
    figure.suptitle(f"Optimization history: {job.title}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _best_so_far(complete: Sequence[tuple[int, tuple[float, ...]]],
                 direction: str) -> tuple[list[int], list[float]]:
    numbers, values = [], []
    best: float | None = None
    for number, vals in sorted(complete):
        value = vals[0]
        if best is None or (value < best if direction == "minimize" else value > best):
            best = value
        numbers.append(number)
        values.append(best)
    return numbers, values


def _after_fork_in_child() -> None:
    global _plotter
    _plotter = _Plotter()  # the parent's thread and queue do not exist here


on_fork("integrations", "optuna plotter", after_in_child=_after_fork_in_child)
