"""What a measured call cost besides its wall time: CPU per thread, sidecar processes, network.

- Threads: every live thread's own CPU clock (``time.pthread_getcpuclockid``), grouped by the
  thread's name, plus the process's total (``RUSAGE_SELF``, which keeps the CPU of threads
  that already ended). "Off the training thread" is that total less the training thread's.
- Sidecars: processes the measured process started (wandb-core, ClearML's reporter, a
  delivery process): the CPU of every live descendant, read from ``/proc/<pid>/stat``, plus
  ``RUSAGE_CHILDREN`` for the ones already reaped.
- Network: an audit hook records every connection and name lookup to an address outside
  this machine, so a tool that waits on the network shows it in the results.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of each live thread, by its system id (the kernel's, not reused as soon as
    ``ident`` is), with its name (``autolog-writer``)."""
    found: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError, ValueError):
            continue
        found[thread.native_id or thread.ident] = (thread.name, seconds)
    return found


def process_cpu() -> float:
    """CPU seconds of this process, every thread it ever ran included (the same clock as the
    threads' own: ``getrusage`` splits its total at tick granularity)."""
    return time.process_time()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _descendants() -> dict[int, tuple[str, float]]:
    """Live processes below this one: pid -> (command name, CPU seconds, reaped children's
    included)."""
    parents: dict[int, int] = {}
    stats: dict[int, tuple[str, float]] = {}
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                raw = handle.read().decode(errors="replace")
        except OSError:
            continue
        name = raw[raw.index("(") + 1: raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        parents[pid] = int(fields[1])
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        stats[pid] = (name, ticks / _TICKS)
    me, below = os.getpid(), {}
    for pid in stats:
        ancestor, seen = parents.get(pid), 0
        while ancestor and seen < 64:
            if ancestor == me:
                below[pid] = stats[pid]
                break
            ancestor, seen = parents.get(ancestor), seen + 1
    return below


@dataclass
class CpuSnapshot:
    """CPU counters at one instant; :meth:`since` gives what was spent after ``before``."""

    process: float
    threads: dict[int, tuple[str, float]]
    training: float  # the calling (training) thread's own clock
    children: float
    descendants: dict[int, tuple[str, float]] = field(default_factory=dict)

    @classmethod
    def take(cls) -> CpuSnapshot:
        return cls(process_cpu(), thread_cpu(), time.thread_time(), _children_cpu(),
                   _descendants())

    def since(self, before: CpuSnapshot) -> dict[str, Any]:
        sidecars: dict[str, float] = {}
        for pid, (name, seconds) in self.descendants.items():
            spent = seconds - before.descendants.get(pid, (name, 0.0))[1]
            if spent > 0:
                sidecars[name] = sidecars.get(name, 0.0) + spent
        reaped = self.children - before.children
        if reaped > 0:
            sidecars["(ended)"] = sidecars.get("(ended)", 0.0) + reaped
        threads: dict[str, float] = {}
        for ident, (name, seconds) in self.threads.items():
            earlier = before.threads.get(ident)
            spent = seconds - earlier[1] if earlier and earlier[0] == name else seconds
            if spent < 0:  # the id went to a new thread of the same name meanwhile
                spent = seconds
            threads[name] = threads.get(name, 0.0) + spent
        process = self.process - before.process
        # The two clocks are read a few microseconds apart: the training thread cannot have
        # spent more than the whole process.
        training = min(self.training - before.training, process)
        return {
            "process_s": round(process, 4),
            "training_thread_s": round(training, 4),
            "other_threads_s": round(max(0.0, process - training), 4),
            "autolog_threads_s": round(sum(s for n, s in threads.items()
                                           if n.startswith("autolog-")), 4),
            # autolog's threads all (they add up to the total above); others from 0.5 ms
            "threads_s": {name: round(s, 4) for name, s in sorted(threads.items())
                          if (s >= 0.0005 or name.startswith("autolog-"))
                          and name != threading.main_thread().name},
            "sidecars_s": {name: round(s, 3) for name, s in sorted(sidecars.items())},
            "sidecar_total_s": round(sum(sidecars.values()), 3),
        }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class NetworkAudit:
    """Every connection or name lookup this process makes to a host that is not local."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._active = False

    def install(self) -> None:
        self._active = True
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self._active:
            return
        if event == "socket.getaddrinfo":
            host = args[0]
            if isinstance(host, bytes):
                host = host.decode(errors="replace")
            if host is not None and not _local(str(host)):
                self._note(f"lookup {host}")
        elif event == "socket.connect":
            sock, address = args
            if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6):
                host, port = address[0], address[1]
                if not _local(str(host)):
                    self._note(f"connect {host}:{port}")

    def _note(self, what: str) -> None:
        if what not in self.attempts and len(self.attempts) < 50:
            self.attempts.append(what)


def _local(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")
