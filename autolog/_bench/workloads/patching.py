"""What autolog costs when it has nothing to do, per patched call, in nanoseconds.

A patched method called with its integration disabled, from inside another patched call
(where nested fits open nothing), and with a hook that records nothing, against the same
method unpatched: the best of several timings of many calls each (the least disturbed).
autolog only. (The row's ``setup`` time is ``autolog.autolog()`` in a fresh process with every
framework installed and none imported yet.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Hooks, Workload


def _per_call(call: Callable[[], Any], loops: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(loops):
            call()
        best = min(best, (time.perf_counter_ns() - start) / loops)
    return best * 1e-9  # seconds per call, like every other extra timing


def _idle(sizes: Sizes) -> Callable[[Hooks], dict[str, float]]:
    from autolog._integration import Integration
    from autolog._patching import PatchedCall, safe_patch

    loops = max(1000, sizes.points * 2)

    class BenchIntegration(Integration):
        name = "bench"
        modules = ("bench",)

        def idle_hook(self, call: PatchedCall) -> Any:
            yield

    class Bare:
        def fit(self, x: int) -> int:
            return x

    class Patched(Bare):
        def fit(self, x: int) -> int:
            return x

    class Outer:
        def fit(self, body: Callable[[], float]) -> float:
            return body()

    integration = BenchIntegration()
    integration.enabled = True
    safe_patch(integration, Patched, "fit", integration.idle_hook)
    safe_patch(integration, Outer, "fit", integration.idle_hook)
    bare_fit, patched_fit = Bare().fit, Patched().fit

    def call(hooks: Hooks) -> dict[str, float]:
        integration.enabled = True
        found = {"bare_call": _per_call(lambda: bare_fit(1), loops, 5),
                 "idle_hook_call": _per_call(lambda: patched_fit(1), loops, 5),
                 "nested_call": Outer().fit(lambda: _per_call(lambda: patched_fit(1), loops, 5))}
        integration.enabled = False
        found["disabled_call"] = _per_call(lambda: patched_fit(1), loops, 5)
        return found

    return call


WORKLOADS = [
    Workload("patching.idle", ("detail",),
             lambda s: f"a patched method with nothing to do, best of 5 x "
                       f"{max(1000, s.points * 2):,} calls",
             (), _idle, ("patching",), tools=("autolog",), local_only=True, records=False),
]
