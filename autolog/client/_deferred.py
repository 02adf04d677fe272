"""Records whose content is computed on the writer thread instead of the caller's.

A ``(DEFERRED, build)`` record carries a zero-argument callable that returns the records to
store in its place. Model logging uses it: the caller's thread freezes the model's state and
queues a deferred record; writing the model directory (``MLmodel``, signature, environment
files) happens when the writer drains the queue, in order with the run's other records, and
``flush()`` covers it like any other record.
"""

from __future__ import annotations

from collections.abc import Callable

from autolog._guard import report_failure
from autolog._records import DEFERRED


def expand_deferred(records: list[tuple]) -> list[tuple]:
    """``records`` with each deferred record replaced by what it builds.

    A build that fails is reported once as an AutologWarning (recorded for the test suite) and
    contributes nothing; the other records are stored as usual.
    """
    if not any(record[0] == DEFERRED for record in records):
        return records
    expanded: list[tuple] = []
    for record in records:
        if record[0] != DEFERRED:
            expanded.append(record)
            continue
        build: Callable[[], list[tuple]] = record[1]
        what = record[2] if len(record) > 2 else "models.build"
        try:
            expanded.extend(build())
        except Exception as error:  # never lose the drain's other records
            report_failure(what, error)
    return expanded
