"""The environment files of a model directory: ``requirements.txt``, ``python_env.yaml``,
``conda.yaml``, with versions pinned to what is installed now.

MLflow finds a model's requirements by loading it and watching which modules get imported. We
cannot load models off the caller's thread cheaply, and need not: the packages that define the
model's classes (its MRO), the framework and the distributions the framework itself requires,
the serializer, and the input's container library (pandas, numpy) are what loading it needs.
Module names map to distributions through package metadata (``xgboost`` is provided by
``xgboost-cpu`` here, for instance), so the pins name what ``pip`` must install.

All of it runs on the writer thread; the package scan is done once per process.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
from collections.abc import Iterable, Mapping

from autolog.models._mlmodel import to_yaml

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_NEVER = frozenset({"autolog", "pip", "setuptools", "wheel"})


@functools.lru_cache(maxsize=1)
def _module_distributions() -> Mapping[str, list[str]]:
    """Top-level module -> the distributions (as their folders name them) that install it.

    Read from the ``*.dist-info`` folders on ``sys.path`` as text: the standard library's
    ``packages_distributions()`` parses every distribution's metadata and builds a path object
    per installed file, ~160 ms of CPU in a data-science environment of ~230 distributions,
    spent on the writer thread while the user's next fits wait for the GIL; this takes ~30 ms.
    (Python 3.10's version also reads only ``top_level.txt``, which wheels built without
    setuptools lack: scikit-learn's, xgboost's.)
    """
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or os.curdir
        try:
            names = sorted(os.listdir(folder))
        except OSError:  # a zip, a missing folder
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            project = name[: -len(".dist-info")].split("-", 1)[0]
            key = _canonical(project)
            if key in seen:
                continue  # shadowed by one earlier on sys.path, as imports are
            seen.add(key)
            for module in _top_level_names(os.path.join(folder, name)):
                found.setdefault(module, []).append(project)
    return found


def _top_level_names(dist_info: str) -> set[str]:
    """Importable top-level packages and modules a distribution installs: its
    ``top_level.txt``, else the first part of each path its ``RECORD`` lists."""
    listed = _read(os.path.join(dist_info, "top_level.txt"))
    if listed.strip():
        return set(listed.split())
    names = set()
    for line in _read(os.path.join(dist_info, "RECORD")).splitlines():
        head, sep, _ = line.split(",", 1)[0].partition("/")
        top = head if sep else inspect.getmodulename(head)
        if top and top.isidentifier() and top != "__pycache__":
            names.add(top)
    return names


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


@functools.lru_cache(maxsize=512)
def _installed(name: str) -> tuple[str, str] | None:
    """(canonical distribution name, version) when ``name`` is installed."""
    import importlib.metadata as metadata

    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    canonical = dist.metadata["Name"] or name
    return canonical, dist.version


def _release(version: str) -> str:
    """``2.13.0+cpu`` → ``2.13.0``: local labels name builds that public indexes don't serve."""
    return version.split("+", 1)[0]


def pin(name: str) -> str | None:
    found = _installed(name)
    return f"{found[0]}=={_release(found[1])}" if found else None


def _direct_requirements(distribution: str) -> list[str]:
    """Names the distribution requires unconditionally (extras left out)."""
    import importlib.metadata as metadata

    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for requirement in declared:
        _, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = _NAME.match(requirement)
        if match:
            names.append(match.group(1))
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=64)
def requirements(modules: tuple[str, ...], framework: str) -> tuple[str, ...]:
    """Pinned ``requirements.txt`` lines for a model whose classes live in ``modules``.

    ``framework`` is the top-level module of the flavor's library (``sklearn``, ``xgboost``,
    ``torch``); its distribution's own requirements are pinned too, where installed.
    """
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    wanted: dict[str, str] = {}
    framework_dists: list[str] = []
    for module in (*modules, framework):
        root = module.partition(".")[0]
        if not root or root in stdlib or root in ("builtins", "__main__"):
            continue
        for dist in _module_distributions().get(root, ()):
            wanted.setdefault(_canonical(dist), dist)
            if root == framework:
                framework_dists.append(dist)
    for dist in framework_dists:
        for name in _direct_requirements(dist):
            if _installed(name) is not None:
                wanted.setdefault(_canonical(name), name)
    lines = []
    for key in sorted(wanted):
        if key in _NEVER:
            continue
        pinned = pin(wanted[key])
        if pinned:
            lines.append(pinned)
    # MLflow's model server runs inside the model's environment, so MLflow is a requirement.
    lines.insert(0, pin("mlflow") or "mlflow")
    return tuple(lines)


_STRING_OPS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                         "SHORT_BINSTRING", "BINSTRING", "STRING"})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


def pickled_modules(data: bytes) -> set[str]:
    """Modules a pickle imports when it is loaded, read from its opcodes without loading it.

    ``GLOBAL`` names its module directly; ``STACK_GLOBAL`` (protocol 4+) takes the module and the
    name from the two strings pushed just before it, which may come back from the memo.
    A ``torch.save`` zip archive is scanned through its ``data.pkl``.
    """
    import io
    import pickletools
    import zipfile

    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                inner = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
                data = archive.read(inner) if inner else b""
        except (zipfile.BadZipFile, KeyError, OSError):
            return set()
    modules: set[str] = set()
    memo: dict[int, object] = {}
    top: object = None
    previous: object = None
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name in _STRING_OPS:
                previous, top = top, arg
            elif name == "MEMOIZE":
                memo[len(memo)] = top
            elif name in _PUT_OPS:
                memo[int(arg)] = top
            elif name in _GET_OPS:
                previous, top = top, memo.get(int(arg))
            elif name in ("GLOBAL", "INST"):
                modules.add(str(arg).split(" ", 1)[0])
                previous = top = None
            elif name == "STACK_GLOBAL":
                if isinstance(previous, str):
                    modules.add(previous)
                previous = top = None
            else:
                previous, top = top, None
    except Exception:  # a truncated or unusual stream: keep what was found
        pass
    return modules


def python_version() -> str:
    info = sys.version_info
    return f"{info.major}.{info.minor}.{info.micro}"


def python_env_yaml() -> str:
    build = [pin(name) or name for name in ("pip", "setuptools", "wheel")]
    return to_yaml({
        "python": python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    })


def conda_yaml(pinned: Iterable[str]) -> str:
    pip_version = _installed("pip")
    pip_line = f"pip<={_release(pip_version[1])}" if pip_version else "pip"
    return to_yaml({
        "channels": ["conda-forge"],
        "dependencies": [f"python={python_version()}", pip_line, {"pip": list(pinned)}],
        "name": "mlflow-env",
    })


def environment_files(modules: Iterable[str], framework: str) -> dict[str, bytes]:
    pinned = requirements(tuple(sorted(set(modules))), framework)
    return {
        REQUIREMENTS_FILE: ("\n".join(pinned) + "\n").encode(),
        PYTHON_ENV_FILE: python_env_yaml().encode(),
        CONDA_FILE: conda_yaml(pinned).encode(),
    }
