"""Turning whatever the user logs into what a tracking server accepts.

Runs on the caller's thread, so the common case (a valid str key, a float value) is a dict
lookup and a type check. Everything unusual is converted or dropped with one warning per key,
never an exception into training.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from autolog._warnings import warn_once

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000

_VALID_KEY = re.compile(r"^[/\w.\- :]*$")
_INVALID_CHAR = re.compile(r"[^/\w.\- :]")
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential",
                 "private_key", "access_key")
REDACTED = "***"

_NOT_NUMBER = object()


def _short_hash(text: str) -> str:
    import hashlib  # ~4 ms to import; only long keys need it

    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


# Cached: a loop of fits or trials logs the same few dozen keys into every new run, and each
# run's own ``KeyRegistry`` starts empty.
@functools.lru_cache(maxsize=4096)
def is_valid_key(key: str) -> bool:
    return (
        0 < len(key) <= MAX_KEY_LENGTH
        and _VALID_KEY.match(key) is not None
        and not key.startswith("/")
        and not key.endswith("/")
        and "//" not in key
        and ".." not in key.split("/")
        and "." not in key.split("/")
    )


def make_valid_key(key: str) -> str:
    """A key MLflow accepts; ``@`` reads as ``_at_`` (``ndcg@5`` → ``ndcg_at_5``)."""
    fixed = _INVALID_CHAR.sub("_", key.replace("@", "_at_"))
    parts = [part for part in fixed.split("/") if part not in ("", ".")]
    fixed = "/".join("_" if part == ".." else part for part in parts) or "_"
    if len(fixed) > MAX_KEY_LENGTH:
        # Keep the start readable and make the end unique, so two long keys never collide.
        fixed = fixed[: MAX_KEY_LENGTH - 9] + "_" + _short_hash(key)
    return fixed


class KeyRegistry:
    """Per-run map of user keys to valid keys; guarantees distinct keys stay distinct."""

    __slots__ = ("_final", "_owner", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._final: dict[Any, str] = {}
        self._owner: dict[str, Any] = {}

    def get(self, key: Any) -> str:
        final = self._final.get(key)
        if final is not None:
            return final
        if type(key) is str and key not in self._owner and is_valid_key(key):
            self._final[key] = self._owner[key] = key  # the common case: a valid key, unclaimed
            return key
        return self._register(key)

    def _register(self, key: Any) -> str:
        text = key if isinstance(key, str) else _safe_str(key, what=f"{self.kind} key")
        if text is None:
            text = f"key_{id(key):x}"
        final = text if is_valid_key(text) else make_valid_key(text)
        owner = self._owner.get(final)
        if owner is not None and owner != key:
            final = make_valid_key(f"{final[: MAX_KEY_LENGTH - 9]}_{_short_hash(repr(key))}")
        if final != key:
            warn_once(
                f"key:{self.kind}:{text}",
                f"autolog: {self.kind} key {text!r} is not accepted by tracking servers; "
                f"recorded as {final!r}",
            )
        self._final[key] = final
        self._owner[final] = key
        return final


def _safe_str(value: Any, *, what: str) -> str | None:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception as error:  # a user object whose __str__/__repr__ raises
        warn_once(
            f"str:{what}:{type(value).__name__}",
            f"autolog: could not turn a {type(value).__name__} {what} into text ({error!r}); "
            "it was not recorded",
        )
        return None


def metric_value(value: Any) -> float | object:
    """``float`` for anything numeric (numpy/torch scalars, 0-d arrays, bools); else a marker."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int or kind is bool:
        return float(value)
    if value is None or isinstance(value, (str, bytes)):
        return _NOT_NUMBER
    try:
        return float(value)
    except Exception:
        return _NOT_NUMBER


def is_number(converted: float | object) -> bool:
    return converted is not _NOT_NUMBER


def metric_step(step: Any) -> int:
    if type(step) is int:
        return step
    try:
        as_float = float(step)
        if math.isfinite(as_float) and as_float.is_integer():
            return int(as_float)
        warn_once(f"step:{type(step).__name__}",
                  f"autolog: metric step {step!r} is not an integer; rounded down")
        return int(math.floor(as_float)) if math.isfinite(as_float) else 0
    except Exception:
        warn_once("step:bad", f"autolog: metric step {step!r} is not a number; using 0")
        return 0


def text_value(value: Any, *, limit: int, what: str) -> str | None:
    text = _safe_str(value, what=what)
    if text is not None and len(text) > limit:
        warn_once(f"long:{what}", f"autolog: a {what} longer than {limit} characters was "
                  f"truncated (first seen: {len(text)} characters)")
        text = text[:limit]
    return text


def secret_words() -> tuple[str, ...]:
    """Words that mark a param name as secret: ``AUTOLOG_SECRET_PARAM_WORDS`` (comma list)
    replaces the defaults; an empty value turns redaction off."""
    import os

    raw = os.environ.get("AUTOLOG_SECRET_PARAM_WORDS")
    if raw is None:
        return _SECRET_WORDS
    return tuple(word.strip().lower() for word in raw.split(",") if word.strip())


def looks_secret(key: str, words: tuple[str, ...] | None = None) -> bool:
    return _contains_a_word(key, secret_words() if words is None else words)


@functools.lru_cache(maxsize=4096)
def _contains_a_word(key: str, words: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in words)
