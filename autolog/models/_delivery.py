"""Delivering model records (sender thread): MLflow 3 logged models and registry versions.

Where the server keeps logged models, a model's files go to the logged model only: MLflow
resolves ``runs:/<run>/<name>`` (``mlflow.pyfunc.load_model``, ``mlflow models serve``, the
registry) through the run's logged model of that name, as it does for models MLflow logs
itself, so a second copy among the run's artifacts would cost five requests and the storage
for nothing (:func:`files_the_logged_model_holds`). The run keeps the copy where that lookup
cannot find the model: a server without logged models (MLflow 2), a nested artifact path
(``models/best``), and a logged model the server refused to create. Then, per model record,
once every other file of the run before it is delivered:

1. create the logged model (``POST logged-models``, tagged with autolog's model id so a retry
   after a lost response finds it instead of creating a second one),
2. upload the directory to the logged model's own artifact location, its files at once
   (each request within the sender's window),
3. finalize it READY, or FAILED when training failed or an upload was refused (never PENDING),
4. link it to the run (``runs/outputs``; after an attempt whose answer was lost, only if the
   run's outputs do not list it yet: the server refuses a second link),
5. register it as a new version when a registered model name was given, after every model
   logged earlier under that name (runs are delivered in parallel; version numbers still
   follow the order the models were logged in).

Progress is saved after each step in the store's ``models`` table, so a delivery interrupted
anywhere (outage, crash, another process picking up the spool) resumes at the next step.
The sender delivering the run is used only through its public surface (:class:`ModelSender`):
retryable failures end the pass inside ``call``; a request the server refuses on its merits
is set aside with ``reject`` (the sender's usual rejection warning) and the model moves on,
always to a finalized state.

Backends that are not a :class:`~autolog.backends.base.ModelBackend` (the embedded store as a
target, the in-memory test backend) keep the directory as artifacts and nothing more. A server
that predates logged models (HTTP 404 on ``logged-models``) still gets registry versions,
sourced from ``runs:/<run>/<path>``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from autolog._warnings import info_once
from autolog.backends._mlflow_api import filter_literal
from autolog.backends.base import Backend, ModelBackend, Result
from autolog.backends.local_store import LocalStore
from autolog.models._mlmodel import with_remote_ids

CLIENT_MODEL_TAG = "autolog.clientModelId"
_MLMODEL_MAX_BYTES = 1_000_000

logger = logging.getLogger("autolog.models")

T = TypeVar("T")
R = TypeVar("R")


class ModelSender(Protocol):
    """What model delivery uses of the sender delivering the run (``autolog.client``)."""

    store: LocalStore
    backend: Backend
    #: The backend as a model store, or None when it keeps no models.
    models: ModelBackend | None

    def call(self, method: Callable[..., Result], *args: Any) -> Result: ...

    def reject(self, run_id: str, kind: str, key: str | None, error: str) -> None: ...

    def experiment_id(self, name: str) -> str: ...

    def hold_lease(self, run: dict[str, Any], upload_bytes: int = 0) -> None: ...

    def parallel(self, function: Callable[[T], R], items: list[T]) -> list[R]: ...


@contextlib.contextmanager
def upload_copy(store: LocalStore, run_id: str, path: str, remote_run_id: str,
                model_id: str | None = None) -> Iterator[str]:
    """The local file to upload for artifact ``path``: itself, or for an ``MLmodel`` autolog
    wrote, a temporary copy that names the server's run (and logged model) ids."""
    local = store.artifact_path(run_id, path)
    if local.name == "MLmodel" and local.is_file() and local.stat().st_size < _MLMODEL_MAX_BYTES:
        updated = with_remote_ids(local.read_bytes(), run_id, remote_run_id, model_id)
        if updated is not None:
            handle, temporary = tempfile.mkstemp(prefix="autolog-MLmodel-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(updated)
                yield temporary
            finally:
                os.unlink(temporary)
            return
    yield str(local)


def upload_to_run(sender: ModelSender, run_id: str, remote_id: str, path: str) -> None:
    """One of the run's files to the server's run; a refusal is set aside (reported)."""
    with upload_copy(sender.store, run_id, path, remote_id) as local_file:  # MLmodel: ids
        result = sender.call(sender.backend.log_artifact, remote_id, path, local_file)
    if not result.ok:
        sender.reject(run_id, "artifact", path,
                      "too large for the server" if result.too_large else result.error)


def files_the_logged_model_holds(sender: ModelSender, run: dict[str, Any]) -> set[str]:
    """Paths among the run's files that go to a logged model instead of the run (see the
    module docs). The first model a backend sees asks the server once whether it has logged
    models (a search that finds nothing); until it knows, the run keeps the copy."""
    backend = sender.models
    if backend is None or backend.logged_models_supported is False:
        return set()
    paths: set[str] = set()
    for row in sender.store.pending_models(run["run_id"]):
        spec = json.loads(row["spec"])
        if _resolvable_from_run(str(row["artifact_path"]), spec):
            paths.update(f"{row['artifact_path']}/{name}" for name in spec.get("files") or [])
    if paths and backend.logged_models_supported is None:
        sender.call(backend.search_logged_models, sender.experiment_id(run["experiment"]),
                    "name = 'autolog-logged-models-probe'")
    return paths if backend.logged_models_supported else set()


def _resolvable_from_run(artifact_path: str, spec: dict[str, Any]) -> bool:
    """Whether ``runs:/<run>/<artifact_path>`` finds this model's logged model by its name."""
    return logged_model_name(artifact_path) == artifact_path and spec.get("status") == "READY"


def send_models(sender: ModelSender, run: dict[str, Any], remote_id: str) -> bool:
    """Deliver the run's pending model records; False while their files are still on the way."""
    store = sender.store
    if run.get("models_pending") == 0:  # the claim saw none
        return True
    rows = store.pending_models(run["run_id"])
    if not rows:
        return True
    if store.pending("artifacts", run["run_id"], run["artifacts_sent"], 1):
        return False  # the model directory is not all uploaded to the run yet
    for row in rows:
        sender.hold_lease(run)
        if not _Delivery(sender, run, remote_id, row).run():
            return False  # an earlier model of the same name registers first
    return True


class _Delivery:
    """One model record through the steps above; ``state`` is its saved progress."""

    def __init__(self, sender: ModelSender, run: dict[str, Any], remote_id: str,
                 row: Any) -> None:
        self.sender = sender
        self.backend = sender.models
        self.store = sender.store
        self.run_row = run
        self.remote_id = remote_id
        self.row_id = int(row["id"])
        self.artifact_path = str(row["artifact_path"])
        self.spec: dict[str, Any] = json.loads(row["spec"])
        self.state: dict[str, Any] = json.loads(row["state"] or "{}")

    def save(self, done: bool = False) -> None:
        self.store.update_model(self.row_id, json.dumps(self.state), done)

    def reject(self, error: str) -> None:
        self.sender.reject(self.run_row["run_id"], "model", self.artifact_path, error)

    def run(self) -> bool:
        """True when the record is done; False when its registration waits for a model
        logged earlier under the same name (progress is saved; a later pass goes on)."""
        if self.backend is None:  # nowhere to keep models: the run's files are the model
            self.save(done=True)
            return True
        needs_model = self.state.get("model_id") is None and not self.state.get(
            "no_logged_model")
        if needs_model and not self._create():
            self.save(done=True)
            return True
        if self.state.get("model_id"):
            self._finish_logged_model()
        if self.spec.get("registered_model_name") and self._ready():
            if self._earlier_registration_pending():
                self.save()
                return False
            self._register()
        self.save(done=True)
        return True

    def _earlier_registration_pending(self) -> bool:
        name = self.spec["registered_model_name"]
        return any(json.loads(spec).get("registered_model_name") == name
                   for spec in self.store.earlier_model_specs(self.row_id,
                                                              self.run_row["target"]))

    def _ready(self) -> bool:
        return self.spec.get("status") == "READY" and self.state.get("uploaded", True)

    # -- logged model ---------------------------------------------------------------------------
    def _create(self) -> bool:
        """Create (or, after an attempt whose answer was lost, find) the logged model."""
        experiment_id = self.sender.experiment_id(self.run_row["experiment"])
        if self.backend.logged_models_supported is False:
            return self._without_logged_model()
        found = self._find(experiment_id) if self.state.get("create_attempted") else None
        if found is None:
            self.state["create_attempted"] = True
            self.save()
            tags = {CLIENT_MODEL_TAG: self.spec["client_model_id"],
                    "autolog.flavor": self.spec.get("flavor") or ""}
            params = {key: value for _, key, value
                      in self.store.pending("params", self.run_row["run_id"], 0, 100)}
            result = self.sender.call(self.backend.create_logged_model, experiment_id,
                                       logged_model_name(self.artifact_path), self.remote_id, tags,
                                       params)
            if not result.ok:
                if self.backend.logged_models_supported is False:
                    return self._without_logged_model()
                self.reject(result.error)
                if _resolvable_from_run(self.artifact_path, self.spec):
                    self._copy_to_run()  # its files were left to the logged model
                return False
            found = result.value
        self.state.update(model_id=found["model_id"], artifact_uri=found["artifact_uri"])
        self.save()
        return True

    def _without_logged_model(self) -> bool:
        """A server without logged models (MLflow 2): the run's copy is the model."""
        server = str(getattr(self.backend, "base_url", "the tracking server"))
        info_once(f"no-logged-models:{server}", f"autolog: {server} has no logged models (an "
                  "MLflow 2 server): models are kept as run artifacts (runs:/<run>/<path>) and "
                  "registered from there", log=logger)
        self.state["no_logged_model"] = True
        return True

    def _find(self, experiment_id: str) -> dict[str, Any] | None:
        name = filter_literal(logged_model_name(self.artifact_path))
        result = self.sender.call(self.backend.search_logged_models, experiment_id,
                                   f"name = '{name}'")
        if not result.ok:
            return None
        for info in result.value:
            tags = {tag.get("key"): tag.get("value") for tag in info.get("tags") or []}
            if tags.get(CLIENT_MODEL_TAG) == self.spec["client_model_id"]:
                return {"model_id": info["model_id"], "artifact_uri": info["artifact_uri"]}
        return None

    def _finish_logged_model(self) -> None:
        model_id = self.state["model_id"]
        step = self.state.get("step", 0)
        if step < 1:
            self.state["uploaded"] = self.spec.get("status") == "READY" and self._upload(model_id)
            self.state["step"] = step = 1
            self.save()
        if step < 2:
            result = self.sender.call(self.backend.finalize_logged_model, model_id,
                                       bool(self.state.get("uploaded")))
            if not result.ok:
                self.reject(result.error)
            self.state["step"] = step = 2
            self.save()
        if step < 3:
            # A link whose answer was lost may exist: the server refuses a second one.
            if not (self.state.get("link_attempted") and self._linked(model_id)):
                self.state["link_attempted"] = True
                self.save()
                result = self.sender.call(self.backend.link_model_to_run, self.remote_id,
                                          model_id)
                if not result.ok:
                    self.reject(result.error)
            self.state["step"] = 3
            self.save()

    def _copy_to_run(self) -> None:
        """The model's files among the run's artifacts, the copy ``runs:/`` falls back to."""
        run_id = self.run_row["run_id"]
        self.sender.parallel(
            lambda name: upload_to_run(self.sender, run_id, self.remote_id,
                                       f"{self.artifact_path}/{name}"),
            [str(name) for name in self.spec.get("files") or []])

    def _linked(self, model_id: str) -> bool:
        """Whether the run's outputs list the model already."""
        result = self.sender.call(self.backend.get_run, self.remote_id)
        if not result.ok:
            return False
        outputs = (result.value or {}).get("outputs") or {}
        return any(output.get("model_id") == model_id
                   for output in outputs.get("model_outputs") or [])

    def _upload(self, model_id: str) -> bool:
        """The model's files to its own location, several at once; False when one was refused
        (each refusal is set aside). A pause ends the pass with the step not done: the next
        pass uploads them all again, overwriting with the same bytes."""
        run_id = self.run_row["run_id"]
        names = [str(name) for name in self.spec.get("files") or []]
        sizes = 0
        for name in names:
            local = self.store.artifact_path(run_id, f"{self.artifact_path}/{name}")
            sizes += local.stat().st_size if local.is_file() else 0
        self.sender.hold_lease(self.run_row, sizes)

        def upload(name: str) -> bool:
            path = f"{self.artifact_path}/{name}"
            with upload_copy(self.store, run_id, path, self.remote_id, model_id) as local_file:
                result = self.sender.call(self.backend.upload_artifact,
                                          self.state["artifact_uri"], name, local_file)
            if not result.ok:
                self.reject(result.error)
            return result.ok

        return all(self.sender.parallel(upload, names))

    # -- registry -------------------------------------------------------------------------------
    def _register(self) -> None:
        name = str(self.spec["registered_model_name"])
        if self.state.get("version"):
            return
        if self.state.get("version_attempted"):
            existing = self._find_version(name)
            if existing is not None:
                self.state["version"] = existing
                self.save()
                return
        created = self.sender.call(self.backend.create_registered_model, name)
        if not created.ok:
            self.reject(created.error)
            return
        model_id = self.state.get("model_id")
        source = (f"models:/{model_id}" if model_id
                  else f"runs:/{self.remote_id}/{self.artifact_path}")
        self.state["version_attempted"] = True
        self.save()
        result = self.sender.call(self.backend.create_model_version, name, source,
                                   self.remote_id, model_id,
                                   {CLIENT_MODEL_TAG: self.spec["client_model_id"]})
        if not result.ok:
            self.reject(result.error)
            return
        self.state["version"] = str(result.value.get("version"))
        self.save()

    def _find_version(self, name: str) -> str | None:
        escaped = name.replace("'", "\\'")
        result = self.sender.call(self.backend.search_model_versions,
                                   f"name = '{escaped}' and run_id = '{self.remote_id}'")
        if not result.ok:
            return None
        for version in result.value:
            tags = {tag.get("key"): tag.get("value") for tag in version.get("tags") or []}
            if tags.get(CLIENT_MODEL_TAG) == self.spec["client_model_id"]:
                return str(version.get("version"))
        return None


def logged_model_name(artifact_path: str) -> str:
    """MLflow resolves ``runs:/<run>/<name>`` through a logged model of that name."""
    return artifact_path.replace("/", "-")
