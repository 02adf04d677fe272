"""Per framework: freeze a model's state to bytes, and lay those bytes out as MLflow expects.

:func:`freeze` is the only model work done on the caller's thread: it turns the model into
bytes (so the user can keep training or mutating it) and checks the size cap. Where the
framework can copy a model faster than it can serialize it, the caller's thread takes only a
private copy and the bytes are made on the writer thread (:meth:`Frozen.complete`): XGBoost
copies 3,000 trees in ~3 ms and takes ~30 ms to serialize them. :func:`layout`
runs later on the writer thread and returns the files and the ``flavors:`` block of
``MLmodel`` that MLflow's loaders read:

- ``sklearn``: ``model.pkl`` (cloudpickle when installed, else pickle), read by
  ``mlflow.sklearn`` through ``pickled_model`` and ``serialization_format``.
- ``xgboost``: the booster's native UBJSON as ``model.ubj``; ``model_class`` tells
  ``mlflow.xgboost`` which class to instantiate before ``load_model`` (a ``Booster`` or the
  scikit-learn wrapper it was trained as).
- ``pytorch`` with the pickled module: ``data/model.pth`` plus ``data/pickle_module_info.txt``
  naming the pickler, which is what ``mlflow.pytorch`` loads (and pyfunc through it).
- ``pytorch`` state dict (the default): ``state_dict.pth`` at the model's root, which
  ``mlflow.pytorch.load_state_dict("runs:/<id>/model")`` reads. Rebuilding a module from a
  state dict needs its class and constructor arguments, which no loader has, so this form
  declares the ``pytorch_state_dict`` flavor only (no ``python_function``): MLflow's loaders
  then say plainly that the model has no ``pytorch`` flavor instead of failing halfway.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

FLAVORS = ("sklearn", "xgboost", "pytorch")


class ModelTooLarge(Exception):
    """The serialized model passed the size cap (``size`` bytes seen when we stopped)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class _CappedBuffer(io.RawIOBase):
    """A write-only buffer that gives up as soon as it holds more than ``limit`` bytes, so an
    oversized model costs at most ``limit`` bytes of pickling before it is skipped."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._size = 0
        self._limit = limit

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(data)
        self._size += size
        if self._size > self._limit:
            raise ModelTooLarge(self._size)
        self._parts.append(bytes(data))
        return size

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


@dataclass
class Frozen:
    """A model's state as bytes, plus what the writer thread needs to describe it."""

    flavor: str
    files: dict[str, bytes]
    config: dict[str, Any]
    form: str  # "cloudpickle", "pickle", "ubj", "pickled_module", "state_dict"
    modules: tuple[str, ...] = ()
    pickled: tuple[str, ...] = field(default=())  # files whose pickle opcodes name modules
    #: Files still to serialize from a private copy of the model (writer thread).
    owed: Callable[[], dict[str, bytes]] | None = None

    @property
    def size(self) -> int | None:
        """Bytes of the serialized model; None while some are still owed."""
        if self.owed is not None:
            return None
        return sum(len(data) for data in self.files.values())

    def complete(self) -> None:
        """Serialize what is owed; raises :class:`ModelTooLarge` past the cap."""
        if self.owed is not None:
            owed, self.owed = self.owed, None
            self.files.update(owed())


def _pickler() -> tuple[Any, str]:
    try:
        import cloudpickle
    except ImportError:
        return pickle, "pickle"
    return cloudpickle, "cloudpickle"


def _qualified_class(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def _class_modules(model: Any) -> tuple[str, ...]:
    return tuple({cls.__module__ for cls in type(model).__mro__})


def _version(module: str) -> str:
    return str(getattr(sys.modules.get(module), "__version__", ""))


def freeze(model: Any, flavor: str, *, pickle_module: bool, limit_bytes: int) -> Frozen:
    """Serialize ``model`` now (or copy it, see :meth:`Frozen.complete`); raises
    :class:`ModelTooLarge` past ``limit_bytes``."""
    if flavor == "sklearn":
        return _freeze_sklearn(model, limit_bytes)
    if flavor == "xgboost":
        return _freeze_xgboost(model, limit_bytes)
    if flavor == "pytorch":
        if pickle_module:
            return _freeze_torch_module(model, limit_bytes)
        return _freeze_state_dict(model, limit_bytes)
    raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")


def _freeze_sklearn(model: Any, limit: int) -> Frozen:
    serializer, form = _pickler()
    buffer = _CappedBuffer(limit)
    serializer.dump(model, buffer, protocol=pickle.DEFAULT_PROTOCOL)
    config = {"pickled_model": "model.pkl", "serialization_format": form,
              "sklearn_version": _version("sklearn"), "code": None}
    return Frozen("sklearn", {"model.pkl": buffer.getvalue()}, config, form,
                  _class_modules(model) + (serializer.__name__,), ("model.pkl",))


def _freeze_xgboost(model: Any, limit: int) -> Frozen:
    import xgboost

    booster = model if isinstance(model, xgboost.Booster) else model.get_booster()
    config = {"xgb_version": xgboost.__version__, "data": "model.ubj",
              "model_class": _qualified_class(model), "model_format": "ubj", "code": None}
    frozen = Frozen("xgboost", {}, config, "ubj", _class_modules(model))
    copy = _booster_copy(booster)
    if copy is None:
        frozen.files = _booster_files(booster, limit)
    else:
        frozen.owed = partial(_booster_files, copy, limit)
    return frozen


def _booster_files(booster: Any, limit: int) -> dict[str, bytes]:
    raw = bytes(booster.save_raw(raw_format="ubj"))
    if len(raw) > limit:
        raise ModelTooLarge(len(raw))
    return {"model.ubj": raw}


def _booster_copy(booster: Any) -> Any:
    """A private copy of a tree booster that serializes to the same bytes, or None.

    Slicing (``booster[:]``) copies the trees inside XGBoost. It leaves behind the Python-side
    attributes (put back here) and, for DART weights and categorical encodings, state that
    only serialization keeps: those boosters are serialized on the caller's thread instead.
    """
    types = booster.feature_types
    if types is not None and "c" in types:
        return None
    try:
        if json.loads(booster.save_config())["learner"]["gradient_booster"]["name"] != "gbtree":
            return None
        copy = booster[:]
    except Exception:  # an empty model, or a version that slices differently
        return None
    for key, value in booster.attributes().items():
        copy.set_attr(**{key: value})
    copy.feature_names = booster.feature_names
    copy.feature_types = types
    return copy


def _tensor_bytes(state: Any) -> int:
    return sum(value.numel() * value.element_size() for value in state.values()
               if hasattr(value, "element_size"))


def _freeze_state_dict(module: Any, limit: int) -> Frozen:
    import torch

    state = module.state_dict()
    estimate = _tensor_bytes(state)
    if estimate > limit:  # known before paying for the copy
        raise ModelTooLarge(estimate)
    on_cpu = type(state)(
        (key, value.detach().cpu() if isinstance(value, torch.Tensor) else value)
        for key, value in state.items()
    )
    buffer = io.BytesIO()
    torch.save(on_cpu, buffer)
    data = buffer.getvalue()
    if len(data) > limit:
        raise ModelTooLarge(len(data))
    config = {"pytorch_version": torch.__version__, "state_dict": "state_dict.pth",
              "model_class": _qualified_class(module),
              "load_with": "mlflow.pytorch.load_state_dict"}
    return Frozen("pytorch", {"state_dict.pth": data}, config, "state_dict",
                  _class_modules(module))


def _freeze_torch_module(module: Any, limit: int) -> Frozen:
    import torch

    estimate = _tensor_bytes(module.state_dict())
    if estimate > limit:
        raise ModelTooLarge(estimate)
    serializer, _ = _pickler()
    buffer = io.BytesIO()
    torch.save(module, buffer, pickle_module=serializer)
    data = buffer.getvalue()
    if len(data) > limit:
        raise ModelTooLarge(len(data))
    # The loader side names the module whose ``Unpickler`` torch.load uses: the standard one
    # reads cloudpickle's output too (cloudpickle itself has no Unpickler).
    files = {"data/model.pth": data, "data/pickle_module_info.txt": b"pickle"}
    config = {"model_data": "data", "pytorch_version": torch.__version__, "code": None,
              "pickle_module_name": "pickle"}
    return Frozen("pytorch", files, config, "pickled_module",
                  _class_modules(module) + (serializer.__name__,), ("data/model.pth",))


def layout(frozen: Frozen, python_version: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(files, flavors) of the model directory, minus MLmodel and the environment files."""
    env = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    config = dict(frozen.config)
    pyfunc: dict[str, Any] | None = None
    name = frozen.flavor
    if frozen.flavor == "sklearn":
        pyfunc = {"loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                  "predict_fn": "predict"}
    elif frozen.flavor == "xgboost":
        pyfunc = {"loader_module": "mlflow.xgboost", "data": "model.ubj"}
    elif frozen.form == "pickled_module":
        pickler_name = config.pop("pickle_module_name")
        pyfunc = {"loader_module": "mlflow.pytorch", "data": "data",
                  "pickle_module_name": pickler_name, "model_config": {"device": None}}
    else:
        name = "pytorch_state_dict"
    flavors: dict[str, Any] = {}
    if pyfunc is not None:
        pyfunc.update(env=env, python_version=python_version)
        flavors["python_function"] = dict(sorted(pyfunc.items()))
    flavors[name] = dict(sorted(config.items()))
    return dict(frozen.files), flavors
