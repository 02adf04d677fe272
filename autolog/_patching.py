"""The patch registry and the safe-patch contract every integration goes through.

An integration patches a training entry point with a *hook*: a generator function that
receives the :class:`PatchedCall`, does its preparation, yields exactly once (the original runs
there), and receives the :class:`Outcome`::

    def _patched_fit(self, call):
        run = call.open_run(type(call.instance).__name__)   # own run, user's run, or a child
        run.log_params(call.instance.get_params())
        outcome = yield                                    # the user's fit runs here
        if outcome.ok:
            run.log_metrics({"score": ...})

    self.patch(LogisticRegression, "fit", self._patched_fit)

The shape enforces the safe-patch contract instead of asking each integration to:

- the original is called by the wrapper, not by the hook: exactly once, outside any ``try``
  that could swallow its exception (it is re-raised with a bare ``raise``), and its return
  value is returned as is;
- the hook's code before and after the yield runs inside the guard: a failure there gives one
  ``AutologWarning`` and training goes on (with the user's own arguments if the failure came
  before the yield); the hook sees the user's exception only as ``outcome.exception`` and
  cannot swallow or replace it;
- runs opened through ``call.open_run`` are closed by the wrapper with the training's status
  (FINISHED, FAILED, KILLED), and carry autolog's own errors as the ``autolog.error`` tag;
- a hook that returns without yielding declines the call (the original runs plainly);
- before the yield a hook may replace ``call.args`` / ``call.kwargs`` (to add a framework
  callback, say); nothing else may change what the user passed.

When there is nothing to do (integration disabled, a call nested in another patched call, or
autolog's own shipper thread) the wrapper calls the original directly after two context-
variable reads and one attribute check.

The registry records ``(owner, name, original, was_own_attribute)`` per patch. ``restore``
puts back the identical original (``vars(Cls)["fit"] is original``), or deletes the attribute
when the patch shadowed an inherited one, and patching the same attribute twice patches once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from autolog._guard import guarded
from autolog._nesting import current_call, training
from autolog._runs import status_for
from autolog.client._threads import shipper_context

if TYPE_CHECKING:
    from autolog._integration import Integration
    from autolog._options import Options
    from autolog._runs import Run

logger = logging.getLogger("autolog.patching")

Hook = Callable[["PatchedCall"], Generator[None, "Outcome", None]]

_MISSING = object()


class Outcome:
    """What the original did: returned ``result`` or raised ``exception``."""

    __slots__ = ("result", "exception")

    def __init__(self, result: Any = None, exception: BaseException | None = None) -> None:
        self.result = result
        self.exception = exception

    @property
    def ok(self) -> bool:
        return self.exception is None

    @property
    def status(self) -> str:
        """The run status this outcome calls for: FINISHED, FAILED, or KILLED (Ctrl-C)."""
        return status_for(None if self.exception is None else type(self.exception))


class PatchedCall:
    """One call of a patched function, as its hook sees it."""

    __slots__ = ("patch", "integration", "options", "instance", "args", "kwargs", "original",
                 "errors", "_user_args", "_user_kwargs", "_finalizers")

    def __init__(self, patch: Patch, original: Callable[..., Any], instance: Any,
                 args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.patch = patch
        self.integration: Integration = patch.integration
        self.options: Options = patch.integration.options
        self.instance = instance
        self.args = self._user_args = args
        self.kwargs = self._user_kwargs = kwargs
        self.original = original  # for inspection only: the wrapper is the one that calls it
        #: autolog's own failures during this call ("kind: Type: message").
        self.errors: list[str] = []
        self._finalizers: list[Callable[[Outcome], None]] = []

    @property
    def kind(self) -> str:
        """Names this patched function in warnings: ``"sklearn.LogisticRegression.fit"``."""
        return self.patch.kind

    def arg(self, position: int, name: str, default: Any = None) -> Any:
        """The argument passed by keyword ``name`` or at ``position`` (not counting self)."""
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[position] if position < len(self.args) else default

    def open_run(self, name: str, *, tags: dict[str, str] | None = None,
                 parent: Run | None = None) -> Run:
        """The run this call records into (see autolog._integration); closed by autolog after the call."""
        from autolog._integration import open_run_for_fit

        return open_run_for_fit(self.integration, name, tags=tags, parent=parent, call=self)

    def on_finish(self, finalizer: Callable[[Outcome], None]) -> None:
        """Run ``finalizer(outcome)`` (guarded) after the hook, last registered first."""
        self._finalizers.append(finalizer)


class Patch:
    """One patched attribute, and everything needed to undo it exactly."""

    __slots__ = ("integration", "owner", "name", "original", "was_own_attribute", "hook", "kind",
                 "wrapper", "kind_before", "kind_after", "kind_closing", "__weakref__")

    def __init__(self, integration: Integration, owner: Any, name: str, original: Any,
                 was_own_attribute: bool, hook: Hook, kind: str, wrapper: Any = None) -> None:
        self.integration = integration
        self.owner = owner
        self.name = name
        self.original = original
        self.was_own_attribute = was_own_attribute
        self.hook = hook
        self.kind = kind
        self.wrapper = wrapper
        # The guard's failure kinds, built once rather than on every call.
        self.kind_before = f"{self.kind} (before)"
        self.kind_after = f"{self.kind} (after)"
        self.kind_closing = f"{self.kind} (closing)"


_lock = threading.RLock()
_patches: dict[tuple[int, str], Patch] = {}  # (id(owner), name); the Patch keeps owner alive
_wrappers: dict[int, Patch] = {}  # id(wrapper) → its patch
_function_wrapper: Any = None


def safe_patch(integration: Integration, owner: Any, name: str, hook: Hook) -> Patch | None:
    """Patch ``owner.name`` (a class or a module) with ``hook``; once, however often called.

    For a class the original is looked up along the MRO, so patching a subclass that inherits
    ``fit`` shadows it on the subclass and ``restore`` deletes it again. An attribute already
    covered by one of autolog's wrappers (inherited from a patched base class, or patched by
    another integration) is left alone and None is returned.
    """
    import inspect  # loaded by every framework anyway; not by ``import autolog``

    if not inspect.isgeneratorfunction(hook):
        raise TypeError(f"autolog integration {integration.name!r}: the hook for {name!r} must be "
                        "a generator function that yields once (the original runs there)")
    owner_name = getattr(owner, "__name__", "?")
    with _lock:
        key = (id(owner), name)
        existing = _patches.get(key)
        if existing is not None:
            if _own_value(owner, name) is existing.wrapper:
                if existing.integration is not integration:
                    logger.debug("%s.%s is patched by %s already", owner_name, name,
                                 existing.integration.name)
                    return None
                existing.hook = hook
                return existing
            _forget(existing)  # someone put another value there since; patch that one
        original, was_own = _resolve(owner, name)
        if id(original) in _wrappers:
            return None
        patch = Patch(integration, owner, name, original, was_own, hook,
                      f"{integration.name}.{owner_name}.{name}")
        patch.wrapper = _wrapper_type()(original, _make_wrapper(patch))
        setattr(owner, name, patch.wrapper)
        _patches[key] = patch
        _wrappers[id(patch.wrapper)] = patch
        return patch


def restore(patch: Patch) -> bool:
    """Undo one patch exactly. False when someone replaced the wrapper since (it stays, inert)."""
    with _lock:
        _forget(patch)
        if _own_value(patch.owner, patch.name) is not patch.wrapper:
            logger.debug("%s was replaced after autolog patched it; left as it is", patch.kind)
            return False
        if patch.was_own_attribute:
            setattr(patch.owner, patch.name, patch.original)
        else:
            delattr(patch.owner, patch.name)
        return True


def restore_all(integration: Integration | None = None) -> None:
    """Undo every patch (of one integration), newest first."""
    for patch in reversed(patches(integration)):
        restore(patch)


def patches(integration: Integration | None = None) -> list[Patch]:
    with _lock:
        return [p for p in _patches.values() if integration is None or p.integration is integration]


def is_patched(owner: Any, name: str) -> bool:
    """Whether ``owner.name`` is one of autolog's wrappers right now (own or inherited)."""
    if isinstance(owner, type):
        value, _ = _resolve(owner, name)
    else:
        value = getattr(owner, name, None)
    return id(value) in _wrappers


def _forget(patch: Patch) -> None:
    key = (id(patch.owner), patch.name)
    if _patches.get(key) is patch:
        del _patches[key]
    _wrappers.pop(id(patch.wrapper), None)


def _own_value(owner: Any, name: str) -> Any:
    namespace = getattr(owner, "__dict__", None)
    return namespace.get(name, _MISSING) if namespace is not None else _MISSING


def _resolve(owner: Any, name: str) -> tuple[Any, bool]:
    """The raw attribute (descriptors unbound) and whether ``owner`` itself defines it."""
    if isinstance(owner, type):
        for klass in owner.__mro__:
            namespace = vars(klass)
            if name in namespace:
                return namespace[name], klass is owner
        raise AttributeError(f"{owner.__qualname__} has no attribute {name!r}")
    value = _own_value(owner, name)
    if value is not _MISSING:
        return value, True
    return getattr(owner, name), False


def _wrapper_type() -> Any:
    # Imported on first patch, i.e. while a framework is being imported anyway: importing
    # wrapt costs tens of milliseconds, which autolog.autolog() itself must not pay.
    global _function_wrapper
    if _function_wrapper is None:
        from wrapt import FunctionWrapper

        _function_wrapper = FunctionWrapper
    return _function_wrapper


def _make_wrapper(patch: Patch) -> Callable[..., Any]:
    integration = patch.integration
    get_current_call = current_call.get
    in_shipper = shipper_context.get

    def _autolog_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if integration.enabled and get_current_call() is None and not in_shipper():
            return _call_patched(patch, wrapped, instance, args, kwargs)
        return wrapped(*args, **kwargs)

    return _autolog_wrapper


def _call_patched(patch: Patch, wrapped: Any, instance: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
    call = PatchedCall(patch, wrapped, instance, args, kwargs)
    token = current_call.set(call)
    training.started()
    try:
        steps = _start(call)
        if steps is None and not call._finalizers:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*call.args, **call.kwargs)
        except BaseException as exc:
            _finish(call, steps, Outcome(exception=exc))
            raise
        _finish(call, steps, Outcome(result))
        return result
    finally:
        training.ended()
        current_call.reset(token)


def _start(call: PatchedCall) -> Generator[None, Outcome, None] | None:
    """Run the hook up to its yield; None when it declined or failed."""
    steps = None
    with guarded(call.patch.kind_before):
        if call.integration.accepts(call):
            hook_steps = call.patch.hook(call)
            try:
                next(hook_steps)
            except StopIteration:
                hook_steps = None
            steps = hook_steps
    if steps is None:  # never call the original with half-changed arguments
        call.args, call.kwargs = call._user_args, call._user_kwargs
    return steps


def _finish(call: PatchedCall, steps: Generator[None, Outcome, None] | None,
            outcome: Outcome) -> None:
    try:
        if steps is not None:
            with guarded(call.patch.kind_after):
                try:
                    steps.send(outcome)
                except StopIteration:
                    pass
                else:
                    steps.close()
                    raise RuntimeError(f"the hook for {call.kind} yielded more than once")
    finally:
        for finalizer in reversed(call._finalizers):
            with guarded(call.patch.kind_closing):
                finalizer(outcome)
