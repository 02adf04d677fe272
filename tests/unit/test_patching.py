"""The patch registry, the safe-patch contract, nesting, and post-import hooks."""

from __future__ import annotations

import sys
import textwrap
import threading
import traceback
import uuid
import warnings
from types import ModuleType
from typing import Any

import pytest

import autolog
from autolog import _patching
from autolog._import_hooks import when_imported
from autolog._integration import ERROR_TAG, Integration
from autolog._nesting import child_scope, current_call
from autolog._options import Options
from autolog._patching import PatchedCall, is_patched, restore, safe_patch
from autolog._warnings import AutologWarning
from autolog.client._pipeline import shipper_context


class Base:
    def fit(self, x: Any, *, scale: int = 1) -> Any:
        return ("base", x, scale)

    @classmethod
    def make(cls, value: int) -> Any:
        return (cls.__name__, value)

    @staticmethod
    def helper(value: int) -> int:
        return value + 1


class Child(Base):
    pass


class Boom(Exception):
    pass


class Recorder(Integration):
    """An integration whose hook is configured per test."""

    name = "recorder"
    modules = ("recorder_never_imported",)

    def __init__(self, **behaviour: Any) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.seen: list[tuple[str, Any]] = []
        self.enabled = True

    def hook(self, call: PatchedCall):
        behaviour = self.behaviour
        self.seen.append(("before", call.args))
        if behaviour.get("decline"):
            return
        run = call.open_run("recorder-run") if behaviour.get("open_run", True) else None
        if "replace_args" in behaviour:
            call.args = behaviour["replace_args"]
        if behaviour.get("fail_before"):
            raise Boom("before")
        outcome = yield
        self.seen.append(("after", outcome))
        if run is not None:
            run.log_metrics({"m": 1.0})
        if behaviour.get("fail_after"):
            raise Boom("after")
        if behaviour.get("yield_twice"):
            yield


@pytest.fixture
def target() -> type:
    class Target:
        calls: list[tuple[Any, ...]] = []

        def fit(self, *args: Any, **kwargs: Any) -> Any:
            Target.calls.append((self, args, kwargs))
            if kwargs.get("explode"):
                raise Boom("user")
            return {"fitted": args}

    return Target


def _patch(target: type, **behaviour: Any) -> tuple[Recorder, Any]:
    integration = Recorder(**behaviour)
    original = vars(target)["fit"]
    safe_patch(integration, target, "fit", integration.hook)
    return integration, original


# -- registry -------------------------------------------------------------------------------
def test_patch_records_owner_original_and_restores_identity(target: type) -> None:
    integration, original = _patch(target)
    (patch,) = _patching.patches(integration)
    assert (patch.owner, patch.name, patch.original, patch.was_own_attribute) == (
        target, "fit", original, True)
    assert vars(target)["fit"] is not original and is_patched(target, "fit")
    assert restore(patch)
    assert vars(target).get("fit") is original and not is_patched(target, "fit")


def test_inherited_attribute_is_shadowed_then_deleted() -> None:
    class Sub(Base):
        pass

    integration = Recorder()
    patch = safe_patch(integration, Sub, "fit", integration.hook)
    assert patch is not None and not patch.was_own_attribute
    assert patch.original is vars(Base)["fit"]
    assert "fit" in vars(Sub) and "fit" in vars(Base) and not is_patched(Base, "fit")
    restore(patch)
    assert "fit" not in vars(Sub) and Sub.fit is Base.fit


@pytest.mark.parametrize("name", ["make", "helper"])
def test_classmethods_and_staticmethods_keep_working_and_restore(name: str) -> None:
    class Sub(Base):
        make = Base.__dict__["make"]
        helper = Base.__dict__["helper"]

    original = vars(Sub)[name]
    integration = Recorder(open_run=False)
    patch = safe_patch(integration, Sub, name, integration.hook)
    expected = ("Sub", 3) if name == "make" else 4
    assert getattr(Sub, name)(3) == expected and getattr(Sub(), name)(3) == expected
    restore(patch)
    assert vars(Sub)[name] is original


def test_module_function_is_patched_and_restored() -> None:
    module = ModuleType("fake_module_for_patch")
    module.train = lambda value: value * 2  # type: ignore[attr-defined]
    original = module.train  # type: ignore[attr-defined]
    integration = Recorder(open_run=False)
    patch = safe_patch(integration, module, "train", integration.hook)
    assert module.train(4) == 8 and integration.seen  # type: ignore[attr-defined]
    restore(patch)
    assert module.train is original  # type: ignore[attr-defined]


def test_patching_twice_patches_once(target: type) -> None:
    integration, original = _patch(target)
    first = vars(target)["fit"]
    assert safe_patch(integration, target, "fit", integration.hook) is not None
    assert vars(target)["fit"] is first and first.__wrapped__ is original
    target().fit(1)
    assert len(target.calls) == 1 and len(integration.seen) == 2


def test_subclass_of_a_patched_class_is_not_wrapped_again(target: type) -> None:
    integration, _ = _patch(target)
    sub = type("Sub", (target,), {})
    assert safe_patch(integration, sub, "fit", integration.hook) is None
    assert "fit" not in vars(sub) and is_patched(sub, "fit")


def test_a_wrapper_replaced_by_someone_else_is_left_alone(target: type) -> None:
    integration, _ = _patch(target)
    (patch,) = _patching.patches(integration)

    def theirs(self: Any, *args: Any) -> Any:
        return patch.wrapper(self, *args)

    target.fit = theirs
    assert restore(patch) is False
    assert vars(target)["fit"] is theirs
    integration.enabled = False
    assert theirs(target(), 1) == {"fitted": (1,)} and len(integration.seen) == 0


def test_hook_must_be_a_generator(target: type) -> None:
    integration = Recorder()
    with pytest.raises(TypeError, match="generator"):
        safe_patch(integration, target, "fit", lambda call: None)


# -- the contract ---------------------------------------------------------------------------
def test_original_called_once_with_same_arguments_and_result(target: type) -> None:
    integration, _ = _patch(target)
    instance, payload, flag = target(), object(), object()
    result = instance.fit(payload, flag=flag)
    ((called_self, args, kwargs),) = target.calls
    assert called_self is instance and args[0] is payload and kwargs["flag"] is flag
    assert result == {"fitted": (payload,)}
    after = integration.seen[1][1]
    assert after.ok and after.result is result and after.status == "FINISHED"


def test_user_exception_propagates_with_identity_and_traceback(
        target: type, recorded_runs: Any) -> None:
    integration, _ = _patch(target)
    with pytest.raises(Boom) as caught:
        target().fit(1, explode=True)
    outcome = integration.seen[1][1]
    assert caught.value is outcome.exception and outcome.status == "FAILED"
    innermost = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert innermost.name == "fit" and innermost.line == 'raise Boom("user")'
    assert len(target.calls) == 1
    (run,) = recorded_runs.runs().values()
    assert run.status == "FAILED"


def test_keyboard_interrupt_ends_the_run_killed(recorded_runs: Any) -> None:
    class Interrupted:
        def fit(self) -> None:
            raise KeyboardInterrupt

    integration = Recorder()
    safe_patch(integration, Interrupted, "fit", integration.hook)
    with pytest.raises(KeyboardInterrupt):
        Interrupted().fit()
    (run,) = recorded_runs.runs().values()
    assert run.status == "KILLED"


def test_failure_before_the_yield_warns_once_and_uses_the_users_arguments(
        target: type, autolog_errors: Any, recorded_runs: Any) -> None:
    integration, _ = _patch(target, fail_before=True, replace_args=("changed",))
    with pytest.warns(AutologWarning, match="recorder.Target.fit") as caught:
        first = target().fit("mine")
        second = target().fit("mine")
    (warning,) = [w for w in caught if issubclass(w.category, AutologWarning)]
    assert warning.filename == __file__  # points at the user's call, not at autolog
    assert first == second == {"fitted": ("mine",)}
    assert [args for _, args, _ in target.calls] == [("mine",), ("mine",)]
    assert len(autolog_errors()) == 2
    runs = list(recorded_runs.runs().values())
    assert [run.status for run in runs] == ["FINISHED", "FINISHED"]
    assert all("Boom: before" in run.tags[ERROR_TAG] for run in runs)


def test_failure_after_the_yield_keeps_the_result_and_the_status(
        target: type, autolog_errors: Any, recorded_runs: Any) -> None:
    _patch(target, fail_after=True)
    with pytest.warns(AutologWarning, match=r"\(after\)"):
        assert target().fit(1) == {"fitted": (1,)}
    with pytest.raises(Boom, match="user"):
        target().fit(2, explode=True)
    statuses = [run.status for run in recorded_runs.runs().values()]
    assert statuses == ["FINISHED", "FAILED"]
    assert all(ERROR_TAG in run.tags for run in recorded_runs.runs().values())


def test_under_autolog_testing_autologs_failures_raise(target: type) -> None:
    _patch(target, fail_after=True)
    with pytest.raises(Boom, match="after"):
        target().fit(1)
    assert len(target.calls) == 1


def test_a_hook_yielding_twice_is_an_autolog_error(target: type, autolog_errors: Any) -> None:
    _patch(target, yield_twice=True)
    with pytest.warns(AutologWarning, match="yielded more than once"):
        assert target().fit(1) == {"fitted": (1,)}


def test_a_hook_that_returns_without_yielding_declines(target: type, recorded_runs: Any) -> None:
    integration, _ = _patch(target, decline=True, replace_args=("changed",))
    assert target().fit(1) == {"fitted": (1,)}
    assert integration.seen == [("before", (1,))] and recorded_runs.runs() == {}


def test_disabled_integration_calls_straight_through(target: type) -> None:
    integration, _ = _patch(target)
    integration.enabled = False
    assert target().fit(1) == {"fitted": (1,)} and integration.seen == []


def test_shipper_threads_are_never_recorded(target: type) -> None:
    integration, _ = _patch(target)
    token = shipper_context.set(True)
    try:
        target().fit(1)
    finally:
        shipper_context.reset(token)
    assert integration.seen == []


def test_silent_suppresses_warnings(target: type, autolog_errors: Any) -> None:
    integration, _ = _patch(target, fail_before=True)
    integration.options = Options(silent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutologWarning)
        assert target().fit(1) == {"fitted": (1,)}
    assert len(autolog_errors()) == 1


# -- nesting --------------------------------------------------------------------------------
def test_a_nested_patched_call_does_no_work(recorded_runs: Any) -> None:
    class Outer:
        def fit(self) -> Any:
            return Inner().fit()

    class Inner:
        def fit(self) -> str:
            return "inner"

    integration = Recorder()
    safe_patch(integration, Outer, "fit", integration.hook)
    safe_patch(integration, Inner, "fit", integration.hook)
    assert Outer().fit() == "inner"
    assert len(integration.seen) == 2 and len(recorded_runs.runs()) == 1
    assert current_call.get() is None


def test_child_scope_lets_inner_calls_open_child_runs(recorded_runs: Any) -> None:
    class Outer:
        def fit(self) -> Any:
            with child_scope():
                return Inner().fit()

    class Inner:
        def fit(self) -> str:
            return "inner"

    integration = Recorder()
    safe_patch(integration, Outer, "fit", integration.hook)
    safe_patch(integration, Inner, "fit", integration.hook)
    Outer().fit()
    outer, inner = recorded_runs.runs().values()
    assert inner.parent_id == outer.run_id and outer.parent_id is None


def test_two_threads_never_see_each_others_nesting_guard(target: type) -> None:
    inside = threading.Event()
    release = threading.Event()

    class Slow:
        def fit(self) -> str:
            inside.set()
            assert release.wait(10)
            return "slow"

    integration = Recorder(open_run=False)
    safe_patch(integration, Slow, "fit", integration.hook)
    safe_patch(integration, target, "fit", integration.hook)
    worker = threading.Thread(target=Slow().fit)
    worker.start()
    try:
        assert inside.wait(10)
        target().fit(1)  # the worker is inside a patched call; this thread is not
    finally:
        release.set()
        worker.join(10)
    befores = [args for stage, args in integration.seen if stage == "before"]
    assert sorted(map(repr, befores)) == sorted(map(repr, [(), (1,)]))


# -- runs ---------------------------------------------------------------------------------
def test_fit_in_a_user_run_logs_into_it_then_opens_children(
        target: type, recorded_runs: Any) -> None:
    _patch(target)
    with autolog.start_run("mine") as mine:
        target().fit(1)
        target().fit(2)
        assert mine.status == "RUNNING"
    runs = list(recorded_runs.runs().values())
    assert [run.name for run in runs] == ["mine", "recorder-run"]
    assert runs[1].parent_id == mine.run_id and runs[1].status == "FINISHED"
    assert runs[0].tags["mlflow.autologging"] == "recorder"
    assert [m[0] for m in runs[0].metrics] == ["m"]


def test_own_run_gets_autologging_tag_extra_tags_and_experiment(
        target: type, recorded_runs: Any) -> None:
    integration, _ = _patch(target)
    integration.options = Options(extra_tags={"team": "churn"}, experiment="weekly")
    target().fit(1)
    (run,) = recorded_runs.runs().values()
    assert run.tags["mlflow.autologging"] == "recorder" and run.tags["team"] == "churn"
    assert any(r[0] == "run" and r[2] == "weekly" for r in recorded_runs.records)


def test_exclusive_skips_while_the_user_has_a_run(target: type, recorded_runs: Any) -> None:
    integration, _ = _patch(target)
    integration.options = Options(exclusive=True)
    with autolog.start_run("mine"):
        target().fit(1)
    assert integration.seen == [] and len(target.calls) == 1
    target().fit(2)
    assert len(integration.seen) == 2


# -- post-import hooks ----------------------------------------------------------------------
@pytest.fixture
def fresh_module(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a module that exists on disk and has never been imported."""
    name = f"fresh_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        class Model:
            def fit(self, x):
                return x * 2
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_hook_runs_at_import_and_module_keeps_its_real_loader(fresh_module: str) -> None:
    seen: list[ModuleType] = []
    undo = when_imported(fresh_module, seen.append)
    try:
        assert seen == []
        module = __import__(fresh_module)
        assert seen == [module]
        assert type(module.__loader__).__name__ == "SourceFileLoader"
        assert module.__spec__.loader is module.__loader__
    finally:
        undo()


def test_hook_runs_immediately_when_already_imported(fresh_module: str) -> None:
    module = __import__(fresh_module)
    seen: list[ModuleType] = []
    when_imported(fresh_module, seen.append)()
    assert seen == [module]


def test_a_raising_hook_never_breaks_the_import(fresh_module: str, autolog_errors: Any) -> None:
    def broken(module: ModuleType) -> None:
        raise Boom("hook")

    undo = when_imported(fresh_module, broken)
    try:
        with pytest.warns(AutologWarning, match="import hook"):
            module = __import__(fresh_module)
        assert module.Model().fit(2) == 4
        assert any("Boom: hook" in error for error in autolog_errors())
    finally:
        undo()


def test_a_removed_hook_does_not_run(fresh_module: str) -> None:
    seen: list[ModuleType] = []
    when_imported(fresh_module, seen.append)()
    __import__(fresh_module)
    assert seen == []


def test_a_module_imported_again_is_hooked_again(fresh_module: str) -> None:
    seen: list[ModuleType] = []
    undo = when_imported(fresh_module, seen.append)
    try:
        first = __import__(fresh_module)
        del sys.modules[fresh_module]
        second = __import__(fresh_module)
        assert seen == [first, second] and first is not second
    finally:
        undo()


class FreshIntegration(Integration):
    name = "fresh"
    modules: tuple[str, ...] = ()

    def on_import(self, module: ModuleType) -> None:
        self.patch(module.Model, "fit", self._patched_fit)

    def _patched_fit(self, call: PatchedCall):
        call.open_run("fresh")
        yield


@pytest.mark.parametrize("order", ["enable-then-import", "import-then-enable"])
def test_integration_patches_before_or_after_the_import(
        fresh_module: str, order: str, recorded_runs: Any) -> None:
    integration_cls = type("Fresh", (FreshIntegration,), {"modules": (fresh_module,)})
    integration = integration_cls()
    try:
        if order == "enable-then-import":
            integration.enable()
            module = __import__(fresh_module)
        else:
            module = __import__(fresh_module)
            integration.enable()
        assert is_patched(module.Model, "fit")
        assert module.Model().fit(3) == 6 and len(recorded_runs.runs()) == 1
        integration.enable()
        assert vars(module.Model)["fit"].__wrapped__ is module.Model.fit.__wrapped__
        original = vars(module.Model)["fit"].__wrapped__
        integration.disable()
        assert vars(module.Model).get("fit") is original
        integration.disable()
    finally:
        integration.disable()


def test_a_disabled_integration_does_not_patch_at_a_later_import(fresh_module: str) -> None:
    integration = type("Fresh", (FreshIntegration,), {"modules": (fresh_module,)})()
    integration.enable()
    integration.disable()
    module = __import__(fresh_module)
    assert not is_patched(module.Model, "fit")
