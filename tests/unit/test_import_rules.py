"""The layering ARCHITECTURE.md states, read from the source: each rule fails when broken.

Imports are parsed (``ast``), never executed; an import inside ``if TYPE_CHECKING:`` is for
type annotations only and does not count.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What the backends layer may use of the core: leaf modules that import nothing above them.
CORE_LEAVES = {"autolog._config", "autolog._guard", "autolog._lifecycle", "autolog._metadata",
               "autolog._nesting", "autolog._records", "autolog._values", "autolog._version",
               "autolog._warnings"}
#: SQL that names autolog's store: only autolog/backends/ writes or reads it.
SQL = re.compile(r"^\s*(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET"
                 r"|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|ATTACH\s+DATABASE)\b",
                 re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the repository
    module: str  # the module imported from (``from autolog import x`` is ``autolog.x``)
    names: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module} {', '.join(self.names)}".strip()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return ids


def imports_of(path: Path) -> list[Import]:
    """The runtime imports of one file, each ``from autolog import name`` as its own module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    where = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [Import(where, alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = tuple(alias.name for alias in node.names)
            if node.module in ("autolog", "integrations"):  # a submodule, or a public name
                found += [Import(where, f"{node.module}.{name}", (), node.lineno)
                          for name in names]
            else:
                found.append(Import(where, node.module, names, node.lineno))
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _under(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def broken_backends_rules(paths: list[Path]) -> list[str]:
    """backends/ stands alone: of the rest of autolog only the core's leaf modules (and the
    search query types it answers)."""
    return [str(found) for path in paths for found in imports_of(path)
            if _under(found.module, "autolog", "integrations")
            and not _under(found.module, "autolog.backends", "autolog.search._filter")
            and found.module not in CORE_LEAVES]


def broken_client_rules(paths: list[Path]) -> list[str]:
    """client/ sits on backends/ and the core's leaves; its one call upwards is into
    ``models._delivery`` (a run's model records)."""
    return [str(found) for path in paths for found in imports_of(path)
            if _under(found.module, "autolog", "integrations")
            and not _under(found.module, "autolog.client", "autolog.backends",
                           "autolog.models._delivery")
            and found.module not in CORE_LEAVES]


def broken_models_rules(paths: list[Path]) -> list[str]:
    """models/ never imports client/: model delivery uses the sender through a protocol."""
    return [str(found) for path in paths for found in imports_of(path)
            if _under(found.module, "autolog.client", "integrations")]


def broken_core_rules(paths: list[Path]) -> list[str]:
    """autolog/ never imports an integration (they are found through entry points), nor mlflow
    (the benchmark's MLflow tool and load test measure MLflow itself, so they may), nor
    requests (not a dependency: the transport is urllib3's)."""
    bench_mlflow = ("autolog/_bench/tools/mlflow.py", "autolog/_bench/_load.py")
    return [str(found) for path in paths for found in imports_of(path)
            if _under(found.module, "integrations", "requests")
            or (_under(found.module, "mlflow") and found.path not in bench_mlflow)]


def broken_integration_rules(paths: list[Path]) -> list[str]:
    """Integrations use the core through ``autolog.plugin`` and a few utilities: never the
    client or backends layers, never a private name of ``autolog._runs``, never another
    integration's modules (what two share lives in ``integrations/_*``), never mlflow."""
    broken = []
    for path in paths:
        own = path.relative_to(ROOT / "integrations").parts[0]
        for found in imports_of(path):
            other = found.module.split(".")[1] if _under(found.module, "integrations") and \
                found.module.count(".") else ""
            if (_under(found.module, "autolog.client", "autolog.backends", "mlflow")
                    or (found.module == "autolog._runs"
                        and any(name.startswith("_") for name in found.names))
                    or (other and not other.startswith("_") and other != own)):
                broken.append(str(found))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and isinstance(node.value, ast.Name) and node.value.id == "_runs"):
                broken.append(f"{path.relative_to(ROOT)}:{node.lineno} uses _runs.{node.attr}")
    return broken


def sql_outside_backends(paths: list[Path]) -> list[str]:
    """SQL on autolog's store lives in autolog/backends/ only. (The benchmark reads MLflow's
    and autolog's databases read-only as an outside observer: it is not part of the library.)"""
    found = []
    for path in paths:
        relative = path.relative_to(ROOT)
        if relative.parts[:2] in (("autolog", "backends"), ("autolog", "_bench")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and SQL.match(node.value):
                found.append(f"{relative}:{node.lineno} {node.value[:60]!r}")
    return found


# -- the rules hold in the tree -----------------------------------------------------------------
@pytest.mark.parametrize(("rule", "folder"), [
    (broken_backends_rules, "autolog/backends"),
    (broken_client_rules, "autolog/client"),
    (broken_models_rules, "autolog/models"),
    (broken_core_rules, "autolog"),
    (broken_integration_rules, "integrations"),
    (sql_outside_backends, "autolog"),
    (sql_outside_backends, "integrations"),
])
def test_the_tree_keeps_the_rule(rule, folder):
    assert rule(files(folder)) == []


# -- and each rule sees a break -----------------------------------------------------------------
@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Write a module at a path of the tree, in a copy rooted at tmp_path."""
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)

    def write(relative: str, source: str) -> list[Path]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return [path]

    return write


@pytest.mark.parametrize(("rule", "where", "source"), [
    (broken_backends_rules, "autolog/backends/x.py", "from autolog.client._sender import Sender\n"),
    (broken_backends_rules, "autolog/backends/x.py", "from autolog import _runs\n"),
    (broken_client_rules, "autolog/client/x.py", "from autolog._runs import Run\n"),
    (broken_models_rules, "autolog/models/x.py", "import autolog.client._pipeline\n"),
    (broken_core_rules, "autolog/x.py", "from integrations.sklearn import SklearnIntegration\n"),
    (broken_core_rules, "autolog/x.py", "def f():\n    import mlflow\n"),
    (broken_core_rules, "autolog/backends/x.py", "import requests\n"),
    (broken_integration_rules, "integrations/a/x.py", "from autolog._runs import _stack\n"),
    (broken_integration_rules, "integrations/a/x.py",
     "from autolog import _runs\n_runs._open_runs.clear()\n"),
    (broken_integration_rules, "integrations/a/x.py", "from integrations.b._metrics import f\n"),
    (broken_integration_rules, "integrations/a/x.py", "from autolog.client._pipeline import P\n"),
    (sql_outside_backends, "integrations/a/x.py",
     "q = 'INSERT OR IGNORE INTO runs (run_id) VALUES (?)'\n"),
    (sql_outside_backends, "autolog/x.py", "q = 'SELECT key, value FROM params WHERE run_id = ?'\n"),
])
def test_a_break_of_the_rule_is_found(scratch, rule, where, source):
    assert rule(scratch(where, source)) != []


@pytest.mark.parametrize(("rule", "where", "source"), [
    (broken_backends_rules, "autolog/backends/x.py", "from autolog._records import RUN\n"),
    (broken_client_rules, "autolog/client/x.py",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from autolog._runs import Run\n"),
    (broken_integration_rules, "integrations/a/x.py",
     "from autolog.plugin import Run\nfrom integrations._metrics import f\n"
     "from integrations.a._y import g\n"),
    (sql_outside_backends, "autolog/x.py", "text = 'Select the runs to compare'\n"),
])
def test_what_the_rules_allow_passes(scratch, rule, where, source):
    assert rule(scratch(where, source)) == []
