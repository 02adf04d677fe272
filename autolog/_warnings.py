"""The one warning type autolog emits, de-duplicated per failure kind.

Autolog must never break training, so its own failures surface as a single, filterable
``AutologWarning`` per kind (``warnings.filterwarnings("ignore", category=AutologWarning)``
silences them all) and as a log record on ``autolog``.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings

logger = logging.getLogger("autolog")


class AutologWarning(UserWarning):
    """Something autolog could not record; training was not affected."""


_seen: set[str] = set()
_seen_lock = threading.Lock()


def warn_once(kind: str, message: str, *, stacklevel: int | None = None) -> bool:
    """Warn the first time ``kind`` happens in this process; later ones go to debug logging.

    The warning points at the first frame outside autolog (the user's call that caused it)
    unless ``stacklevel`` says otherwise.
    """
    from autolog._guard import is_silenced, user_stacklevel  # late: _guard imports this module

    if is_silenced():
        logger.debug("%s (silenced)", message)
        return False
    with _seen_lock:
        first = kind not in _seen
        _seen.add(kind)
    if first:
        if stacklevel is None:
            stacklevel = user_stacklevel(sys._getframe(1))
        warnings.warn(message, AutologWarning, stacklevel=stacklevel)
    else:
        logger.debug("%s (repeated)", message)
    return first


def info_once(kind: str, message: str, *, log: logging.Logger = logger) -> bool:
    """Log ``message`` at INFO the first time ``kind`` happens in this process: for what the
    user should know once but is no failure (forgotten with the warnings)."""
    with _seen_lock:
        first = kind not in _seen
        _seen.add(kind)
    (log.info if first else log.debug)(message)
    return first


def forget(kind: str) -> None:
    """Let ``kind`` warn again (e.g. a new outage after delivery recovered)."""
    with _seen_lock:
        _seen.discard(kind)


def reset_warnings() -> None:
    """Forget which kinds were reported (tests, and a fresh ``autolog()`` call)."""
    with _seen_lock:
        _seen.clear()
