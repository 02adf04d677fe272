"""Turning a frozen model into the records of an MLflow model directory (writer thread).

:class:`PendingModel` is what :func:`autolog.models.log_model` leaves in the run's queue. When the
writer drains the queue, :meth:`PendingModel.records` builds the directory: the serialized model,
``MLmodel``, the signature and input example, the environment files. Each file becomes an
ordinary artifact record under ``<artifact_path>/``, so every backend stores the same layout
(the embedded store keeps it on disk, ``sync`` uploads it unchanged). One ``model`` record
follows the files; backends with first-class models (MLflow 3 logged models, the registry) act
on it once the files are delivered.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from autolog._records import ARTIFACT, MODEL
from autolog._version import __version__
from autolog._warnings import warn_once
from autolog.models import _environment, _flavors, _mlmodel, _signature

logger = logging.getLogger("autolog.models")

READY = "READY"
FAILED = "FAILED"
#: Pickles bigger than this are not scanned for the modules they import (the scan copies the
#: big array payloads); the classes of the model's MRO and the framework's requirements remain.
_SCAN_LIMIT = 64 * 1024 * 1024


@dataclass
class PendingModel:
    run_id: str
    artifact_path: str
    flavor: str
    client_model_id: str
    created: str
    status: str = READY
    frozen: _flavors.Frozen | None = None
    example: Any = None
    output: Any = None
    save_example: bool = True
    registered_model_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    max_model_mb: float = 500.0  # the cap owed files are held to (for the warning)

    def records(self) -> list[tuple]:
        """The artifact records of the model directory, then the ``model`` record."""
        files: dict[str, bytes] = {}
        if self.frozen is not None:
            try:
                self.frozen.complete()
            except _flavors.ModelTooLarge as error:
                warn_too_large(self.flavor, self.run_id, error.size, self.max_model_mb)
                return []
            files = self._directory()
        spec = {
            "client_model_id": self.client_model_id,
            "flavor": self.flavor,
            "form": self.frozen.form if self.frozen is not None else None,
            "status": self.status,
            "files": sorted(files),
            "registered_model_name": self.registered_model_name,
            "tags": self.tags,
        }
        records: list[tuple] = [
            (ARTIFACT, self.run_id, f"{self.artifact_path}/{name}", data)
            for name, data in files.items()
        ]
        records.append((MODEL, self.run_id, self.artifact_path, json.dumps(spec)))
        return records

    def _directory(self) -> dict[str, bytes]:
        frozen = self.frozen
        assert frozen is not None
        python = _environment.python_version()
        files, flavors = _flavors.layout(frozen, python)
        inputs, outputs = _signature.signature(self.example, self.output)
        example_info = None
        if self.save_example:
            example = _signature.example_files(self.example)
            if example is not None:
                example_files, example_info = example
                files.update(example_files)
        modules = set(frozen.modules)
        for name in frozen.pickled:
            if len(frozen.files[name]) <= _SCAN_LIMIT:
                modules |= _environment.pickled_modules(frozen.files[name])
        if self.example is not None:
            modules.add(type(self.example).__module__)
        framework = {"sklearn": "sklearn", "xgboost": "xgboost", "pytorch": "torch"}[self.flavor]
        files.update(_environment.environment_files(modules, framework))
        size = sum(len(data) for data in files.values())
        files["MLmodel"] = _mlmodel.mlmodel(
            run_id=self.run_id,
            artifact_path=self.artifact_path,
            flavors=flavors,
            model_uuid=self.client_model_id,
            created=self.created,
            size_bytes=size,
            signature=_mlmodel.signature_field(inputs, outputs),
            example_info=example_info,
            metadata={"autolog_version": __version__, "serialization": frozen.form},
        ).encode()
        return files


def warn_too_large(flavor: str, run_label: str, size: int, max_model_mb: float) -> None:
    warn_once("model-too-large", f"autolog: a {flavor} model of run {run_label!r} is larger "
              f"than max_model_mb={max_model_mb:g} ({size / (1024 * 1024):.3g} MB or more); it "
              "was not logged. Raise max_model_mb to log it.")
