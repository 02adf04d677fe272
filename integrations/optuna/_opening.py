"""Which run a study logs under, decided once per study and process.

- A run the user opened (and that holds no autologged model yet) is the study's run.
- Otherwise the study's run is the one claimed in the study's storage (``_claim``): created
  by whichever process claimed it first — this one, or another worker, or an earlier run of
  the same script — so every worker and every resumed session logs under the same run.
- A study started inside a run autolog opened (a trial of an outer study, say) gets a child.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from autolog import _config
from autolog._run_handles import store_has_run
from autolog._runs import get_pipeline
from autolog.plugin import HOLDS_MODEL, OPENED_BY, active_run, attach_run, start_run
from integrations.optuna._claim import Claim, claim, claim_key, read_claim
from integrations.optuna._remote_parent import RemoteParent, publish
from integrations.optuna._session import StudySession

if TYPE_CHECKING:
    from autolog.client._pipeline import Pipeline
    from autolog.plugin import Integration

#: How long a worker waits for the study run's row when a process sharing its local store
#: claimed the run a moment ago (the row is written right after the claim; this bounds a
#: crash in between).
ROW_WAIT_SECONDS = 10.0


def open_session(integration: Integration, study: Any) -> StudySession:
    options = integration.options
    run_tags = {"mlflow.autologging": integration.name, **options.extra_tags}
    host = active_run()
    if host is not None:
        pipeline, experiment = host.pipeline, host.experiment
    else:
        pipeline = get_pipeline(options.tracking_uri)
        experiment = _config.experiment_name(options.experiment)
    storage, study_id = study._storage, study._study_id
    store = str(pipeline.store.directory)
    key = claim_key(study.study_name, _destination(pipeline), experiment)
    existing = read_claim(storage, study_id, key)

    def session(run: Any, *, owned: bool, logs_settings: bool) -> StudySession:
        made = StudySession(study, run, owned=owned, logs_settings=logs_settings,
                            integration_name=integration.name, run_tags=run_tags,
                            record_intermediate=options.specific["intermediate_values"])
        made.seed(study.get_trials(deepcopy=False))
        return made

    state = host.integration_state if host is not None else {}
    if host is not None and OPENED_BY not in state and not state.get(HOLDS_MODEL):
        state[HOLDS_MODEL] = True  # the user's run: the study's run, never closed by autolog
        host.set_tags({**run_tags, **_study_tags(study)})
        if existing is None:
            existing = claim(storage, study_id, key, Claim.propose(host.run_id, host.name, store))
            if existing.run_id == host.run_id:
                _publish_remote_id(pipeline, storage, study_id, key, host)
        return session(host, owned=False, logs_settings=True)

    if existing is None:
        candidate = uuid.uuid4().hex
        existing = claim(storage, study_id, key,
                         Claim.propose(candidate, study.study_name, store))
        if existing.run_id == candidate:
            # Only the process that won the claim creates the run; the caller decides
            # whether it becomes the active run.
            run = start_run(
                study.study_name, run_id=candidate, parent=host, nested=False, activate=False,
                tags={**run_tags, **_study_tags(study)},
                experiment=None if host is not None else options.experiment,
                tracking_uri=None if host is not None else options.tracking_uri)
            run.integration_state[OPENED_BY] = integration.name
            if _shared(storage):
                run.pipeline.drain()  # other workers on this store wait for the run's row
                _publish_remote_id(pipeline, storage, study_id, key, run)
            return session(run, owned=True, logs_settings=True)

    run = attach_run(existing.run_id, existing.name, pipeline=pipeline, experiment=experiment)
    run.integration_state[OPENED_BY] = integration.name
    if existing.same_store(store) and existing.age() < ROW_WAIT_SECONDS:
        _wait_for_row(pipeline, run.run_id)
    attached = session(run, owned=False, logs_settings=False)
    if not store_has_run(pipeline, run.run_id) and pipeline.backend is not None:
        # Created with another local store (another machine): found by the server's id.
        attached.remote_parent = RemoteParent(storage, study_id, key, run)
    return attached


def _destination(pipeline: Pipeline) -> str:
    """Where runs go: the tracking server, or this particular local store."""
    if pipeline.backend is not None:
        return pipeline.target
    return f"{pipeline.target}:{pipeline.store.directory}"


def _publish_remote_id(pipeline: Pipeline, storage: Any, study_id: int, key: str,
                       run: Any) -> None:
    if pipeline.backend is not None and _shared(storage):
        publish(storage, study_id, key, run)


def _study_tags(study: Any) -> dict[str, str]:
    import optuna

    storage = study._storage
    backend = getattr(storage, "_backend", storage)
    return {"optuna.study_name": study.study_name, "optuna.storage": type(backend).__name__,
            "autolog.optuna_version": optuna.__version__}


def _shared(storage: Any) -> bool:
    from optuna.storages import InMemoryStorage

    return not isinstance(storage, InMemoryStorage)


def _wait_for_row(pipeline: Pipeline, run_id: str) -> None:
    deadline = time.monotonic() + ROW_WAIT_SECONDS
    while not store_has_run(pipeline, run_id) and time.monotonic() < deadline:
        time.sleep(0.02)
