"""Lightning integration against a real MLflow server: what a user sees in the MLflow UI.

Tiny modules (``_lightning_models``), a few epochs of four batches each, CPU only. The two
multi-process tests run scripts in subprocesses: ``ddp`` (which re-launches the script) in an
environment where only ``pytorch_lightning`` can be imported, ``ddp_spawn`` (which pickles the
trainer into new processes) with ``lightning``. Both namespaces are also tested in-process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import requests
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

import autolog
from autolog import _discovery
from tests.integration import _lightning_models as models
from tests.mlflow_server import MlflowServer

ROOT = Path(__file__).resolve().parents[2]


# -- helpers ------------------------------------------------------------------------------------
@pytest.fixture
def track(mlflow_server: MlflowServer, experiment_name: str) -> Iterator[Any]:
    """``track(**lightning_options)`` enables autolog (Lightning only) towards the server."""

    def enable(**options: Any) -> None:
        others = {name: False for name in _discovery.discover() if name != "lightning"}
        autolog.autolog(tracking_uri=mlflow_server.uri, experiment=experiment_name,
                        **others, **options)

    yield enable
    autolog.autolog(disable=True)


def server_runs(server: MlflowServer, experiment: str) -> list[dict[str, Any]]:
    assert autolog.flush(timeout=60)
    found = server.reader.get_experiment_by_name(experiment)
    assert found is not None, f"experiment {experiment!r} was never created"
    return server.reader.search_runs([found["experiment_id"]])


def only_run(server: MlflowServer, experiment: str) -> dict[str, Any]:
    runs = server_runs(server, experiment)
    assert len(runs) == 1, [run["info"]["run_name"] for run in runs]
    return runs[0]


def history(server: MlflowServer, run: dict[str, Any], key: str) -> list[tuple[int, float]]:
    points = server.reader.metric_history(run["info"]["run_id"], key)
    return sorted((int(point["step"]), float(point["value"])) for point in points)


def metric_keys(run: dict[str, Any]) -> set[str]:
    return {metric["key"] for metric in run["data"].get("metrics", [])}


def params(run: dict[str, Any]) -> dict[str, str]:
    return {param["key"]: param["value"] for param in run["data"].get("params", [])}


def tags(run: dict[str, Any]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}


def artifacts(server: MlflowServer, run: dict[str, Any], path: str = "") -> list[str]:
    response = requests.get(f"{server.uri}/api/2.0/mlflow/artifacts/list",
                            params={"run_id": run["info"]["run_id"], "path": path}, timeout=30)
    response.raise_for_status()
    return sorted(item["path"] for item in response.json().get("files", []))


def logged_models(server: MlflowServer, experiment: str) -> list[dict[str, Any]]:
    """The experiment's MLflow 3 logged models (the UI's Models tab)."""
    found = server.reader.get_experiment_by_name(experiment)
    response = requests.post(f"{server.uri}/api/2.0/mlflow/logged-models/search",
                             json={"experiment_ids": [found["experiment_id"]]}, timeout=30)
    response.raise_for_status()
    return [model["info"] for model in response.json().get("models", [])]


def mlmodel(server: MlflowServer, run: dict[str, Any]) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(server.reader.runs_uri_file(run["info"]["run_id"], "model/MLmodel"))


def model_files(server: MlflowServer, run: dict[str, Any]) -> set[str]:
    """What ``runs:/<run>/model`` holds for MLflow's client (the run's logged model)."""
    return set(server.reader.runs_uri_listing(run["info"]["run_id"], "model"))


@pytest.fixture
def mlflow(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow's own loaders, in this process, pointed at the test server."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    return mlflow


def fit(model: Any, **trainer_options: Any) -> pl.Trainer:
    trainer = pl.Trainer(**models.trainer_kwargs(**trainer_options))
    train, val = models.loaders()
    trainer.fit(model, train, val)
    return trainer


# -- single process -----------------------------------------------------------------------------
@pytest.mark.server_shapes("mlflow2", "postgres")
def test_fit_records_params_epoch_metrics_summary_and_checkpoint(
        track: Any, mlflow_server: MlflowServer, experiment_name: str, tmp_path: Path) -> None:
    track()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss", mode="min")
    trainer = fit(models.LitMLP(hidden=8, lr=0.05, weight_decay=0.001), max_epochs=3,
                  enable_checkpointing=True, callbacks=[checkpoint])

    run = only_run(mlflow_server, experiment_name)
    assert run["info"]["status"] == "FINISHED"
    assert run["info"]["run_name"] == "LitMLP"
    logged = params(run)
    assert {key: logged[key] for key in ("hidden", "lr", "weight_decay")} == {
        "hidden": "8", "lr": "0.05", "weight_decay": "0.001"}
    assert logged["optimizer.name"] == "Adam"
    assert logged["optimizer.lr"] == "0.05"
    assert logged["optimizer.weight_decay"] == "0.001"
    assert logged["optimizer.betas"] == "(0.9, 0.999)"
    assert logged["trainer.max_epochs"] == "3"
    assert logged["trainer.precision"] == "32-true"
    assert logged["trainer.accumulate_grad_batches"] == "1"
    assert logged["trainer.devices"] == "1"
    assert logged["model.total_params"] == "51"  # 4*8+8 + 8+1 + 1+1 (frozen)
    assert logged["model.trainable_params"] == "49"
    assert logged["model_checkpoint.monitor"] == "val_loss"

    val_loss = history(mlflow_server, run, "val_loss")
    assert [step for step, _ in val_loss] == [0, 1, 2]
    assert [step for step, _ in history(mlflow_server, run, "train_loss")] == [0, 1, 2]
    assert not any(key.startswith("step/") or key.endswith(("_step", "_epoch"))
                   for key in metric_keys(run))

    run_tags = tags(run)
    assert run_tags["mlflow.autologging"] == "lightning"
    assert run_tags["checkpoint.best_model_path"] == checkpoint.best_model_path
    best_score = history(mlflow_server, run, "checkpoint.best_model_score")
    assert best_score[0][1] == pytest.approx(min(value for _, value in val_loss), rel=1e-6)
    assert run_tags["autolog.best_epoch"] == str(min(val_loss, key=lambda p: p[1])[0])

    # the model and its summary; no checkpoints by default
    # MLflow 3 keeps the model as the run's logged model; MLflow 2 among the run's artifacts
    kept = ["model", "model_summary.txt"] if mlflow_server.mlflow_major < 3 else [
        "model_summary.txt"]
    assert artifacts(mlflow_server, run) == kept
    assert "model/MLmodel" in model_files(mlflow_server, run)
    summary = mlflow_server.reader.download_artifact(run["info"]["run_id"], "model_summary.txt")
    assert b"Trainable params" in summary and b"body" in summary
    assert not any("Autolog" in type(callback).__name__ for callback in trainer.callbacks)


def test_two_optimizers_are_named_distinctly(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track()
    fit(models.TwoOptimizers(), max_epochs=2)

    run = only_run(mlflow_server, experiment_name)
    logged = params(run)
    assert logged["optimizer0.name"] == "SGD"
    assert logged["optimizer0.lr"] == "0.01" and logged["optimizer0.momentum"] == "0.9"
    assert logged["optimizer1.name"] == "RMSprop"
    assert logged["optimizer1.lr"] == "0.001" and logged["optimizer1.alpha"] == "0.95"
    assert "optimizer.name" not in logged
    assert [step for step, _ in history(mlflow_server, run, "a_loss")] == [0, 1]
    assert [step for step, _ in history(mlflow_server, run, "b_loss")] == [0, 1]


def test_scheduler_and_param_groups(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track()
    fit(models.LitMLP(lr=0.08, scheduler=True, two_groups=True), max_epochs=3)

    run = only_run(mlflow_server, experiment_name)
    logged = params(run)
    assert logged["lr_scheduler.name"] == "StepLR"
    assert logged["lr_scheduler.step_size"] == "1" and logged["lr_scheduler.gamma"] == "0.5"
    assert logged["lr_scheduler.interval"] == "epoch"
    # the configured learning rates, not the ones the scheduler has moved to since
    assert logged["optimizer.group0.lr"] == "0.08"
    assert logged["optimizer.group1.lr"] == "0.008"
    assert history(mlflow_server, run, "lr/optimizer.group0") == [
        (0, 0.08), (1, 0.04), (2, 0.02)]


def test_early_stopping_and_throttled_epochs_keep_first_best_and_last(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track(log_every_n_epochs=2)
    stopping = EarlyStopping(monitor="score", mode="min", patience=4)
    # scores per epoch 5, 1, 3, 4, 4.5, 5: best at epoch 1, stops after epoch 5
    fit(models.Scripted(), max_epochs=20, callbacks=[stopping])
    assert stopping.stopped_epoch == 5

    run = only_run(mlflow_server, experiment_name)
    logged = params(run)
    assert {key: logged[key] for key in logged if key.startswith("early_stopping.")} == {
        "early_stopping.monitor": "score", "early_stopping.mode": "min",
        "early_stopping.patience": "4", "early_stopping.min_delta": "0.0"}
    # every 2nd epoch (0, 2, 4), plus the best (1) and the last (5) that the throttle skipped
    assert history(mlflow_server, run, "score") == [
        (0, 5.0), (1, 1.0), (2, 3.0), (4, 4.5), (5, 5.0)]
    assert [step for step, _ in history(mlflow_server, run, "train_loss")] == [0, 1, 2, 4, 5]
    assert history(mlflow_server, run, "early_stopping.stopped_epoch") == [(5, 5.0)]
    assert history(mlflow_server, run, "early_stopping.best_score") == [(5, 1.0)]
    assert tags(run)["autolog.best_epoch"] == "1"


def test_log_every_n_steps_records_a_separate_step_series(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track(log_every_n_steps=2)
    fit(models.LitMLP(), max_epochs=2)  # 4 batches per epoch: global steps 1..8

    run = only_run(mlflow_server, experiment_name)
    assert [step for step, _ in history(mlflow_server, run, "step/train_loss")] == [2, 4, 6, 8]
    assert [step for step, _ in history(mlflow_server, run, "train_loss")] == [0, 1]
    assert metric_keys(run) == {"train_loss", "val_loss", "step/train_loss"}


def test_validate_and_test_after_fit_land_in_the_fit_run(
        track: Any, mlflow_server: MlflowServer, experiment_name: str, tmp_path: Path) -> None:
    track()
    model = models.LitMLP()
    logger = CSVLogger(tmp_path, name="csv")
    trainer = fit(model, max_epochs=2, logger=logger, enable_checkpointing=True)
    _, val = models.loaders()
    validated = trainer.validate(model, val)
    tested = trainer.test(dataloaders=val)  # no model: the trainer's best checkpoint

    run = only_run(mlflow_server, experiment_name)
    assert history(mlflow_server, run, "validate/val_loss") == [
        (1, pytest.approx(validated[0]["val_loss"]))]
    assert history(mlflow_server, run, "test_loss") == [(1, pytest.approx(tested[0]["test_loss"]))]
    assert [step for step, _ in history(mlflow_server, run, "val_loss")] == [0, 1]
    # the user's own logger still gets everything
    csv_text = (Path(logger.log_dir) / "metrics.csv").read_text()
    assert "train_loss_epoch" in csv_text and "val_loss" in csv_text and "test_loss" in csv_text


def test_fit_inside_the_users_run_records_there_and_leaves_it_open(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track()
    with autolog.start_run("my-experiment", experiment=experiment_name,
                           tracking_uri=mlflow_server.uri) as mine:
        fit(models.LitMLP(), max_epochs=1)
        assert mine.status == "RUNNING" and autolog.active_run() is mine
        mine.log_metrics({"after_fit": 1.0})

    run = only_run(mlflow_server, experiment_name)
    assert run["info"]["run_name"] == "my-experiment"
    assert {"train_loss", "val_loss", "after_fit"} <= metric_keys(run)
    assert params(run)["optimizer.name"] == "Adam"


def test_log_checkpoints_uploads_the_best_checkpoint(
        track: Any, mlflow_server: MlflowServer, experiment_name: str, tmp_path: Path) -> None:
    track(lightning={"log_checkpoints": True, "log_model_summary": False})
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss")
    fit(models.LitMLP(), max_epochs=2, enable_checkpointing=True, callbacks=[checkpoint])

    run = only_run(mlflow_server, experiment_name)
    name = Path(checkpoint.best_model_path).name
    assert artifacts(mlflow_server, run) == ["checkpoints"]  # the model: a logged model
    assert artifacts(mlflow_server, run, "checkpoints") == [f"checkpoints/{name}"]
    uploaded = mlflow_server.reader.download_artifact(run["info"]["run_id"], f"checkpoints/{name}")
    assert uploaded == Path(checkpoint.best_model_path).read_bytes()


# -- models -------------------------------------------------------------------------------------
def _outputs(module: Any, features: Any) -> Any:
    import torch

    module.eval()
    with torch.no_grad():
        return module(features).numpy()


def test_fit_logs_the_state_dict_for_the_users_class(
        track: Any, mlflow_server: MlflowServer, experiment_name: str, mlflow: Any) -> None:
    import torch

    track()
    trained = models.LitMLP(hidden=6)
    fit(trained, max_epochs=2)

    run = only_run(mlflow_server, experiment_name)
    flavors = mlmodel(mlflow_server, run)["flavors"]
    assert set(flavors) == {"pytorch_state_dict"}
    assert flavors["pytorch_state_dict"]["model_class"].endswith("LitMLP")
    state = mlflow.pytorch.load_state_dict(f"runs:/{run['info']['run_id']}/model")
    rebuilt = models.LitMLP(hidden=6)
    rebuilt.load_state_dict(state)
    features = torch.randn(10, models.FEATURES)
    assert (_outputs(rebuilt, features) == _outputs(trained, features)).all()
    # the signature comes from the first training batch's inputs and the module's outputs
    signature = mlmodel(mlflow_server, run)["signature"]
    assert json.loads(signature["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]
    assert json.loads(signature["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}]
    (logged,) = logged_models(mlflow_server, experiment_name)
    assert logged["status"] == "LOGGED_MODEL_READY"


def test_log_model_pickled_loads_with_mlflow_pytorch_and_pyfunc(
        track: Any, mlflow_server: MlflowServer, experiment_name: str, mlflow: Any) -> None:
    import torch

    track(lightning={"log_model_pickled": True})
    trained = models.LitMLP()
    fit(trained, max_epochs=2)

    run = only_run(mlflow_server, experiment_name)
    uri = f"runs:/{run['info']['run_id']}/model"
    features = torch.randn(10, models.FEATURES)
    expected = _outputs(trained, features)
    native = mlflow.pytorch.load_model(uri)
    assert type(native).__name__ == "LitMLP"
    assert (_outputs(native, features) == expected).all()
    predicted = mlflow.pyfunc.load_model(uri).predict(features.numpy())
    assert (predicted == expected).all()


def test_log_models_false_logs_no_model(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track(log_models=False)
    fit(models.LitMLP(), max_epochs=1)

    run = only_run(mlflow_server, experiment_name)
    assert artifacts(mlflow_server, run) == ["model_summary.txt"]
    assert logged_models(mlflow_server, experiment_name) == []


# -- failures -----------------------------------------------------------------------------------
def test_an_exception_in_training_step_fails_the_run_and_keeps_earlier_epochs(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track()
    with pytest.raises(RuntimeError, match="failed on purpose"):
        fit(models.LitMLP(fail_at_epoch=1), max_epochs=3)

    run = only_run(mlflow_server, experiment_name)
    assert run["info"]["status"] == "FAILED"
    assert [step for step, _ in history(mlflow_server, run, "train_loss")] == [0]
    assert [step for step, _ in history(mlflow_server, run, "val_loss")] == [0]
    # no model, and its logged model says so instead of staying PENDING
    assert artifacts(mlflow_server, run) == ["model_summary.txt"]
    (logged,) = logged_models(mlflow_server, experiment_name)
    assert logged["status"] == "LOGGED_MODEL_UPLOAD_FAILED"
    assert logged["source_run_id"] == run["info"]["run_id"]


def test_ctrl_c_kills_the_run_and_keeps_earlier_epochs(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    track()
    sigint = signal.getsignal(signal.SIGINT)
    try:
        # Lightning catches KeyboardInterrupt, runs on_exception, and exits with SystemExit(1)
        with pytest.raises((SystemExit, KeyboardInterrupt)):
            fit(models.LitMLP(interrupt_at_epoch=1), max_epochs=3)
    finally:
        signal.signal(signal.SIGINT, sigint)  # Lightning ignores SIGINT after a Ctrl-C

    run = only_run(mlflow_server, experiment_name)
    assert run["info"]["status"] == "KILLED"
    assert [step for step, _ in history(mlflow_server, run, "train_loss")] == [0]
    assert [model["status"] for model in logged_models(mlflow_server, experiment_name)] == [
        "LOGGED_MODEL_UPLOAD_FAILED"]


# -- namespaces ---------------------------------------------------------------------------------
def test_pytorch_lightning_namespace_uses_its_own_callback_class(
        track: Any, mlflow_server: MlflowServer, experiment_name: str) -> None:
    import pytorch_lightning

    track()
    seen: list[list[type]] = []

    class Probe(pytorch_lightning.Callback):
        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            seen.append([type(callback) for callback in trainer.callbacks])

    classic = models.define(pytorch_lightning, suffix="Classic")
    trainer = pytorch_lightning.Trainer(**models.trainer_kwargs(max_epochs=2, callbacks=[Probe()]))
    trainer.fit(classic.LitMLP(), *models.loaders())

    injected = [cls for cls in seen[0] if cls.__name__ == "AutologCallback"]
    assert len(injected) == 1
    assert issubclass(injected[0], pytorch_lightning.Callback)
    assert not issubclass(injected[0], pl.Callback)
    run = only_run(mlflow_server, experiment_name)
    assert run["info"]["run_name"] == "LitMLPClassic"
    assert [step for step, _ in history(mlflow_server, run, "val_loss")] == [0, 1]


def run_script(script: Path, *args: str, env: dict[str, str], timeout: float = 240) -> Any:
    done = subprocess.run([sys.executable, str(script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def script_env(server: MlflowServer, experiment: str, store: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), MLFLOW_TRACKING_URI=server.uri,
                MLFLOW_EXPERIMENT_NAME=experiment, AUTOLOG_DIR=str(store), AUTOLOG_TESTING="1")


# -- multi-process, and an environment with pytorch_lightning alone ---------------------------
DDP_SCRIPT = """
import importlib.abc, json, sys

strategy, namespace = sys.argv[1], sys.argv[2]


class NoLightning(importlib.abc.MetaPathFinder):
    # as where only the pytorch_lightning distribution is installed
    def find_spec(self, name, path=None, target=None):
        if name == "lightning" or name.startswith("lightning."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


if namespace == "pytorch_lightning":
    sys.meta_path.insert(0, NoLightning())

import autolog
from autolog import _discovery, _patching

autolog.autolog(**{name: False for name in _discovery.discover() if name != "lightning"})

from tests.integration import _lightning_models as models

if namespace == "pytorch_lightning":
    import pytorch_lightning as pl

    LitMLP = models.define(pl, suffix="Classic").LitMLP
else:
    import lightning.pytorch as pl

    LitMLP = models.LitMLP  # importable by name: ddp_spawn pickles the module

if __name__ == "__main__":  # ddp_spawn re-imports this file in the processes it starts
    trainer = pl.Trainer(**models.trainer_kwargs(strategy=strategy, devices=2, max_epochs=2))
    trainer.fit(LitMLP(), *models.loaders())
    print(json.dumps({"rank": trainer.global_rank, "delivered": autolog.flush(timeout=60),
                      "lightning_imported": "lightning" in sys.modules,
                      "patched": _patching.is_patched(pl.Trainer, "fit")}))
"""


@pytest.mark.parametrize(("strategy", "namespace"), [("ddp", "pytorch_lightning"),
                                                     ("ddp_spawn", "lightning.pytorch")])
def test_ddp_with_two_processes_writes_one_run_from_rank_zero(
        strategy: str, namespace: str, mlflow_server: MlflowServer, experiment_name: str,
        tmp_path: Path) -> None:
    """``ddp`` re-launches the script for rank 1 (here with ``lightning`` unimportable, as in an
    environment with only ``pytorch_lightning``); ``ddp_spawn`` pickles the trainer into two
    new processes while the calling one waits."""
    script = tmp_path / "train_ddp.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT))
    env = script_env(mlflow_server, experiment_name, tmp_path)
    report = run_script(script, strategy, namespace, env=env)
    assert report == {"rank": 0, "delivered": True, "patched": True,
                      "lightning_imported": namespace == "lightning.pytorch"}

    run = only_run(mlflow_server, experiment_name)
    assert run["info"]["status"] == "FINISHED"
    assert run["info"]["run_name"] == ("LitMLPClassic" if namespace == "pytorch_lightning"
                                       else "LitMLP")
    logged = params(run)
    assert logged["trainer.world_size"] == "2"
    assert logged["trainer.strategy"] == "DDPStrategy"
    assert logged["trainer.strategy.start_method"] == ("spawn" if strategy == "ddp_spawn"
                                                       else "popen")
    assert logged["optimizer.name"] == "Adam"
    assert [step for step, _ in history(mlflow_server, run, "train_loss")] == [0, 1]
    assert [step for step, _ in history(mlflow_server, run, "val_loss")] == [0, 1]
    # rank zero logs the trained weights once (ddp_spawn: gathered back into the caller)
    assert artifacts(mlflow_server, run) == ["model_summary.txt"]
    assert "model/state_dict.pth" in model_files(mlflow_server, run)


# -- building blocks (no server) ----------------------------------------------------------------
def test_epoch_and_step_series_pick_fresh_values_under_their_own_names() -> None:
    import torch

    from integrations.lightning import _metrics

    seen = _metrics.Freshness()
    val = torch.tensor(2.0)
    step_value = torch.tensor(1.5)
    epoch_value = torch.tensor(1.0)
    first = {"loss": epoch_value, "loss_epoch": epoch_value, "loss_step": step_value,
             "val_loss": val}
    assert _metrics.epoch_values(seen.fresh(first)) == {"loss": epoch_value, "val_loss": val}
    # next epoch: validation did not run, so its value is stale and left out
    again = {**first, "loss": torch.tensor(0.5), "loss_step": torch.tensor(0.7)}
    again["loss_epoch"] = again["loss"]
    assert set(_metrics.epoch_values(seen.fresh(again))) == {"loss"}
    # a monitored ``name_epoch`` is never dropped (the best epoch is judged by it)
    assert set(_metrics.epoch_values(again, keep="loss_epoch")) == {"loss", "loss_epoch",
                                                                    "val_loss"}
    # a step look: ``name`` and ``name_step`` are one value, recorded once as step/<name>
    in_step = torch.tensor(0.9)
    assert _metrics.step_values({"loss": in_step, "loss_step": in_step, "lr": 0.1}) == {
        "step/loss": in_step, "step/lr": 0.1}
    assert _metrics.to_floats({"a": torch.tensor(1.5), "b": 2, "c": torch.ones(3),
                               "d": "text"}) == {"a": 1.5, "b": 2}


def test_the_callback_pickles_as_ids_and_attaches_to_the_run_in_another_process(
        tmp_path: Path) -> None:
    import dataclasses
    import pickle

    from autolog.backends.local_store import LocalStore
    from integrations.lightning._callback import CaptureOptions, make_callback
    from integrations.lightning._link import RunLink, flush_attached

    with autolog.start_run("owner") as run:
        link = RunLink.to(run)
        callback = make_callback("lightning.pytorch", link, CaptureOptions(), "fit", run=run)
        payload = pickle.dumps(callback)
        assert b"Pipeline" not in payload and b"Thread" not in payload
        same_process = pickle.loads(payload)
        assert isinstance(same_process, pl.Callback) and same_process.run is run

        # as a spawned process sees it: another owner pid, so it attaches by id
        elsewhere = dataclasses.replace(link, owner_pid=-1)
        child = pickle.loads(pickle.dumps(make_callback("lightning.pytorch", elsewhere,
                                                        CaptureOptions(), "fit")))
        attached = child.run
        assert attached is not run and attached.run_id == run.run_id
        assert attached.pipeline.sender is None  # the owner delivers; the child only writes
        attached.log_metrics({"from_child": 3.0}, step=4)
        flush_attached(attached)
        run.log_metrics({"from_owner": 1.0})
    assert autolog.flush(timeout=30)
    data = LocalStore(os.environ["AUTOLOG_DIR"]).run_data(run.run_id)
    assert [(step, value) for step, value, _ in data["metrics"]["from_child"]] == [(4, 3.0)]
    assert "from_owner" in data["metrics"]
