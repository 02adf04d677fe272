"""How much logging a SIGKILL loses: the window between the last point on disk and the kill.

    python benchmarks/bench_durability.py [--trials 20] [--interval SECONDS] [--json out.json]

Each trial starts a real process that logs one metric point every millisecond (each point
carries the wall-clock time it was logged), kills it with SIGKILL at a random moment 0.3-1.0 s
in, then reads the embedded store: the window is the kill time minus the newest stored
point's time, i.e. how much logging time the kill cost (all of it, from the first point,
when nothing was on disk yet). ``--interval`` sets
AUTOLOG_FLUSH_INTERVAL for the child (the writer's cadence; default: autolog's own).
A second series logs in a tight loop (no sleep), the busiest a training thread gets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import sys, time
import autolog
run = autolog.start_run(run_name="killed")
pause = float(sys.argv[1])
step = 0
run.log_metric("t", 0.0, step=0)
print("ready", flush=True)
while True:
    step += 1
    run.log_metric("t", float(step), step=step)
    if pause:
        time.sleep(pause)
"""


def one_trial(pause: float, interval: str | None, rng: random.Random) -> float:
    from autolog.backends.local_store import LocalStore

    with tempfile.TemporaryDirectory(prefix="autolog-durability-") as directory:
        env = {**os.environ, "AUTOLOG_DIR": directory, "PYTHONPATH": str(ROOT),
               "OPENBLAS_NUM_THREADS": "1"}
        env.pop("AUTOLOG_TESTING", None)
        if interval is not None:
            env["AUTOLOG_FLUSH_INTERVAL"] = interval
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(pause)],
                                 env=env, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        ready_at = time.time() * 1000
        time.sleep(rng.uniform(0.3, 1.0))
        killed_at = time.time() * 1000
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        conn = LocalStore(directory).connect()
        (newest,) = conn.execute("SELECT MAX(timestamp) FROM metrics").fetchone()
        conn.close()
        return killed_at - (newest if newest is not None else ready_at)


def series(pause: float, trials: int, interval: str | None, seed: int) -> dict:
    rng = random.Random(seed)
    windows = sorted(one_trial(pause, interval, rng) for _ in range(trials))
    return {"median_ms": statistics.median(windows),
            "p90_ms": windows[int(0.9 * (len(windows) - 1))],
            "max_ms": windows[-1], "trials": trials}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--interval", help="AUTOLOG_FLUSH_INTERVAL for the child")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = {
        "one point per ms": series(0.001, args.trials, args.interval, args.seed),
        "tight loop": series(0.0, args.trials, args.interval, args.seed + 1),
    }
    cadence = args.interval or "default"
    print(f"logging lost to SIGKILL (writer interval: {cadence}), {args.trials} kills each")
    print(f"{'workload':<20}{'median ms':>12}{'p90 ms':>10}{'max ms':>10}")
    for name, row in results.items():
        print(f"{name:<20}{row['median_ms']:>12.0f}{row['p90_ms']:>10.0f}{row['max_ms']:>10.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"interval": cadence, **results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
