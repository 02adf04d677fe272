"""The load benchmark (``autolog/_bench/_load.py``) at a tiny size, so it keeps working: its
numbers are not checked here (they live in the README), its proof is."""

from __future__ import annotations

import pytest

from autolog._bench._load import LoadConfig, read_back, run_load


@pytest.mark.parametrize("client", ["autolog", "mlflow"])
def test_every_point_of_every_process_is_read_back(mlflow_server, client):
    config = LoadConfig("sqlite-1", client, processes=2, runs=3, metrics=4, timeout=120)
    result = run_load(config, server=mlflow_server)
    assert result["nothing_lost_or_duplicated"], result
    assert (result["runs_total"], result["points_total"]) == (6, 24)
    assert result["requests"] >= 6 * 3 and result["points_per_s"] > 0

    # The proof sees what is missing: read back as if each process had logged one run more.
    claimed = LoadConfig("sqlite-1", client, processes=2, runs=4, metrics=4)
    gaps = read_back(mlflow_server.backend_store_uri, result["experiment"], claimed)
    assert (gaps["runs_missing"], gaps["points_missing"], gaps["params_missing"]) == (2, 8, 6)
    assert gaps["points_duplicated"] == gaps["points_wrong"] == 0


def test_bad_configurations_are_refused_by_name():
    with pytest.raises(ValueError, match="server must be one of"):
        run_load(LoadConfig(server="mysql-2"))
    with pytest.raises(ValueError, match="processes must be at least 1"):
        run_load(LoadConfig(processes=0))
