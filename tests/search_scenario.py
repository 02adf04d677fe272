"""Runs made to exercise search semantics, and the answers MLflow gives for them.

The same runs are recorded on the embedded store (unit tests) and on a real MLflow server
(integration tests); both must give exactly these answers, in this order where it matters.

    search            (parent of every trial; no value metric)
    trial-a  model=rf   C=0.1   value: step 0 0.5, step 2 0.95, step 1 0.6 -> latest 0.95
    trial-b  model=lr   C=1     value 0.8   loss NaN   team: x then vision (last wins)
    trial-c  model=RF   C=10    value 0.9   loss 0.1   FAILED
    trial-d  model=lr   C=0.01  value NaN   team Vision   KILLED
    trial-e  note=it's          (no value)
    trial-f                     (nothing)
"""

from __future__ import annotations

import math
import time

import autolog

NAMES = ["search", "trial-a", "trial-b", "trial-c", "trial-d", "trial-e", "trial-f"]
NEWEST_FIRST = NAMES[::-1]


def record_runs(experiment: str, tracking_uri: str | None = None) -> None:
    """Record the scenario's runs (started 3 ms apart, so start times never tie)."""
    def start(name, parent=None):
        time.sleep(0.003)
        return autolog.start_run(name, experiment=experiment, tracking_uri=tracking_uri,
                                 parent=parent, nested=False)

    parent = start("search")
    parent.log_params({"kind": "search"})
    a = start("trial-a", parent)
    a.log_params({"model": "rf", "C": "0.1"})
    a.log_metrics({"value": 0.5}, step=0)
    a.log_metrics({"value": 0.95}, step=2)
    a.log_metrics({"value": 0.6}, step=1)
    a.log_metrics({"loss": 0.3})
    a.end()
    b = start("trial-b", parent)
    b.log_params({"model": "lr", "C": "1"})
    b.log_metrics({"value": 0.8, "loss": math.nan})
    b.set_tags({"team": "x"})
    b.set_tags({"team": "vision"})
    b.end()
    c = start("trial-c", parent)
    c.log_params({"model": "RF", "C": "10"})
    c.log_metrics({"value": 0.9, "loss": 0.1})
    c.end("FAILED")
    d = start("trial-d", parent)
    d.log_params({"model": "lr", "C": "0.01"})
    d.log_metrics({"value": math.nan})
    d.set_tags({"team": "Vision"})
    d.end("KILLED")
    e = start("trial-e", parent)
    e.log_params({"note": "it's"})
    e.end()
    start("trial-f", parent).end()
    parent.end()


#: filter -> the names it finds, newest first (the default order). ``{parent}`` and ``{a}``,
#: ``{b}`` stand for those runs' ids on the backend searched.
FILTERS = {
    "metrics.value > 0.85": ["trial-c", "trial-a"],
    "metrics.value > 0.85 and params.model = 'rf'": ["trial-a"],
    "metrics.value = 0.95": ["trial-a"],
    "metrics.value != 0.8": ["trial-d", "trial-c", "trial-a"],
    "metrics.value > -1e9": ["trial-c", "trial-b", "trial-a"],
    "metrics.loss < 0.2 and metrics.value >= 0.9": ["trial-c"],
    "metrics.`loss` <= 0.3 AND metric.value < 1": ["trial-c", "trial-a"],
    "params.model LIKE 'r%'": ["trial-a"],
    "params.model ILIKE 'r%'": ["trial-c", "trial-a"],
    "params.model LIKE '_f'": ["trial-a"],
    "params.model != 'lr'": ["trial-c", "trial-a"],
    "params.C = '0.01'": ["trial-d"],
    "params.note = \"it's\"": ["trial-e"],
    "params.C IS NOT NULL": ["trial-d", "trial-c", "trial-b", "trial-a"],
    "params.model IS NULL and params.kind IS NULL": ["trial-f", "trial-e"],
    "tags.team = 'vision'": ["trial-b"],
    "tags.team ILIKE 'VISION'": ["trial-d", "trial-b"],
    "tags.team IS NULL and status = 'FINISHED'": ["trial-f", "trial-e", "trial-a", "search"],
    "attributes.status = 'FAILED'": ["trial-c"],
    "status != 'FINISHED'": ["trial-d", "trial-c"],
    "attributes.status IN ('FAILED')": None,  # not MLflow's syntax: a ValueError on both
    "attributes.run_name LIKE 'trial-%' and params.C > '1'": None,
    "run.`Run name` = 'trial-b'": ["trial-b"],
    "attributes.run_name != 'search' and params.model = 'lr'": ["trial-d", "trial-b"],
    "tags.`mlflow.runName` LIKE '%-e'": ["trial-e"],
    "tags.mlflow.parentRunId = '{parent}' and params.C = '1'": ["trial-b"],
    "attributes.run_id IN ('{a}', '{b}')": ["trial-b", "trial-a"],
    "attributes.run_id NOT IN ('{a}') and params.model = 'rf'": [],
    "attributes.end_time > 0 and created > 0": NEWEST_FIRST,
    "datasets.name = 'train'": [],
    "params.model = '; DROP TABLE runs; --'": [],
    "params.model = 'rf'' OR ''1''=''1'": [],
}

#: order_by -> the names in that order (keys lacking the value last, newest first among them).
ORDERS = {
    "metrics.value DESC": ["trial-a", "trial-c", "trial-b", "trial-d",
                           "trial-f", "trial-e", "search"],
    "metrics.value": ["trial-b", "trial-c", "trial-a", "trial-d",
                      "trial-f", "trial-e", "search"],
    "params.C ASC": ["trial-d", "trial-a", "trial-b", "trial-c", "trial-f", "trial-e", "search"],
    "params.model DESC": ["trial-a", "trial-d", "trial-b", "trial-c",
                          "trial-f", "trial-e", "search"],
    "attributes.run_name DESC": NEWEST_FIRST,
    "start_time": NAMES,
    "tags.team": ["trial-d", "trial-b", "trial-f", "trial-e", "trial-c", "trial-a", "search"],
}
