"""Secrets never reach the store: secret-looking param and tag names, secret-looking keys
inside dict and JSON values, passwords in URLs. Checked in what the store holds."""

from __future__ import annotations

import json
import stat

import pytest

import autolog
from autolog._redaction import looks_secret
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore

SECRET = "sk-live-51H8xyz"


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    monkeypatch.delenv("AUTOLOG_SECRET_PARAM_WORDS", raising=False)
    yield tmp_path
    shutdown(5)


def _everything_stored(directory) -> str:
    conn = LocalStore(directory).connect()
    rows = [conn.execute(f"SELECT * FROM {table}").fetchall()
            for table in ("runs", "params", "tags", "metrics", "rejected")]
    return repr(rows)


def test_the_reports_tag_param_and_dict_value_are_redacted(store_dir):
    with autolog.start_run() as run:
        run.set_tags({"api_token": SECRET, "team": "churn"})
        run.log_params({"auth_tkn": SECRET, "client": {"api_key": SECRET, "retries": 3},
                        "lr": 0.1})
    assert autolog.flush(10)
    data = LocalStore(store_dir).run_data(run.run_id)
    assert data["tags"]["api_token"] == "***" and data["tags"]["team"] == "churn"
    assert data["params"]["auth_tkn"] == "***"
    assert data["params"]["client"] == "{'api_key': '***', 'retries': 3}"
    assert data["params"]["lr"] == "0.1"
    assert set(data["tags"]["autolog.redacted_params"].split(",")) == {"auth_tkn", "client"}
    assert data["tags"]["autolog.redacted_tags"] == "api_token"
    assert SECRET not in _everything_stored(store_dir)


def test_secrets_inside_text_values_are_redacted(store_dir):
    with autolog.start_run(description=f"trained with --api-key={SECRET}") as run:
        run.log_params({
            "config_json": json.dumps({"model": "gbm", "auth": {"password": SECRET},
                                       "credentials": {"user": "me", "pw": SECRET}}),
            "config_repr": f"Config(lr=0.1, hf_token='{SECRET}', depth=3)",
            "database": f"postgresql://trainer:{SECRET}@db.internal:5432/features",
            "nested": [{"depth": 3}, {"secret": SECRET}],
            "plain": "tokens=512 max_tokens=1024",
        })
        run.set_tags({"yaml_like": f"token: {SECRET}", "flags": {"AWS_SECRET_ACCESS_KEY": SECRET}})
    assert autolog.flush(10)
    data = LocalStore(store_dir).run_data(run.run_id)
    params = data["params"]
    assert json.loads(params["config_json"]) == {
        "model": "gbm", "auth": {"password": "***"}, "credentials": "***"}
    assert params["config_repr"] == "Config(lr=0.1, hf_token='***', depth=3)"
    assert params["database"] == "postgresql://trainer:***@db.internal:5432/features"
    assert params["nested"] == "[{'depth': 3}, {'secret': '***'}]"
    assert params["plain"] == "tokens=512 max_tokens=1024"
    assert data["tags"]["yaml_like"] == "token: ***"
    assert data["tags"]["flags"] == "{'AWS_SECRET_ACCESS_KEY': '***'}"
    assert data["tags"]["mlflow.note.content"] == "trained with --api-key=***"
    assert SECRET not in _everything_stored(store_dir)


@pytest.mark.parametrize("name", [
    "api_token", "auth_tkn", "AUTH_TKN", "openaiApiKey", "OPENAI_API_KEY", "hf_token",
    "githubtoken", "db_password", "password2", "client_secret", "aws_secret_access_key",
    "credentials", "Authorization", "private_key_pem", "x-api-key",
])
def test_secret_looking_names(name):
    assert looks_secret(name)


@pytest.mark.parametrize("name", [
    "max_tokens", "num_tokens", "tokenizer", "tokenizer_name", "learning_rate", "keyword",
    "author", "passes", "n_estimators", "secretary_count",
])
def test_ordinary_ml_names_are_not_secret(name):
    assert not looks_secret(name)


def test_ordinary_values_are_stored_untouched(store_dir):
    values = {"estimator": "LogisticRegression(C=1.0, penalty='l2')", "url": "http://host:80/x",
              "ratio": "1:3", "json": json.dumps({"layers": [64, 32], "tokenizer": "bpe"})}
    with autolog.start_run() as run:
        run.log_params(values)
        run.set_tags({"mlflow.source.name": "/home/me/train.py"})
    assert autolog.flush(10)
    data = LocalStore(store_dir).run_data(run.run_id)
    assert data["params"] == values
    assert "autolog.redacted_params" not in data["tags"]


def test_artifact_folders_and_files_are_the_users_only(store_dir, tmp_path_factory):
    source = tmp_path_factory.mktemp("src") / "weights.bin"
    source.write_bytes(b"\x00" * 10)
    source.chmod(0o644)
    with autolog.start_run() as run:
        run.log_text("hello", "reports/deep/readme.txt")
        run.log_artifact(str(source), artifact_path="models/v1")
        run.log_bytes(b"x", "top.bin")
    assert autolog.flush(10)
    root = LocalStore(store_dir).artifact_root
    paths = [root, *root.rglob("*")]
    assert len(paths) >= 8
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"


def test_an_artifact_written_again_is_replaced_and_narrowed_to_the_user(store_dir):
    with autolog.start_run() as run:
        run.log_text("a first, longer text", "notes.txt")
        assert autolog.flush(10)
        stored = LocalStore(store_dir).artifact_root / run.run_id / "notes.txt"
        stored.chmod(0o644)
        run.log_text("second", "notes.txt")
    assert autolog.flush(10)
    assert stored.read_text() == "second"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
