"""Timing: warm-up, interleaved variants, repetitions, medians with min and max.

Every variant of a workload runs in this process. Each is switched on only around its own
call (``on`` / ``off``), so tools never record each other's calls. One warm-up call per
variant pays for imports, first connections and caches (only the smoke-test sizes skip it);
then every repetition runs each variant once, the order rotating, so drift on the machine
(other load, thermal, the store growing) spreads evenly instead of favouring whoever ran
first. A garbage collection before each timed call (then ``gc.freeze()``, so the next one
scans only what is new) keeps one variant's garbage from being collected on another's clock.

Two times per call, both with ``time.perf_counter``:

- ``call``: the call the user makes (``fit``, ``train``, ``optimize``), what they wait for;
- ``settle``: after it, untimed for ``call``, until everything the call logged is stored or
  delivered (``autolog.flush()``; nothing for MLflow's synchronous clients, which do that
  inside the call). ``call + settle`` is "until stored".

A variant may run fewer (or more) units than the workload's nominal size (MLflow's callback
at ~0.3 s a trial runs 20 of 200 trials); its times are scaled to the nominal size and the
output says so.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _nothing() -> None:
    return None


@dataclass
class Variant:
    """One way of running a workload: bare, autolog, or an MLflow client."""

    name: str
    #: What this variant records, in words (params, metrics, artifacts, models).
    logged: str
    on: Callable[[], None] = _nothing
    off: Callable[[], None] = _nothing
    settle: Callable[[], None] = _nothing
    #: Units per timed call; None: the workload's size.
    units: int | None = None
    #: Timed calls per repetition, back to back, each settled before the next; None: 1.
    samples: int | None = None
    #: What the warm-up call left in the destination: ``{"runs": n, "params": n, ...}``.
    census: Callable[[], dict[str, int]] | None = None
    #: Extra keyword arguments for the workload's ``run`` (callbacks, say).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workload:
    """A training call measured under several variants."""

    key: str  # "sklearn.fit"
    framework: str  # what --frameworks selects
    title: str  # what is trained, on what
    size: int  # the nominal number of units the reported times are for
    unit: str  # "fit", "training", "trial", "point"
    run: Callable[..., Any]  # run(units, variant) runs that many units under the variant
    variants: list[Variant]
    note: str = ""


def measure(workload: Workload, repeats: int, *, warm_up: bool = True,
            progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Time every variant of ``workload``; medians, min and max in ms at the nominal size.

    What each variant logged is counted after its first call (the warm-up, or without one
    the first repetition's).
    """
    variants = workload.variants
    calls: dict[str, list[float]] = {v.name: [] for v in variants}
    settles: dict[str, list[float]] = {v.name: [] for v in variants}
    census: dict[str, dict[str, int] | None] = {}

    def count(variant: Variant) -> None:
        census[variant.name] = variant.census() if variant.census else None

    if warm_up:
        for variant in variants:
            _block(workload, variant, 1)
            count(variant)
    for repetition in range(repeats):
        shift = repetition % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            for call, settle in _block(workload, variant, variant.samples or 1):
                calls[variant.name].append(call)
                settles[variant.name].append(settle)
            if variant.name not in census:
                count(variant)
        progress(f"{workload.key}: repetition {repetition + 1}/{repeats}")
    return summarize(workload, calls, settles, census)


def _block(workload: Workload, variant: Variant, samples: int) -> list[tuple[float, float]]:
    """``samples`` calls of the variant, each settled before the next: seconds in the call and
    in settling, scaled to the nominal size."""
    units = variant.units or workload.size
    scale = workload.size / units
    timings = []
    variant.on()
    try:
        for _ in range(samples):
            _collect()
            start = time.perf_counter()
            workload.run(units, variant)
            called = time.perf_counter()
            variant.settle()
            settled = time.perf_counter()
            timings.append(((called - start) * scale, (settled - called) * scale))
    finally:
        variant.off()
    return timings


def _collect() -> None:
    """Leave no garbage for the timed call to collect, cheaply: with the frameworks and MLflow
    loaded a full collection scans ~500,000 objects (~300 ms here); frozen after the first,
    the survivors are not scanned again."""
    gc.collect()
    gc.freeze()


def summarize(workload: Workload, calls: dict[str, list[float]],
              settles: dict[str, list[float]],
              census: dict[str, dict[str, int] | None]) -> dict[str, Any]:
    bare = statistics.median(calls["bare"]) if "bare" in calls else None
    rows: dict[str, Any] = {}
    for variant in workload.variants:
        times = calls[variant.name]
        median = statistics.median(times)
        stored = statistics.median(c + s for c, s in zip(times, settles[variant.name],
                                                          strict=True))
        rows[variant.name] = {
            "logged": variant.logged,
            "units": variant.units or workload.size,
            "samples": len(times),
            "scaled": (variant.units or workload.size) != workload.size,
            "median_ms": median * 1e3,
            "min_ms": min(times) * 1e3,
            "max_ms": max(times) * 1e3,
            "until_stored_ms": stored * 1e3,
            "calls_ms": [round(t * 1e3, 3) for t in times],
            "ratio_to_bare": median / bare if bare else None,
            "overhead_pct": (median / bare - 1) * 100 if bare else None,
            "census": census.get(variant.name),
        }
    result: dict[str, Any] = {
        "key": workload.key, "framework": workload.framework, "title": workload.title,
        "size": workload.size, "unit": workload.unit, "note": workload.note,
        "variants": rows,
    }
    if "autolog" in rows and "mlflow" in rows:
        ours, theirs = rows["autolog"], rows["mlflow"]
        result["mlflow_over_autolog"] = {
            "call": theirs["median_ms"] / ours["median_ms"],
            "until_stored": theirs["until_stored_ms"] / ours["until_stored_ms"],
        }
    return result
