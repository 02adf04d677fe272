"""The options of ``autolog.autolog()``, validated once, before anything is patched.

Common options apply to every integration; an integration's entry-point name is an option
too: ``sklearn=False`` leaves it off, ``sklearn=True`` asks for it (an error if scikit-learn
is missing), ``sklearn={"max_tuning_runs": 10, "log_models": False}`` asks for it with its own
options and per-integration overrides of the common ones. A bad value raises ``ValueError``
naming the option; so does an unknown option.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from autolog._warnings import warn_once

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Options(NamedTuple):
    """What an integration is told to do. ``specific`` holds its own options (with defaults)."""

    #: Save fitted models as artifacts: True, False, or "all" (also every candidate's model).
    log_models: bool | str = True
    #: Record metrics every n-th epoch / boosting round (None: only first, last and best).
    log_every_n_epochs: int | None = 1
    #: Also record per-step metrics every n steps (None: not per step).
    log_every_n_steps: int | None = None
    #: Record nothing while the user has a run of their own open.
    exclusive: bool = False
    #: No AutologWarnings and no INFO logs from autolog during patched calls.
    silent: bool = False
    #: Added to every run autolog opens.
    extra_tags: Mapping[str, str] = _EMPTY
    #: Experiment for the runs autolog opens (default: AUTOLOG_/MLFLOW_EXPERIMENT_NAME).
    experiment: str | None = None
    #: Where runs go (default: AUTOLOG_/MLFLOW_TRACKING_URI, else the local store).
    tracking_uri: str | None = None
    #: Register every logged model as a new version of this registered model.
    registered_model_name: str | None = None
    #: Models bigger than this many MB are skipped with one warning.
    max_model_mb: float = 500.0
    #: Skip (rather than warn about) frameworks outside an integration's supported versions.
    disable_for_unsupported_versions: bool = False
    #: Plots as "svg" (written directly, well under a millisecond each) or "png" (matplotlib).
    plot_format: str = "svg"
    specific: Mapping[str, Any] = _EMPTY


COMMON_OPTIONS = frozenset(Options._fields) - {"specific"}


class _ValidatesOptions(Protocol):
    def validate_options(self, options: Mapping[str, Any]) -> dict[str, Any]: ...


class Choice(NamedTuple):
    """What ``autolog()`` was told about one integration."""

    requested: bool  # named explicitly (True or a dict): a missing framework is an error
    options: Options | None  # None: switched off (``name=False``)


def resolve(options: Mapping[str, Any],
            integrations: Mapping[str, _ValidatesOptions | None]) -> dict[str, Choice]:
    """Validate ``autolog(**options)`` into one :class:`Choice` per integration.

    ``integrations`` maps every registered name to its class, or None for a plugin that could
    not be loaded (naming it is then only allowed as ``name=False``).
    """
    common: dict[str, Any] = {}
    named: dict[str, Any] = {}
    for key, value in options.items():
        if key in COMMON_OPTIONS:
            common[key] = validate_common(key, value)
        elif key in integrations:
            named[key] = value
        else:
            raise ValueError(
                f"autolog(): unknown option {key!r}; the options are "
                f"{', '.join(sorted(COMMON_OPTIONS))}, and the integrations "
                f"{', '.join(sorted(integrations)) or '(none installed)'}")
    base = Options(**common)
    choices: dict[str, Choice] = {}
    for name, cls in integrations.items():
        value = named.get(name)
        if value is False:
            choices[name] = Choice(True, None)
            continue
        if value is not None and value is not True and not isinstance(value, Mapping):
            raise ValueError(f"autolog(): option {name!r} must be True, False or a dict of "
                             f"options, not {value!r}")
        if cls is None:
            if value is not None:
                raise ValueError(f"autolog(): integration {name!r} was asked for but its plugin "
                                 "could not be loaded (see the earlier AutologWarning)")
            continue
        overrides: dict[str, Any] = {}
        specific: dict[str, Any] = {}
        for key, item in (value.items() if isinstance(value, Mapping) else ()):
            if not isinstance(key, str):
                raise ValueError(f"autolog(): option {name}[{key!r}]: keys must be strings")
            if key in COMMON_OPTIONS:
                overrides[key] = validate_common(key, item, label=f"{name}[{key!r}]")
            else:
                specific[key] = item
        merged = cls.validate_options(specific)
        choices[name] = Choice(value is not None,
                               base._replace(**overrides, specific=MappingProxyType(merged)))
    return choices


def validate_common(key: str, value: Any, *, label: str | None = None) -> Any:
    """One common option's value, normalized; ``ValueError`` naming it when it is bad."""
    label = label or key
    if key in ("exclusive", "silent", "disable_for_unsupported_versions"):
        if not isinstance(value, bool):
            raise ValueError(f"autolog(): option {label} must be True or False, not {value!r}")
        return value
    if key == "log_models":
        if not isinstance(value, bool) and value != "all":
            raise ValueError(f"autolog(): option {label} must be True, False or 'all', "
                             f"not {value!r}")
        return value
    if key in ("log_every_n_epochs", "log_every_n_steps"):
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"autolog(): option {label} must be a positive int or None, "
                             f"not {value!r}")
        return value
    if key == "extra_tags":
        if not isinstance(value, Mapping):
            raise ValueError(f"autolog(): option {label} must be a dict of str to str, "
                             f"not {type(value).__name__}")
        for tag, text in value.items():
            if not isinstance(tag, str) or not tag or not isinstance(text, str):
                raise ValueError(f"autolog(): option {label}[{tag!r}] must map a non-empty str "
                                 f"to a str, not {text!r}")
        return MappingProxyType(dict(value))
    if key == "max_model_mb":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"autolog(): option {label} must be a positive number, not {value!r}")
        return float(value)
    if key == "plot_format":
        return _plot_format(value, label)
    if key in ("experiment", "tracking_uri", "registered_model_name"):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"autolog(): option {label} must be a non-empty str or None, "
                             f"not {value!r}")
        return value
    raise ValueError(f"autolog(): unknown option {label!r}")


PLOT_FORMATS = ("svg", "png")


def _plot_format(value: Any, label: str) -> str:
    if value not in PLOT_FORMATS:
        raise ValueError(f"autolog(): option {label} must be 'svg' or 'png', not {value!r}")
    if value == "png" and importlib.util.find_spec("matplotlib") is None:
        raise ValueError(f"autolog(): option {label}='png' draws with matplotlib, which is not "
                         "installed (pip install matplotlib), or use 'svg', which needs nothing")
    return value


def validate_specific(owner: str, defaults: Mapping[str, Any],
                      given: Mapping[str, Any]) -> dict[str, Any]:
    """An integration's own options: known keys only, each of its default's type."""
    merged = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            known = ", ".join(sorted(set(defaults) | COMMON_OPTIONS))
            raise ValueError(f"autolog(): unknown option {owner}[{key!r}]; known: {known}")
        default = defaults[key]
        if default is not None and not _same_kind(default, value):
            raise ValueError(f"autolog(): option {owner}[{key!r}] must be of type "
                             f"{type(default).__name__}, not {value!r}")
        merged[key] = value
    return merged


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def disabled_by_env(names: Mapping[str, Any] | set[str]) -> frozenset[str] | None:
    """``AUTOLOG_DISABLE``: None when unset or false, every name when true, else a comma list.

    Unknown names in the list warn once and are ignored (bad environment values never raise).
    """
    raw = os.environ.get("AUTOLOG_DISABLE", "").strip()
    lowered = raw.lower()
    if lowered in ("", "0", "false", "no", "off"):
        return None
    if lowered in ("1", "true", "yes", "on", "all"):
        return frozenset(names)
    listed = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(listed - set(names))
    if unknown:
        warn_once(f"env:AUTOLOG_DISABLE:{','.join(unknown)}",
                  f"autolog: AUTOLOG_DISABLE names unknown integrations {unknown}; known: "
                  f"{sorted(names)}")
    return frozenset(listed & set(names))
