"""Turning whatever the user logs into what a tracking server accepts.

Runs on the caller's thread, so the common case (a valid str key, a float value) is a dict
lookup and a type check. Everything unusual is converted or dropped with one warning per key,
never an exception into training.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from autolog._warnings import warn_once

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
#: Steps and timestamps are signed 64-bit integers in SQLite and on an MLflow server.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_VALID_KEY = re.compile(r"^[/\w.\- :]*$")
_INVALID_CHAR = re.compile(r"[^/\w.\- :]")

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
    if value is None or isinstance(value, (str, bytes)):
        return _NOT_NUMBER
    try:
        return float(value)
    except OverflowError:
        # An int beyond a double's range: only its sign survives (MLflow's SQL stores keep
        # ±inf as ±1.8e308 anyway). The caller warns, naming the key.
        if isinstance(value, int):
            return math.inf if value > 0 else -math.inf
        return _NOT_NUMBER
    except Exception:
        return _NOT_NUMBER


def is_beyond_float(value: Any, converted: float) -> bool:
    """Whether ``converted`` is an infinity made from a finite int (for the caller's warning)."""
    return math.isinf(converted) and isinstance(value, int)


def is_number(converted: float | object) -> bool:
    return converted is not _NOT_NUMBER


def metric_step(step: Any) -> int:
    """An integer step (numpy and torch integers, integral floats); may be out of int64 range:
    see :func:`clamp_int64`."""
    if type(step) is int:
        return step
    if isinstance(step, int):  # bool, IntEnum: an int without its subclass's behaviour
        return int(step)
    index = getattr(step, "__index__", None)  # numpy / torch integers, exactly
    if index is not None:
        try:
            return int(index())
        except Exception:  # a float tensor has __index__ but refuses it
            pass
    try:
        as_float = float(step)
        if math.isfinite(as_float) and as_float.is_integer():
            return int(as_float)
        warn_once(f"step:{type(step).__name__}",
                  f"autolog: metric step {_short_repr(step)} is not an integer; rounded down")
        return int(math.floor(as_float)) if math.isfinite(as_float) else 0
    except Exception:
        warn_once("step:bad", f"autolog: metric step {_short_repr(step)} is not a number; "
                  "using 0")
        return 0


def clamp_int64(value: int) -> int:
    return INT64_MAX if value > INT64_MAX else INT64_MIN if value < INT64_MIN else value


def timestamp_ms(value: Any) -> int | None:
    """A timestamp the user gave, in ms, as an integer; None if it is not a number."""
    if type(value) is int:
        return value
    try:
        as_float = float(value)
    except OverflowError:  # an int beyond a double's range
        return INT64_MAX if value > 0 else INT64_MIN
    except Exception:
        return None
    if math.isnan(as_float):
        return None
    if math.isinf(as_float):
        return INT64_MAX if as_float > 0 else INT64_MIN
    return int(as_float)


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def is_storable_text(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escape_unencodable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode written as ``\\udcXX`` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def storable_text(text: str, *, what: str) -> str:
    """``text`` as UTF-8 can hold it (SQLite and JSON bodies are UTF-8).

    Lone surrogates, which ``os.listdir()``, ``sys.argv`` or ``os.environ`` give for bytes
    that are not UTF-8, cannot be encoded: they are stored escaped (``caf\\udce9``), with
    one warning per ``what``. Clean text is returned as is.
    """
    if is_storable_text(text):
        return text
    escaped = escape_unencodable(text)
    warn_once(f"surrogates:{what}", f"autolog: the {what} holds characters UTF-8 cannot encode "
              f"(lone surrogates, as undecodable file names give); stored escaped: "
              f"{escaped[:100]!r}")
    return escaped


def text_value(value: Any, *, limit: int, what: str, key: str | None = None) -> str | None:
    """``value`` as storable text of at most ``limit`` characters; None (with one warning
    naming ``key``) when it has no text form."""
    named = what if key is None else f"{what} of {key!r}"
    text = _safe_str(value, what=named)
    if text is None:
        return None
    text = storable_text(text, what=named)
    if len(text) > limit:
        warn_once(f"long:{what}", f"autolog: a {what} longer than {limit} characters was "
                  f"truncated (first seen: {len(text)} characters)")
        text = text[:limit]
    return text


def checked_step(step: Any, metrics: Mapping[Any, Any]) -> int:
    """A step SQLite and MLflow accept (a signed 64-bit integer), with one warning naming the
    metrics when it had to be clamped."""
    as_int = metric_step(step)
    clamped = clamp_int64(as_int)
    if clamped != as_int:
        keys = _some_keys(metrics)
        warn_once(f"step-range:{keys}", f"autolog: the step of metric {keys} is beyond what "
                  f"tracking servers store (a signed 64-bit integer); recorded as {clamped}")
    return clamped


def checked_timestamp(timestamp: Any, metrics: Mapping[Any, Any]) -> int:
    """A timestamp (ms) the user gave, as :func:`checked_step` does for steps; the current
    time, with a warning, for one that is not a number."""
    as_int = timestamp_ms(timestamp)
    if as_int is None:
        keys = _some_keys(metrics)
        warn_once(f"timestamp:{keys}", f"autolog: the timestamp of metric {keys} is not a "
                  "number; recorded with the current time")
        return int(time.time() * 1000)
    clamped = clamp_int64(as_int)
    if clamped != as_int:
        keys = _some_keys(metrics)
        warn_once(f"timestamp-range:{keys}", f"autolog: the timestamp of metric {keys} is beyond "
                  f"what tracking servers store (a signed 64-bit integer of ms); recorded as "
                  f"{clamped}")
    return clamped


def _some_keys(metrics: Mapping[Any, Any]) -> str:
    keys = [repr(key) for key in itertools.islice(metrics, 3)]
    return ", ".join(keys) + (", ..." if len(metrics) > 3 else "")
