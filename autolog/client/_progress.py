"""What a long wait for delivery says: one progress line on stderr.

A ``flush()`` (or the exit flush) that has waited ``AUTOLOG_PROGRESS_AFTER`` seconds (default
3) starts telling what it waits for: records and runs pending, the delivery rate, and what
holds it up (requests in flight, or a server out of reach and when the next try is). On a
terminal the line updates in place (``\\r``) about once a second; otherwise a plain line
goes out at most every ``AUTOLOG_PROGRESS_EVERY`` seconds (default 10), so logs stay short.
While the server is out of reach each line also says that Ctrl-C is safe: every record waits
in the local store for ``python -m autolog sync``.

This is the one place the library writes to stderr itself: a user staring at a script that
does not end needs to see why, whatever logging is configured.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from autolog._config import env_float

logger = logging.getLogger("autolog.client")


class FlushProgress:
    """Called every half second or so by a waiting flush; writes when there is cause."""

    def __init__(self, sender: Any, *, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sender = sender
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.started = clock()
        self.after = env_float("AUTOLOG_PROGRESS_AFTER", 3.0, minimum=0.0)
        self.every = env_float("AUTOLOG_PROGRESS_EVERY", 10.0, minimum=0.1)
        self.tty = _is_tty(self.stream)
        self._delivered_at_start = sender.stats["records_delivered"]
        self._last_written: float | None = None
        self._width = 0  # of the line on screen (terminal), to blank what a shorter one leaves

    def tick(self) -> None:
        now = self.clock()
        waited = now - self.started
        if waited < self.after:
            return
        interval = 1.0 if self.tty else self.every
        if self._last_written is not None and now - self._last_written < interval:
            return
        try:
            line = self._line(waited)
            if self.tty:
                padding = " " * max(0, self._width - len(line))
                self.stream.write("\r" + line + padding)
                self._width = len(line)
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
        except Exception:  # a closed stream or a store that cannot be read: stay quiet
            logger.debug("progress line failed", exc_info=True)
        self._last_written = now

    def finish(self) -> None:
        """End the updating line so what follows starts on a line of its own."""
        if self.tty and self._last_written is not None:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except Exception:
                logger.debug("progress line failed", exc_info=True)

    def _line(self, waited: float) -> str:
        sender = self.sender
        pending = sender.store.pending_counts(sender.target)
        records, runs = sum(pending.values()), len(pending)
        delivered = sender.stats["records_delivered"] - self._delivered_at_start
        rate = delivered / waited if waited > 0 else 0.0
        head = (f"autolog: waiting {waited:.0f} s for delivery to {sender.target}: "
                f"{records} record(s) of {runs} run(s) pending, {rate:.0f} records/s")
        paused_for = sender.pause_until - time.monotonic()
        if sender.last_error:
            retry = f"next try in {paused_for:.0f} s" if paused_for > 0.5 else "retrying"
            return (f"{head}; still waiting: the server takes nothing now ({sender.last_error}); "
                    f"{retry}. Ctrl-C leaves everything safe in {sender.store.path}: deliver "
                    "it later with: python -m autolog sync")
        in_flight = sender.window.in_flight
        return f"{head}; sending ({in_flight} request(s) in flight, at most {sender.window.limit})"


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False
