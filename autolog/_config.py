"""Where runs go: tracking URI, experiment and store directory, resolved in one place.

Precedence (documented in the README): explicit argument > ``AUTOLOG_*`` > ``MLFLOW_*`` >
default. Bad environment values warn once and fall back; bad arguments raise ``ValueError``.
"""

from __future__ import annotations

import os
from pathlib import Path

from autolog._warnings import warn_once

DEFAULT_EXPERIMENT = "Default"


def tracking_uri(explicit: str | None = None) -> str | None:
    """The remote tracking URI, or None for the embedded local store."""
    for value in (explicit, os.environ.get("AUTOLOG_TRACKING_URI"),
                  os.environ.get("MLFLOW_TRACKING_URI")):
        if value:
            return value.strip()
    return None


def experiment_name(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("AUTOLOG_EXPERIMENT_NAME")
            or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT)


def store_dir() -> Path:
    """The embedded store (and delivery spool): ``AUTOLOG_DIR`` or ``./autolog-runs``."""
    return Path(os.environ.get("AUTOLOG_DIR") or Path.cwd() / "autolog-runs").absolute()


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
        if value < minimum:
            raise ValueError
        return value
    except ValueError:
        warn_once(f"env:{name}", f"autolog: ignoring {name}={raw!r} (expected a number >= "
                  f"{minimum}); using {default}")
        return default


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    return int(env_float(name, default, minimum=minimum))


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
