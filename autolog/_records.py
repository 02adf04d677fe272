"""The record format: what logging hands the pipeline and the local store writes.

A record is a plain tuple, its kind first (tuples keep the logging hot path to one allocation).
Every writer (runs, models, the store as a delivery target) and every reader (the store, the
store writer, the pipeline) names kinds through these constants; the layouts are:

==========  =====================================================================
kind        fields after the kind
==========  =====================================================================
RUN         run_id, experiment, name, parent_id, start_time (ms), seq
END         run_id, status, end_time (ms)
PARAM       run_id, key, value (text)
METRIC      run_id, key, value (float), timestamp (ms), step
TAG         run_id, key, value (text)
ARTIFACT    run_id, path inside the run's artifacts, payload (bytes, or a file's path)
MODEL       run_id, artifact_path, spec (JSON owned by ``autolog.models``)
DEFERRED    build (``() -> list of records``, called on the writer thread), [what]
FLUSH       a flush request (the pipeline's own; never stored)
==========  =====================================================================
"""

from __future__ import annotations

RUN = "run"
END = "end"
PARAM = "param"
METRIC = "metric"
TAG = "tag"
ARTIFACT = "artifact"
MODEL = "model"
DEFERRED = "deferred"
FLUSH = "flush"

#: Kinds whose key (field 2) names what they hold: the store's rejection reports show it.
KEYED = frozenset({METRIC, PARAM, TAG, ARTIFACT, MODEL})
#: A run's start and end: kept when other records must be dropped (memory bound reached).
STRUCTURAL = frozenset({RUN, END})
