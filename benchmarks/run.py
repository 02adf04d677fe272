"""The benchmark from a checkout: the same as ``python -m autolog bench`` (``autolog/_bench``).

    python benchmarks/run.py [--quick | --tiny] [--tools autolog,mlflow,wandb,...]
                             [--workloads headline,peers,detail] [--servers 4,1]
                             [--json out.json] [--markdown out.md] [--plot out.png]

See the README's Performance section for what it measures and how.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autolog._bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
