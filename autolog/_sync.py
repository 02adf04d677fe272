"""Delivering what waits in the local store: ``python -m autolog sync`` and ``status``.

Runs whose process died (SIGKILL, power loss) are still RUNNING in the store; sync closes them
as KILLED at the time of their last record before delivering, so the server never shows a run
that runs forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from autolog.backends import backend_for_uri
from autolog.backends.local_store import LOCAL_TARGET, LocalStore
from autolog.client._sender import Sender


@dataclass
class SyncReport:
    runs_created: int = 0
    records_delivered: int = 0
    records_rejected: int = 0
    runs_closed_as_killed: int = 0
    pending_after: int = 0
    error: str = ""


def _progress_counter(
    total: int, progress: Callable[[int, int], None] | None
) -> Callable[[str, int], None]:
    delivered = 0

    def on_progress(_run_id: str, count: int) -> None:
        nonlocal delivered
        delivered += count
        if progress is not None:
            progress(delivered, total)

    return on_progress


def sync(
    store: LocalStore,
    *,
    run_id: str | None = None,
    timeout: float = 300.0,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    report = SyncReport(runs_closed_as_killed=store.close_runs_of_dead_processes())
    targets = {run["target"] for run in store.runs() if run["target"] != LOCAL_TARGET}
    for target in sorted(targets):
        counts = store.pending_counts(target)
        selected = {r for r in counts if run_id is None or r.startswith(run_id)}
        total = sum(counts[r] for r in selected)
        if not selected:
            continue
        sender = Sender(store, target, backend_for_uri(target),
                        on_progress=_progress_counter(total, progress))
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if sender.deliver_pass(selected):
                    break
                time.sleep(max(0.0, min(sender.pause_until - time.monotonic(), 5.0)))
        finally:
            sender.close()
            sender.backend.close()
        report.runs_created += sender.stats["runs_created"]
        report.records_delivered += sender.stats["records_delivered"]
        report.records_rejected += sender.stats["records_rejected"]
        report.error = sender.last_error or report.error
        after = store.pending_counts(target)
        report.pending_after += sum(after.get(r, 0) for r in selected)
    return report
