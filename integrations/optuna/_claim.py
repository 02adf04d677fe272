"""Agreeing on a study's run through the study's own Optuna storage.

Workers of a distributed study (RDB or journal storage) and a study resumed later must log
under one study run. Run ids are made client-side, so the processes only have to agree on an
id: each proposes one, and the first proposal the storage holds wins. "First" is exact where
the storage can say it:

- RDB storage: the proposal is *inserted* (never updated) under a key the database keeps
  unique per study, so a second writer's insert fails and it reads the winner back;
- journal storage: every process replays the same append-only log, so each proposal is
  written under its own key and the first one in log order wins;
- in-memory storage lives in one process, where a lock makes read-then-write exact; other
  storages (the gRPC proxy, third-party ones) get the same read-then-write, best effort.

The claim is stored in the study's system attrs under a key derived from the study name and
the destination (tracking target and experiment), so a study logged to two destinations has
a run in each, and a study copied under another name gets its own run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

logger = logging.getLogger("autolog.integrations.optuna")

KEY_PREFIX = "autolog:run:"
_lock = threading.Lock()


@dataclass(frozen=True)
class Claim:
    """Which run is the study's run, and where it was created (to find its local row)."""

    run_id: str
    name: str
    store: str
    host: str
    created: float = 0.0

    @classmethod
    def propose(cls, run_id: str, name: str, store: str) -> Claim:
        return cls(run_id, name, store, socket.gethostname(), time.time())

    @classmethod
    def from_value(cls, value: Any) -> Claim | None:
        if not isinstance(value, dict) or not isinstance(value.get("run_id"), str):
            return None
        try:
            created = float(value.get("created", 0.0))
        except (TypeError, ValueError):
            created = 0.0
        return cls(value["run_id"], str(value.get("name", "")), str(value.get("store", "")),
                   str(value.get("host", "")), created)

    def same_store(self, store: str) -> bool:
        """Made by a process on this machine that uses the same local store."""
        return self.host == socket.gethostname() and self.store == store

    def age(self) -> float:
        return time.time() - self.created


def claim_key(study_name: str, target: str, experiment: str) -> str:
    digest = hashlib.sha1(f"{study_name}\n{target}\n{experiment}".encode()).hexdigest()[:16]
    return KEY_PREFIX + digest


def read_claim(storage: Any, study_id: int, key: str) -> Claim | None:
    """The winning claim under ``key``, or None if no process claimed the study yet."""
    attrs = storage.get_study_system_attrs(study_id)
    for name, value in attrs.items():  # journal: dict order is log order
        if name == key or name.startswith(key + ":"):
            claim = Claim.from_value(value)
            if claim is not None:
                return claim
    return None


def claim(storage: Any, study_id: int, key: str, proposal: Claim) -> Claim:
    """The study's run: an existing claim, else ``proposal`` if it is the first one stored."""
    existing = read_claim(storage, study_id, key)
    if existing is not None:
        return existing
    _write(storage, study_id, key, proposal)
    return read_claim(storage, study_id, key) or proposal


def _write(storage: Any, study_id: int, key: str, proposal: Claim) -> None:
    from optuna.storages import JournalStorage, RDBStorage

    value = asdict(proposal)
    backend = getattr(storage, "_backend", storage)  # _CachedStorage wraps an RDBStorage
    if isinstance(backend, RDBStorage) and _insert_if_absent(backend, study_id, key, value):
        return
    if isinstance(storage, JournalStorage):
        storage.set_study_system_attr(study_id, f"{key}:{proposal.run_id}", value)
        return
    with _lock:
        if read_claim(storage, study_id, key) is None:
            storage.set_study_system_attr(study_id, key, value)


def _insert_if_absent(storage: Any, study_id: int, key: str, value: dict[str, Any]) -> bool:
    """Insert the claim; a concurrent insert of the same key loses on the unique constraint.

    ``RDBStorage.set_study_system_attr`` would update an existing row (last writer wins), so
    the row is inserted directly. Returns False where this Optuna's internals differ; the
    caller then falls back to read-then-write.
    """
    try:
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
    except ImportError:
        return False
    row = models.StudySystemAttributeModel(study_id=study_id, key=key, value_json=json.dumps(value))
    with _create_scoped_session(storage.scoped_session, True) as session:  # True: loser ignored
        session.add(row)
    return True
