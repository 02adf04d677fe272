"""The safe-patch contract, checked for every registered integration.

Parametrized over every integration whose plugin loads, plus the fake framework's; each needs
a scenario in ``scenarios.py``. A plugin that does not load is reported by
``tests/unit/test_discovery.py``, not here.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import autolog
from autolog import _discovery
from autolog._autolog import autolog as enable_autolog
from autolog._integration import ERROR_TAG
from autolog._patching import is_patched
from autolog._runs import Run
from autolog._warnings import AutologWarning
from tests.contract.scenarios import SCENARIOS, Scenario, resolve_entry
from tests.fake_framework.plugin import FAKE_MODULE, FAKE_NAME
from tests.fake_framework.recording import RunRecorder

ROOT = Path(__file__).resolve().parents[2]


def _loadable_integrations() -> list[str]:
    names = {FAKE_NAME}
    for entry_point in _discovery.entry_points():
        try:
            entry_point.load()
        except Exception:
            continue
        names.add(entry_point.name)
    return sorted(names)


class Spy:
    """Stands in for the original entry point and remembers exactly what happened to it."""

    def __init__(self, owner: Any, attribute: str, monkeypatch: pytest.MonkeyPatch) -> None:
        namespace = vars(owner)
        assert attribute in namespace, f"{attribute} must be defined on {owner} itself"
        original = namespace[attribute]
        assert callable(original) and not isinstance(original, (classmethod, staticmethod))
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.returned: list[Any] = []
        self.raised: BaseException | None = None
        self.raised_frames: list[tuple[str, int | None, str]] = []
        spy = self

        @functools.wraps(original)
        def spying(*args: Any, **kwargs: Any) -> Any:
            spy.calls.append((args, kwargs))
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                spy.raised = exc
                spy.raised_frames = _frames(exc)
                raise
            spy.returned.append(result)
            return result

        monkeypatch.setattr(owner, attribute, spying)
        self.function = spying


def _frames(exc: BaseException) -> list[tuple[str, int | None, str]]:
    return [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]


@dataclass
class Contract:
    name: str
    scenario: Scenario

    def enable(self, *names: str, **options: Any) -> None:
        """Enable the integration under test (and ``names``); every other one off."""
        wanted = {self.name, *names}
        off = {other: False for other in _discovery.discover() if other not in wanted}
        enable_autolog(**off, **options)

    def entry(self) -> tuple[Any, str]:
        return resolve_entry(self.scenario.entry)

    def spy(self, monkeypatch: pytest.MonkeyPatch) -> Spy:
        return Spy(*self.entry(), monkeypatch)


#: Integrations whose framework needs PyTorch: the Python matrix runs them on 3.11 only.
NEEDS_TORCH = {"lightning"}


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.torch) if name in NEEDS_TORCH else name
                        for name in _loadable_integrations()])
def contract(request: pytest.FixtureRequest, fake_plugin: str) -> Iterator[Contract]:
    name = request.param
    factory = SCENARIOS.get(name)
    if factory is None:
        pytest.fail(f"integration {name!r} has no contract scenario: add one to "
                    "tests/contract/scenarios.py", pytrace=False)
    integration = _discovery.discover()[name].integration
    assert integration is not None
    if not integration.is_installed():
        pytest.skip(f"{name}: its framework is not installed")
    yield Contract(name, factory())


def _autologged(runs: dict[str, Any], name: str) -> list[Any]:
    return [run for run in runs.values() if run.tags.get("mlflow.autologging") == name]


# -- 1. exactly once, same arguments, same result, same exception ----------------------------
def test_original_called_once_with_the_same_arguments_and_result(
        contract: Contract, monkeypatch: pytest.MonkeyPatch, recorded_runs: RunRecorder) -> None:
    spy = contract.spy(monkeypatch)
    contract.enable()
    call = contract.scenario.call()
    result = call()
    assert len(spy.calls) == 1
    args, kwargs = spy.calls[0]
    passed = args[len(args) - len(call.args):]
    assert len(passed) == len(call.args)
    assert all(a is b for a, b in zip(passed, call.args, strict=True))
    for key, value in call.kwargs.items():
        if key not in contract.scenario.injected_kwargs:
            assert kwargs[key] is value, key
    assert set(kwargs) - set(call.kwargs) <= contract.scenario.injected_kwargs
    assert spy.returned == [result] and spy.returned[0] is result


def test_the_users_exception_propagates_unchanged(
        contract: Contract, monkeypatch: pytest.MonkeyPatch, recorded_runs: RunRecorder) -> None:
    spy = contract.spy(monkeypatch)
    contract.enable()
    call = contract.scenario.failing_call()
    with pytest.raises(BaseException) as caught:
        call()
    assert len(spy.calls) == 1
    assert caught.value is spy.raised
    frames = _frames(caught.value)
    assert frames[-len(spy.raised_frames):] == spy.raised_frames  # same traceback below
    runs = _autologged(recorded_runs.runs(), contract.name)
    assert runs and all(run.status == "FAILED" for run in runs if run.parent_id is None)


# -- 2. autolog's own failures ----------------------------------------------------------------
class InjectedFailure(Exception):
    pass


def test_an_autolog_failure_warns_once_and_training_is_identical(
        contract: Contract, monkeypatch: pytest.MonkeyPatch, recorded_runs: RunRecorder,
        autolog_errors: Any) -> None:
    contract.enable()
    fingerprint = contract.scenario.fingerprint
    expected = fingerprint(contract.scenario.call()())

    def failing(self: Run, *args: Any, **kwargs: Any) -> None:
        raise InjectedFailure("injected")

    monkeypatch.setattr(Run, "log_params", failing)
    monkeypatch.setattr(Run, "log_metrics", failing)
    recorded_runs.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [fingerprint(contract.scenario.call()()) for _ in range(2)]
    assert results == [expected, expected]
    messages = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
    assert messages and len(messages) == len(set(messages)), messages
    assert all("InjectedFailure" in message for message in messages)
    assert any("InjectedFailure" in error for error in autolog_errors())
    runs = _autologged(recorded_runs.runs(), contract.name)
    assert runs and all(run.status == "FINISHED" for run in runs)
    assert any("InjectedFailure" in run.tags.get(ERROR_TAG, "") for run in runs)


# -- 3. nesting -------------------------------------------------------------------------------
def test_a_nested_call_opens_no_extra_run(contract: Contract,
                                          recorded_runs: RunRecorder) -> None:
    contract.enable(FAKE_NAME)
    fakeml = importlib.import_module(FAKE_MODULE)
    outcome = fakeml.train(contract.scenario.call())
    assert outcome["ran_inner"]  # the inner training ran (its own result may be None)
    runs = recorded_runs.runs()
    assert [run.name for run in runs.values()] == ["train"], list(runs.values())


# -- 4. disable restores, enabling twice patches once --------------------------------------
def test_disable_restores_the_identical_original(contract: Contract) -> None:
    owner, attribute = contract.entry()
    original = vars(owner)[attribute]
    contract.enable()
    assert is_patched(owner, attribute) and vars(owner)[attribute] is not original
    enable_autolog(disable=True)
    assert vars(owner).get(attribute) is original and not is_patched(owner, attribute)


def test_enabling_twice_patches_once(contract: Contract, monkeypatch: pytest.MonkeyPatch,
                                     recorded_runs: RunRecorder) -> None:
    spy = contract.spy(monkeypatch)
    owner, attribute = contract.entry()
    contract.enable()
    contract.enable()
    assert vars(owner)[attribute].__wrapped__ is spy.function
    contract.scenario.call()()
    assert len(spy.calls) == 1
    assert len(_autologged(recorded_runs.runs(), contract.name)) == (
        contract.scenario.runs_per_call)


# -- 5. before and after the framework import ----------------------------------------------
ORDER_SCRIPT = """
import importlib, json, sys
from tests.fake_framework import plugin
plugin.install()
from autolog import _discovery, _patching
from autolog._autolog import autolog
from tests.contract.scenarios import SCENARIOS, resolve_entry
from tests.fake_framework.recording import RunRecorder

name, order = sys.argv[1], sys.argv[2]
scenario = SCENARIOS[name]()
if order == "after":
    importlib.import_module(scenario.module)
autolog(**{other: False for other in _discovery.discover() if other != name})
imported_by_autolog = order == "before" and scenario.module in sys.modules
owner, attribute = resolve_entry(scenario.entry)
with RunRecorder() as recorder:
    scenario.call()()
runs = [r for r in recorder.runs().values() if r.tags.get("mlflow.autologging") == name]
print(json.dumps({"imported_by_autolog": imported_by_autolog,
                  "patched": _patching.is_patched(owner, attribute),
                  "runs": len(runs), "statuses": sorted({r.status for r in runs})}))
"""


@pytest.mark.parametrize("order", ["before", "after"])
def test_enabling_before_or_after_the_framework_import(
        contract: Contract, order: str, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), AUTOLOG_DIR=str(tmp_path), AUTOLOG_TESTING="1")
    done = subprocess.run([sys.executable, "-c", ORDER_SCRIPT, contract.name, order],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"imported_by_autolog": False, "patched": True,
                      "runs": contract.scenario.runs_per_call, "statuses": ["FINISHED"]}


# -- 6. runs autolog opens, and the user's -------------------------------------------------
def test_a_top_level_call_opens_and_closes_its_runs(
        contract: Contract, recorded_runs: RunRecorder) -> None:
    contract.enable()
    contract.scenario.call()()
    runs = _autologged(recorded_runs.runs(), contract.name)
    assert len(runs) == contract.scenario.runs_per_call
    assert all(run.status == "FINISHED" for run in runs)
    assert sum(run.parent_id is None for run in runs) == 1
    assert autolog.active_run() is None


def test_the_users_run_is_never_closed(contract: Contract, recorded_runs: RunRecorder) -> None:
    contract.enable()
    with autolog.start_run("mine") as mine:
        contract.scenario.call()()
        assert mine.status == "RUNNING" and autolog.active_run() is mine
        failing = contract.scenario.failing_call()
        try:
            failing()
        except BaseException:  # whatever the framework raises
            pass
        else:
            pytest.fail("the scenario's failing call did not fail")
        assert mine.status == "RUNNING" and autolog.active_run() is mine
    runs = recorded_runs.runs()
    assert runs[mine.run_id].status == "FINISHED"
    assert all(run.status != "RUNNING" for run in runs.values())
