"""The base class every integration subclasses, and the run rules integrations share.

An integration is data plus one method::

    class SklearnIntegration(Integration):
        name = "sklearn"                      # = its entry-point name = its option key
        modules = ("sklearn.base",)           # on_import(module) runs when each is imported
        distributions = ("scikit-learn",)     # where its version is read (package metadata)
        supported_versions = ">=1.2,<1.8"
        takes_over = ()                       # integrations it makes redundant (see below)
        default_options = {"max_tuning_runs": 5}

        def on_import(self, module):
            self.patch(module.BaseEstimator, "fit", self._patched_fit)   # see _patching

``enable(options)`` and ``disable()`` are idempotent. Enabling never imports the framework:
patching waits for its import (post-import hooks), and the version check reads package
metadata at that moment, so ``autolog.autolog()`` stays cheap. Outside ``supported_versions``
an integration warns once, or with ``disable_for_unsupported_versions=True`` stays out.

``takes_over`` names lower-level integrations whose work this one already does (Lightning over
plain torch): when both would be enabled by the default scan, only this one is, unless the
user names the other explicitly.

Runs, through :func:`open_run_for_fit` / ``call.open_run``: no active run →
a run of its own, closed by autolog with the training's status; a run the user opened that
holds no autologged model yet → that run (never closed by autolog); anything else → a child.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType, ModuleType
from typing import Any, ClassVar, NamedTuple

from autolog import _metadata
from autolog._guard import SilencingFilter, guarded, user_stacklevel
from autolog._import_hooks import when_imported
from autolog._nesting import current_call
from autolog._options import Options, validate_specific
from autolog._patching import Hook, Patch, PatchedCall, restore_all, safe_patch
from autolog._runs import Run, active_run, start_run, status_for
from autolog._warnings import warn_once

logger = logging.getLogger("autolog.patching")

#: ``Run.integration_state`` keys: which integration opened the run (absent: the user did),
#: and whether a user's run already holds an autologged model.
OPENED_BY = "autolog.opened_by"
HOLDS_MODEL = "autolog.holds_model"
ERROR_TAG = "autolog.error"


# -- versions -------------------------------------------------------------------------------
_CLAUSE = re.compile(r"(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?")
_RELEASE = re.compile(r"v?(\d+(?:\.\d+)*)(.*)")
_PRE = re.compile(r"[._-]?(a|b|c|rc|alpha|beta|pre|preview|dev)\d*", re.IGNORECASE)


class VersionSpec(NamedTuple):
    """A small ``">=1.2,<2"`` specifier: release numbers only, pre-releases sort first."""

    text: str
    clauses: tuple[tuple[str, tuple[int, ...], bool], ...]

    @classmethod
    def parse(cls, text: str) -> VersionSpec:
        clauses = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                if text.strip():
                    raise ValueError(f"empty clause in version spec {text!r}")
                continue
            match = _CLAUSE.fullmatch(part)
            if match is None:
                raise ValueError(f"bad clause {part!r} in version spec {text!r}")
            operator, release, wildcard = match.groups()
            if wildcard and operator not in ("==", "!="):
                raise ValueError(f"'.*' only goes with == or != (in version spec {text!r})")
            if operator == "~=" and release.count(".") == 0:
                raise ValueError(f"'~=' needs at least two numbers (in version spec {text!r})")
            clauses.append((operator, tuple(int(n) for n in release.split(".")), bool(wildcard)))
        return cls(text.strip(), tuple(clauses))

    def contains(self, version: str) -> bool:
        match = _RELEASE.match(version.strip())
        if match is None:
            return False
        release = tuple(int(n) for n in match.group(1).split("."))
        pre = bool(_PRE.match(match.group(2)))
        return all(_satisfies(release, pre, *clause) for clause in self.clauses)

    def __str__(self) -> str:
        return self.text or "any"


def _compare(release: tuple[int, ...], pre: bool, bound: tuple[int, ...]) -> int:
    width = max(len(release), len(bound))
    left = release + (0,) * (width - len(release))
    right = bound + (0,) * (width - len(bound))
    if left != right:
        return -1 if left < right else 1
    return -1 if pre else 0


def _satisfies(release: tuple[int, ...], pre: bool, operator: str, bound: tuple[int, ...],
               wildcard: bool) -> bool:
    if wildcard:
        prefix = release[: len(bound)] + (0,) * (len(bound) - len(release))
        return (prefix == bound) == (operator == "==")
    order = _compare(release, pre, bound)
    if operator == "~=":
        return order >= 0 and release[: len(bound) - 1] == bound[:-1]
    return {"==": order == 0, "!=": order != 0, "<": order < 0, "<=": order <= 0,
            ">": order > 0, ">=": order >= 0}[operator]


# -- the base class -------------------------------------------------------------------------
class Integration:
    """One framework integration. Subclasses set the class attributes and ``on_import``."""

    name: ClassVar[str] = ""
    modules: ClassVar[tuple[str, ...]] = ()
    distributions: ClassVar[tuple[str, ...]] = ()
    supported_versions: ClassVar[str] = ""
    takes_over: ClassVar[tuple[str, ...]] = ()
    default_options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(self) -> None:
        #: Read by every patched call first: False makes the wrappers call straight through.
        self.enabled = False
        self.options = Options(specific=MappingProxyType(dict(self.default_options)))
        self._unhooks: list[Callable[[], None]] = []
        self._version_ok: bool | None = None
        self._logger: logging.Logger | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} enabled={self.enabled}>"

    # -- facts, read without importing the framework ------------------------------------------
    @classmethod
    def version_spec(cls) -> VersionSpec:
        return VersionSpec.parse(cls.supported_versions)

    @classmethod
    def installed_distribution(cls) -> tuple[str, str] | None:
        """``(distribution, version)`` of the first of ``distributions`` that is installed."""
        for distribution in cls.distributions:
            version = _metadata.version(distribution)
            if version is not None:
                return distribution, version
        return None

    @classmethod
    def is_installed(cls) -> bool:
        """Whether the framework can be imported (looks for its top-level module only)."""
        for module_name in cls.modules:
            top = module_name.partition(".")[0]
            if top in sys.modules:
                return True
            try:
                if importlib.util.find_spec(top) is not None:
                    return True
            except (ImportError, ValueError):
                continue
        return False

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """This integration's own options merged over ``default_options``; ValueError if bad.

        Override to check values further (call ``super()`` first).
        """
        return validate_specific(cls.name, cls.default_options, options)

    # -- lifecycle --------------------------------------------------------------------------
    def enable(self, options: Options | None = None) -> None:
        """Patch now where the framework is imported, at its import otherwise. Idempotent."""
        if options is not None:
            rechecks_version = (options.disable_for_unsupported_versions
                                != self.options.disable_for_unsupported_versions)
            self.options = options
            if self.enabled and rechecks_version:
                self.disable()
        if self.enabled:
            return
        self.enabled = True
        self._version_ok = None
        for module_name in self.modules:
            self._unhooks.append(when_imported(module_name, self._module_imported))

    def disable(self) -> None:
        """Restore every original and drop the import hooks. Idempotent."""
        self.enabled = False
        while self._unhooks:
            self._unhooks.pop()()
        restore_all(self)

    def on_import(self, module: ModuleType) -> None:
        """Register patches on ``module`` with :meth:`patch`; called once per import."""
        raise NotImplementedError(f"integration {self.name!r} must define on_import(module)")

    def patch(self, owner: Any, name: str, hook: Hook) -> Patch | None:
        """Patch ``owner.name`` with ``hook`` under the safe-patch contract (see _patching)."""
        return safe_patch(self, owner, name, hook)

    def accepts(self, call: PatchedCall) -> bool:
        """Whether to record this call at all; the base class implements ``exclusive``."""
        if self.options.exclusive:
            run = active_run()
            if run is not None and OPENED_BY not in run.integration_state:
                return False
        return True

    @property
    def logger(self) -> logging.Logger:
        """``autolog.integrations.<name>``; quiet below WARNING in ``silent`` calls."""
        if self._logger is None:
            self._logger = logging.getLogger(f"autolog.integrations.{self.name}")
            self._logger.addFilter(SilencingFilter())
        return self._logger

    def _module_imported(self, module: ModuleType) -> None:
        if not self.enabled or not self._version_allowed():
            return
        with guarded(f"{self.name}: patching {module.__name__}", reraise=False):
            self.on_import(module)

    def _version_allowed(self) -> bool:
        if self._version_ok is None:
            self._version_ok = self._check_version()
        return self._version_ok

    def _check_version(self) -> bool:
        spec = self.version_spec()
        found = self.installed_distribution()
        if not spec.clauses or found is None:
            return True
        distribution, version = found
        if spec.contains(version):
            return True
        if self.options.disable_for_unsupported_versions:
            logger.info("autolog: %s stays off: %s %s is installed, it supports %s",
                        self.name, distribution, version, spec)
            return False
        warn_once(f"unsupported-version:{self.name}:{version}",
                  f"autolog: the {self.name} integration supports {distribution} {spec}, but "
                  f"{version} is installed; it is enabled anyway (pass "
                  "disable_for_unsupported_versions=True to skip it)", stacklevel=user_stacklevel())
        return True


# -- runs -----------------------------------------------------------------------------------
def open_run_for_fit(integration: Integration, name: str, *, tags: Mapping[str, str] | None = None,
                     parent: Run | None = None, call: PatchedCall | None = None) -> Run:
    """The run a fit records into, by the rules in this module's docstring.

    Inside a patched call (``call``, default: the current one) the runs opened here are
    closed after it with the training's status, and all runs used carry autolog's own errors
    as the ``autolog.error`` tag. Outside one, use :func:`run_scope`.
    """
    call = call if call is not None else current_call.get()
    run, owned = _open(integration, name, tags, parent)
    if call is not None:
        errors = call.errors
        call.on_finish(lambda outcome: _close(run, owned, outcome.status, errors))
    return run


@contextmanager
def run_scope(integration: Integration, name: str, *, tags: Mapping[str, str] | None = None,
              parent: Run | None = None) -> Iterator[Run]:
    """:func:`open_run_for_fit` for work outside a patched call (an Optuna trial on a worker
    thread): the run is closed with the block's status if autolog opened it."""
    run, owned = _open(integration, name, tags, parent)
    try:
        yield run
    except BaseException as exc:
        _close(run, owned, status_for(type(exc)), ())
        raise
    _close(run, owned, "FINISHED", ())


def _open(integration: Integration, name: str, tags: Mapping[str, str] | None,
          parent: Run | None) -> tuple[Run, bool]:
    host = parent if parent is not None else active_run()
    options = integration.options
    run_tags = {"mlflow.autologging": integration.name, **options.extra_tags, **(tags or {})}
    if host is not None:
        state = host.integration_state
        if OPENED_BY not in state and not state.get(HOLDS_MODEL):
            state[HOLDS_MODEL] = True
            host.set_tags(run_tags)
            return host, False
        run = start_run(name, parent=host, tags=run_tags)
    else:
        run = start_run(name, tags=run_tags, experiment=options.experiment,
                        tracking_uri=options.tracking_uri)
    run.integration_state[OPENED_BY] = integration.name
    return run, True


def _close(run: Run, owned: bool, status: str, errors: list[str] | tuple[str, ...]) -> None:
    if errors:
        run.set_tags({ERROR_TAG: "; ".join(errors)})
    if owned:
        run.end(status)
