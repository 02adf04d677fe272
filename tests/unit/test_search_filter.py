"""The search filter: MLflow's syntax read into clauses, mistakes reported at their position.

(Its agreement with MLflow's own parser, and with a real server's answers, is tested in
``tests/integration/test_search.py``.)
"""

from __future__ import annotations

import pytest

import autolog
from autolog.search import FilterError
from autolog.search._filter import parse_filter, parse_order_by
from autolog.search._rest import render_filter, render_order_by


def _read(text):
    return [(c.kind, c.key, c.comparator, c.value) for c in parse_filter(text)]


def test_the_documented_examples_read_as_mlflow_reads_them():
    assert _read("metrics.value > 0.9 and params.model = 'random_forest'") == [
        ("metrics", "value", ">", 0.9), ("params", "model", "=", "random_forest")]
    assert _read('params.model = "LogisticRegression" and params.lambda = "0.001" '
                 "and metrics.error <= 0.05") == [
        ("params", "model", "=", "LogisticRegression"), ("params", "lambda", "=", "0.001"),
        ("metrics", "error", "<=", 0.05)]
    assert _read("attributes.status = 'FAILED'") == [("attributes", "status", "=", "FAILED")]
    assert _read("tags.s.release ILIKE '%rc%'") == [("tags", "s.release", "ILIKE", "%rc%")]


@pytest.mark.parametrize(("text", "expected"), [
    ("metrics.`valid-auc` > 0.5", ("metrics", "valid-auc", ">", 0.5)),
    ('params."my key" != \'x\'', ("params", "my key", "!=", "x")),
    ("tags.mlflow.runName like 'trial-%'", ("tags", "mlflow.runName", "LIKE", "trial-%")),
    ("metrics.valid-auc >= -1.5e-3", ("metrics", "valid-auc", ">=", -1.5e-3)),
    ("metrics.step/loss < .5", ("metrics", "step/loss", "<", 0.5)),
    ("metric.x = 3", ("metrics", "x", "=", 3.0)),
    ("param.C = '1'", ("params", "C", "=", "1")),
    ("status = 'FINISHED'", ("attributes", "status", "=", "FINISHED")),
    ("run.created > 1700000000000", ("attributes", "start_time", ">", 1700000000000)),
    ("attributes.`Run name` = 'a'", ("attributes", "run_name", "=", "a")),
    ("attributes.run_id IN ('a1', \"b2\")", ("attributes", "run_id", "IN", ("a1", "b2"))),
    ("run_id not   in ('a1')", ("attributes", "run_id", "NOT IN", ("a1",))),
    ("params.lr IS NULL", ("params", "lr", "IS NULL", None)),
    ("tags.team is not null", ("tags", "team", "IS NOT NULL", None)),
    ("params.note = 'it''s'", ("params", "note", "=", "it''s")),  # as MLflow: not unescaped
    ("datasets.name = 'train'", ("datasets", "name", "=", "train")),
])
def test_keys_values_and_comparators(text, expected):
    assert _read(text) == [expected]


def test_an_empty_filter_has_no_clauses():
    assert parse_filter(None) == parse_filter("") == parse_filter("   ") == ()


@pytest.mark.parametrize(("text", "position", "words"), [
    ("metrics.value > 0.9 or params.model = 'rf'", 20, "no OR"),
    ("metrics.value >", 15, "expected a value"),
    ("params.model = rf", 15, "text values go in quotes"),
    ("metricz.value > 1", 0, "unknown key type 'metricz'"),
    ("metrics.value > 'high'", 16, "compares with a number"),
    ("params.C > '1'", 9, "params.C takes =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL, not >"),
    ("status IN ('FINISHED')", 7, "status takes =, !=, LIKE, ILIKE, not IN"),
    ("metrics.loss IS NULL", 13, "not IS NULL"),
    ("params.model = 'rf", 15, "never closed"),
    ("metrics.a > 1 and", 17, "must follow AND"),
    ("metrics.a == 1", 10, "use ="),
    ("metrics.a > 1 metrics.b > 2", 14, "expected AND"),
    ("colour = 'red'", 0, "unknown attribute 'colour'"),
    ("attributes.run_id IN ('a', 1)", 27, "quoted string in the list"),
    ("params.a NOT LIKE 'x'", 9, "NOT LIKE is not in MLflow's search syntax"),
    ("(metrics.a > 1)", 0, "expected a key"),
])
def test_a_filter_that_cannot_be_read_is_a_value_error_at_its_position(text, position, words):
    with pytest.raises(ValueError) as caught:
        parse_filter(text)
    error = caught.value
    assert isinstance(error, FilterError)
    assert error.position == position
    assert words in str(error)
    lines = str(error).splitlines()
    assert lines[1] == f"  {text}" and lines[2] == "  " + " " * position + "^"


def test_rendering_for_a_server_keeps_every_clause():
    text = ("metrics.valid-auc > -1 and params.\"my key\" = 'it''s' and status != 'RUNNING' and "
            "run_id in ('a', 'b') and tags.t IS NULL and created >= 5")
    clauses = parse_filter(text)
    rendered = render_filter(clauses)
    assert rendered == ("metrics.`valid-auc` > -1 AND params.`my key` = 'it''s' AND "
                        "attributes.status != 'RUNNING' AND attributes.run_id IN ('a', 'b') AND "
                        "tags.`t` IS NULL AND attributes.start_time >= 5")
    assert [(c.kind, c.key, c.comparator, c.value) for c in parse_filter(rendered)] == \
        [(c.kind, c.key, c.comparator, c.value) for c in clauses]


def test_sort_keys():
    keys = parse_order_by(["metrics.`valid-auc` DESC", "params.C", "created asc"])
    assert [(k.kind, k.key, k.ascending) for k in keys] == [
        ("metrics", "valid-auc", False), ("params", "C", True), ("attributes", "start_time", True)]
    assert render_order_by(keys) == ["metrics.`valid-auc` DESC", "params.`C` ASC",
                                     "attributes.start_time ASC"]
    assert parse_order_by("metrics.a") == parse_order_by(["metrics.a ASC"])
    for bad, words in [("metrics.a DESC ASC", "expected ASC, DESC"), ("", "empty sort key"),
                       ("colour", "unknown attribute")]:
        with pytest.raises(ValueError, match=words):
            parse_order_by([bad])
    with pytest.raises(ValueError, match="twice"):
        parse_order_by(["metrics.a", "metrics.a DESC"])


def test_search_runs_checks_its_arguments_before_reading_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "never-created"))
    with pytest.raises(ValueError, match="position 15"):
        autolog.search_runs(filter="metrics.value >> 1")
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="max_results"):
            autolog.search_runs(max_results=bad)
    with pytest.raises(ValueError, match="output_format"):
        autolog.search_runs(output_format="dataframe")
    with pytest.raises(ValueError, match="experiment"):
        autolog.search_runs(experiment=[])
    with pytest.raises(ValueError, match="tracking_uri"):
        autolog.search_runs(tracking_uri="memory://x")
    assert not (tmp_path / "never-created").exists()
