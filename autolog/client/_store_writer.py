"""The writer's side of the store: one bad record costs only itself, a broken store costs no
training time, and memory stays bounded either way.

- A write that fails because of a record (a value SQLite cannot bind, an artifact path that
  cannot be a file) is bisected: every other record is written, the culprit is set aside in
  the store's ``rejected`` table with one warning naming its run and key.
- A write that fails because of the store keeps the records in memory and retries with a
  growing delay. A damaged database file is moved aside at once; a store that stays
  unwritable for ``RELOCATE_AFTER`` seconds (or fills the memory bound first) moves to a
  per-user temporary directory (see :mod:`autolog.backends.local_store`).
- Only when nothing can be written at all are records dropped, past ``max_records`` kept in
  memory: counted, and the count reported at exit. Runs' start and end records are never
  dropped, so what is written later still belongs to a run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from autolog._records import KEYED, RUN, STRUCTURAL
from autolog._values import escape_unencodable
from autolog._warnings import forget, warn_once
from autolog.backends._store_health import is_corrupt, is_store_level
from autolog.backends.local_store import LocalStore

logger = logging.getLogger("autolog.client")

#: Seconds a store may stay unwritable before records go to the fallback directory.
RELOCATE_AFTER = 10.0
_FIRST_RETRY = 0.1
_MAX_RETRY = 5.0
#: Records that are never dropped: without them, later records would belong to no run.


class _WriteFailed(Exception):
    def __init__(self, error: BaseException, unwritten: list[tuple],
                 rejected: list[tuple[tuple, BaseException]]) -> None:
        super().__init__(str(error))
        self.error = error
        self.unwritten = unwritten
        self.rejected = rejected


def write_or_set_aside(store: LocalStore, records: list[tuple],
                       target: str) -> list[tuple[tuple, BaseException]]:
    """Write ``records``; returns the ones refused on their own merits, with why.

    One transaction when all is well; a refusal splits the batch in halves until the culprit
    is alone. A failure of the store itself raises ``_WriteFailed`` with what was not written,
    in order.
    """
    rejected: list[tuple[tuple, BaseException]] = []
    chunks = [records]  # a stack: the first half is popped first, so order is kept
    while chunks:
        chunk = chunks.pop()
        try:
            store.write_records(chunk, target)
        except Exception as error:
            if is_store_level(error):
                unwritten = chunk + [record for rest in reversed(chunks) for record in rest]
                raise _WriteFailed(error, unwritten, rejected) from error
            if len(chunk) == 1:
                rejected.append((chunk[0], error))
                continue
            middle = len(chunk) // 2
            chunks.append(chunk[middle:])
            chunks.append(chunk[:middle])
    return rejected


class StoreWriter:
    """Records drained from the queue → the store, for one pipeline (writer thread)."""

    def __init__(self, store: LocalStore, target: str, max_records: int) -> None:
        self.store = store
        self.target = target
        self.max_records = max_records
        self.unwritten: list[tuple] = []
        self.dropped = 0
        self.rejected = 0
        self.failing_since: float | None = None
        self.last_error = ""
        self._retry_at = 0.0
        self._retry_delay = _FIRST_RETRY
        self._move_tried = store.relocated_from is not None
        self._stranded = False

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    @property
    def exhausted(self) -> bool:
        """Failing even where the store could move to (or it could not move): records may be
        dropped now."""
        return self.failing_since is not None and self._stranded

    def write(self, records: Sequence[tuple], *, now: bool = False) -> bool:
        """Store ``records`` after any kept from failed writes; True when nothing waits.

        While the store is failing, a write is tried only when its retry is due (or ``now``,
        for a flush); in between, records are kept, up to the memory bound."""
        if records:
            self.unwritten.extend(records)
        if not self.unwritten:
            return True
        if self.failing and not (now or time.monotonic() >= self._retry_at
                                 or self._may_move_now()):
            self._trim()
            return False
        for _ in range(3):  # a store that just started over (moved, relocated) is tried again
            try:
                rejected = write_or_set_aside(self.store, self.unwritten, self.target)
            except _WriteFailed as failure:
                self.unwritten = failure.unwritten
                self._set_aside(failure.rejected)
                if not self._fail(failure.error):
                    self._trim()
                    return False
                continue
            self.unwritten = []
            self._set_aside(rejected)
            self._recovered()
            return True
        self._trim()
        return False

    def lost(self) -> int:
        """Records that will never be written: dropped, and any still kept while failing."""
        return self.dropped + (len(self.unwritten) if self.failing else 0)

    # -- failure handling ---------------------------------------------------------------------
    def _may_move_now(self) -> bool:
        """Memory is full and moving the store was not tried yet: try before dropping."""
        return len(self.unwritten) >= self.max_records and not self._move_tried

    def _trim(self) -> None:
        """Past the memory bound while the store fails: drop the newest records (not a run's
        start or end), so the runs and their earliest records survive."""
        excess = len(self.unwritten) - self.max_records
        if excess <= 0:
            return
        kept: list[tuple] = []
        dropped = 0
        for position, record in enumerate(self.unwritten):
            if position < self.max_records or record[0] in STRUCTURAL:
                kept.append(record)
            else:
                dropped += 1
        self.unwritten = kept
        self.dropped += dropped
        warn_once("store-dropping", f"autolog: the local store cannot be written "
                  f"({self.last_error}); records past the {self.max_records} kept in memory "
                  "are dropped (their number is reported at exit)")

    def _fail(self, error: BaseException) -> bool:
        """Note a failure of the store; True when it started over and is worth a retry now."""
        cause = getattr(error, "cause", error)
        message = f"{type(cause).__name__}: {cause}" if not str(cause) else str(cause)
        clock = time.monotonic()
        if self.failing_since is None:
            self.failing_since = clock
        self.last_error = message
        if self._move_tried:
            self._stranded = True  # it failed where it moved to, or could not move at all
        stuck = clock - self.failing_since >= RELOCATE_AFTER or self._may_move_now()
        if is_corrupt(error) or (stuck and not self._move_tried):
            self._move_tried = self._move_tried or not is_corrupt(error)
            if self.store.start_over(cause):
                return True
            self._stranded = self._move_tried
        self._retry_at = clock + self._retry_delay
        self._retry_delay = min(_MAX_RETRY, self._retry_delay * 2)
        warn_once("store-write", f"autolog: could not write to the local store {self.store.path} "
                  f"({message}); records are kept in memory (up to {self.max_records}) and "
                  "written once it can be")
        return False

    def _recovered(self) -> None:
        if self.failing_since is None:
            return
        logger.info("autolog: writing to the local store %s resumed", self.store.path)
        self.failing_since = None
        self._stranded = False
        self._retry_delay = _FIRST_RETRY
        forget("store-write")

    def _set_aside(self, rejected: list[tuple[tuple, BaseException]]) -> None:
        for record, error in rejected:
            self.rejected += 1
            kind, run_id, key = _describe(record)
            reason = f"{type(error).__name__}: {error}"
            try:
                self.store.record_rejection(run_id, kind, key, escape_unencodable(reason))
            except Exception:
                logger.debug("could not record the rejection of a %s record", kind,
                             exc_info=True)
            warn_once(f"store-rejected:{run_id}:{kind}:{key}",
                      f"autolog: the local store refused a {kind} record of run {run_id} "
                      f"(key {key!r}: {reason}); it was set aside, every other record was "
                      f"written (see the rejected table of {self.store.path})")


def _describe(record: tuple) -> tuple[str, str, str | None]:
    """(kind, run id, key) of a record, as text the store can hold."""
    kind = str(record[0])
    run_id = str(record[1]) if len(record) > 1 else ""
    key: object = None
    if kind in KEYED and len(record) > 2:
        key = record[2]
    elif kind == RUN and len(record) > 3:
        key = record[3]  # the run's name
    text = None if key is None else escape_unencodable(str(key))
    return kind, escape_unencodable(run_id), text
