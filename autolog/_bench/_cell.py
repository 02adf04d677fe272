"""One measured process: a tool, one or more workloads, at one destination.

    python -m autolog._bench._cell SPEC.json

The parent (``_runner``) writes the spec, starts this in a private working folder with a
private ``HOME`` and one BLAS thread, and reads the results file the spec names. Per
workload, in the order a user's script runs:

1. ``setup``: the tool imported and switched on (``autolog.autolog()``), timed;
2. the workload's data, untimed;
3. ``call``: the workload itself, with the tool's hooks (``time.perf_counter``);
4. ``finish``: the tool's own flush or close; ``until_finished`` is call + finish;
5. what it recorded, counted untimed.

CPU is read around 3-4 (``_probe``); the results carry ``time.monotonic()`` at the end so
the parent can tell how long the process then took to exit (exit handlers included).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from autolog._bench import _probe
from autolog._bench._sizes import Sizes
from autolog._bench.tools import Context, load


def run_job(tool: Any, job: dict[str, Any], sizes: Sizes, process_dir: Path,
            workdir: Path) -> dict[str, Any]:
    from autolog._bench.workloads import WORKLOADS

    workload = WORKLOADS[job["workload"]]
    workdir.mkdir(exist_ok=True)
    os.chdir(workdir)
    context = Context(workload=workload.key, frameworks=workload.frameworks,
                      models=workload.models, mode=job["mode"],
                      destination=job["destination"], uri=job.get("uri"),
                      server_root=job.get("server_root"), workdir=workdir,
                      process_dir=process_dir, experiment=job["experiment"])
    started = time.perf_counter()
    tool.setup(context)
    setup_s = time.perf_counter() - started
    cap = workload.tool_sizes.get(tool.name, {})
    if cap:
        sizes = replace(sizes, **{name: min(value, getattr(sizes, name))
                                  for name, value in cap.items()})
    call = workload.prepare(sizes)
    session = tool.start(context)
    gc.collect()
    before = _probe.CpuSnapshot.take()
    marks: dict[str, float] = {}
    start = time.perf_counter()
    extra = call(session.hooks) or {}
    called = time.perf_counter()
    session.finish(lambda name: marks.__setitem__(name, time.perf_counter() - start))
    finished = time.perf_counter()
    cpu = _probe.CpuSnapshot.take().since(before)
    return {
        "workload": workload.key, "tool": tool.name, "mode": job["mode"],
        "destination": job["destination"],
        "sizes": {name: getattr(sizes, name) for name in cap},
        "setup_s": setup_s, "call_s": called - start, "until_finished_s": finished - start,
        "marks_s": marks, "extra_s": extra, "cpu": cpu,
        "census": session.census() if workload.records else None,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    audit = _probe.NetworkAudit()
    audit.install()
    sizes = Sizes(**spec["sizes"])
    results: list[dict[str, Any]] = []
    failed = False
    tool = load(spec["tool"])
    process_dir = Path.cwd()
    for index, job in enumerate(spec["jobs"]):
        workdir = process_dir if len(spec["jobs"]) == 1 else process_dir / f"job-{index}"
        try:
            results.append(run_job(tool, job, sizes, process_dir, workdir))
        except BaseException as error:  # reported, and the next workload still runs
            failed = True
            results.append({"workload": job["workload"], "tool": spec["tool"],
                            "mode": job["mode"], "destination": job["destination"],
                            "error": f"{type(error).__name__}: {error}",
                            "traceback": traceback.format_exc()[-4000:]})
            if isinstance(error, KeyboardInterrupt):
                break
    Path(spec["results"]).write_text(json.dumps({
        "results": results, "network": audit.attempts, "peak_rss_mb": _probe.peak_rss_mb(),
        "finished_monotonic": time.monotonic(),
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
