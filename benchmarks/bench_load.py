"""Many writers at once: 8 processes x 200 runs x 50 metrics into MLflow servers of three
shapes (SQLite with 1 and 4 workers, PostgreSQL with 4), autolog against MLflow's own client,
every point read back from the server's database. The code is ``autolog/_bench/_load.py``.

    python benchmarks/bench_load.py [--servers sqlite-1,sqlite-4,postgres-4]
                                    [--clients autolog,mlflow] [--processes 8] [--runs 200]
                                    [--metrics 50] [--json out.json]

Needs mlflow (the servers, and the comparison) and, for ``postgres-4``, PostgreSQL's server
binaries (Debian: ``apt-get install postgresql``) and psycopg2. Takes several minutes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autolog._bench._load import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
