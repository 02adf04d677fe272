"""Marks autolog's own threads, so nothing they do (HTTP calls, a model's predict for metrics)
is ever autologged. Kept apart from the pipeline so patched calls can check it cheaply without
loading the store."""

from __future__ import annotations

import contextvars

#: True on autolog's own threads.
shipper_context: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "autolog_shipper", default=False
)
