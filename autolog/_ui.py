"""``python -m autolog ui``: the embedded store's runs in the MLflow UI.

MLflow's UI needs an MLflow server, so this starts one (``mlflow server``, one worker, its own
SQLite file under ``<store>/mlflow-ui/``; see ``autolog._mlflow_server``) and delivers the
embedded runs to it with the same sender that delivers to any server, through a mirror store
that keeps the delivery watermarks. Copying is idempotent (rows keep their ids), so running
``ui`` again only sends what is new, and while it runs it keeps sending new records every few
seconds: runs appear live.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from autolog._mlflow_server import MlflowServer
from autolog.backends.local_store import LocalStore
from autolog.client._sender import Sender

INSTALL_HINT = "The MLflow UI needs mlflow: pip install mlflow   (autolog itself never imports it)"
#: What ends ``ui`` like Ctrl-C: ``kill`` / a container stop, and a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """A stop signal arrived (raised in the main thread, so the server is stopped)."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP raise :class:`_Stop`. Python's default for them ends the
    process without ``finally`` blocks, which left the ``mlflow server`` group running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM while the server stops must not cut the stop short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(store: LocalStore, *, port: int | None, out: TextIO, interval: float = 3.0) -> int:
    """Start the UI server, deliver the runs, keep them in sync until Ctrl-C."""
    if importlib.util.find_spec("mlflow") is None:
        out.write(INSTALL_HINT + "\n")
        return 1
    if not store.path.exists():
        out.write(f"No autolog store at {store.directory} (set AUTOLOG_DIR or --dir).\n")
        return 1
    home = store.directory / "mlflow-ui"
    server = MlflowServer(home, workers=1, port=port)
    with _stopped_by_signals():
        try:
            return _serve(store, server, out, interval)
        except (KeyboardInterrupt, _Stop):
            return 0
        finally:
            with _signals_ignored():
                server.stop()


def _serve(store: LocalStore, server: MlflowServer, out: TextIO, interval: float) -> int:
    """Start the server, deliver the runs, then every ``interval`` seconds what is new."""
    from autolog.backends.mlflow_rest import MlflowRestBackend

    try:
        server.start()
    except RuntimeError:
        out.write(f"mlflow server did not start; see {server.log_path}\n")
        return 1
    uri = server.uri
    mirror = LocalStore(server.root / "mirror")
    mirror.artifact_root = store.artifact_root  # deliver the embedded files in place
    sender = Sender(mirror, uri, MlflowRestBackend(uri))
    mirror.mirror_from(store, uri)
    sender.deliver_pass()
    out.write(f"MLflow UI over {store.directory}: {uri}\n")
    out.flush()
    while True:
        time.sleep(interval)
        mirror.mirror_from(store, uri)
        sender.deliver_pass()
