"""The overhead benchmark: the same code as ``python -m autolog bench`` (``autolog/_bench``).

    python benchmarks/run.py [--quick] [--frameworks sklearn,xgboost,lightning,optuna,throughput]
                             [--repeats N] [--tracking-uri URI | --start-mlflow-server]
                             [--json out.json] [--plot out.png] [--markdown out.md]

Bare, ``autolog.autolog()`` and MLflow's own autologging (when mlflow is installed), timed in
one process, interleaved, medians with min and max; see the README's Performance section.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autolog._bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
