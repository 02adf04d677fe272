"""The workload without any tracking: what every other row is compared with."""

from __future__ import annotations

from autolog._bench.tools import Tool


class Bare(Tool):
    name = "bare"


TOOL = Bare()
