"""MLflow's run search syntax: parsed once, checked with positions, rendered back for a server.

The grammar is MLflow's (``mlflow.search_runs``): clauses joined by ``AND`` (no ``OR``, no
parentheses), each ``<type>.<key> <comparator> <value>``:

- types ``metrics``/``metric``, ``params``/``param``/``parameter(s)``, ``tags``/``tag``,
  ``attributes``/``attribute``/``attr``/``run`` (also no type at all), ``datasets``/``dataset``;
- keys bare (``metrics.val_loss``, ``tags.mlflow.runName``) or quoted with backticks or double
  quotes (``metrics.`valid-auc```); a bare key may also hold ``-``, ``/`` and ``:``, which
  autolog quotes for the server;
- metrics and ``start_time``/``end_time``/``created``: ``= != < <= > >=`` with a number;
- params and tags: ``= != LIKE ILIKE`` with a quoted string, or ``IS NULL`` / ``IS NOT NULL``;
- ``run_id``, ``run_name``, ``status``, ``user_id``, ``artifact_uri``: ``= != LIKE ILIKE`` with a
  string; ``run_id`` also ``IN`` / ``NOT IN`` a list of strings;
- strings are the text between their quotes, taken as written (MLflow does not unescape them).

The filter is validated here, whatever the backend, so a mistake is a :class:`FilterError` (a
``ValueError``) that names the position, before any query runs. The embedded store turns the
parsed clauses into SQL with bound parameters; a server gets them rendered back in canonical
form (``autolog.search._rest``), so both read the same string the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Value = str | float | int | tuple[str, ...] | None

METRIC, PARAM, TAG, ATTRIBUTE, DATASET = "metrics", "params", "tags", "attributes", "datasets"
_TYPES = {
    "metric": METRIC, "metrics": METRIC,
    "param": PARAM, "params": PARAM, "parameter": PARAM, "parameters": PARAM,
    "tag": TAG, "tags": TAG,
    "attribute": ATTRIBUTE, "attributes": ATTRIBUTE, "attr": ATTRIBUTE, "run": ATTRIBUTE,
    "dataset": DATASET, "datasets": DATASET,
}
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
STRING_ATTRIBUTES = frozenset({"run_id", "run_name", "status", "user_id", "artifact_uri"})
_ATTRIBUTE_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name",
                      "Run name": "run_name", "Run Name": "run_name"}
_DATASET_KEYS = frozenset({"name", "digest", "context"})

NUMERIC_COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")
_TEXT_COMPARATORS = ("=", "!=", "LIKE", "ILIKE")
NULL_COMPARATORS = ("IS NULL", "IS NOT NULL")
_LIST_COMPARATORS = ("IN", "NOT IN")

_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_]\w*")
_BARE_KEY = re.compile(r"[\w][\w.\-/:]*")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?[eE]-?\d+|\d+\.\d*|\.\d+|\d+)(?![\w.])")
_SINGLE = re.compile(r"'(?:''|\\'|[^'])*'")
_DOUBLE = re.compile(r'"(?:""|\\"|[^"])*"')
_BACKTICK = re.compile(r"`[^`]*`")
_SYMBOL = re.compile(r"!=|>=|<=|==|<>|=|>|<")
_KEYWORD = re.compile(r"(?i:is\s+not\s+null|is\s+null|not\s+in|not\s+like|not\s+ilike|ilike|like|in)"
                      r"(?!\w)")
_AND = re.compile(r"(?i:and)(?!\w)")
_OR = re.compile(r"(?i:or)(?!\w)")


class FilterError(ValueError):
    """A search filter or sort key that cannot be read; ``position`` is the 0-based offset."""

    def __init__(self, problem: str, text: str, position: int) -> None:
        self.problem = problem
        self.text = text
        self.position = position
        caret = " " * position + "^"
        super().__init__(f"{problem} (at position {position})\n  {text}\n  {caret}")


@dataclass(frozen=True)
class Clause:
    """One comparison. ``key`` is canonical (aliases resolved); ``literal`` the value as written."""

    kind: str
    key: str
    comparator: str
    value: Value
    literal: str
    position: int


@dataclass(frozen=True)
class SortKey:
    kind: str
    key: str
    ascending: bool = True


class _Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def skip_space(self) -> None:
        self.at = _SPACE.match(self.text, self.at).end()

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.at)
        if found is None:
            return None
        self.at = found.end()
        return found.group(0)

    def done(self) -> bool:
        return self.at >= len(self.text)

    def fail(self, problem: str, at: int | None = None) -> FilterError:
        return FilterError(problem, self.text, self.at if at is None else at)

    def shown(self) -> str:
        rest = self.text[self.at:].split(None, 1)
        return repr(rest[0]) if rest else "the end of the filter"


def parse_filter(text: str | None) -> tuple[Clause, ...]:
    """The clauses of a filter string (empty or None: no clauses)."""
    if text is None or not text.strip():
        return ()
    if not isinstance(text, str):
        raise TypeError(f"filter must be a string, not {type(text).__name__}")
    cursor = _Cursor(text)
    clauses = []
    while True:
        cursor.skip_space()
        clauses.append(_clause(cursor))
        cursor.skip_space()
        if cursor.done():
            return tuple(clauses)
        start = cursor.at
        if cursor.match(_AND):
            cursor.skip_space()
            if cursor.done():
                raise cursor.fail("a comparison must follow AND")
            continue
        if cursor.match(_OR):
            raise cursor.fail("MLflow's search syntax has no OR: clauses are joined by AND "
                              "(run one search per alternative)", start)
        raise cursor.fail(f"expected AND or the end of the filter, found {cursor.shown()}")


def _clause(cursor: _Cursor) -> Clause:
    start = cursor.at
    kind, key = _identifier(cursor)
    cursor.skip_space()
    comparator_at = cursor.at
    comparator = _comparator(cursor)
    _check_comparator(cursor, kind, key, comparator, comparator_at)
    if comparator in NULL_COMPARATORS:
        return Clause(kind, key, comparator, None, "", start)
    cursor.skip_space()
    value_at = cursor.at
    if comparator in _LIST_COMPARATORS:
        value, literal = _string_list(cursor)
    else:
        value, literal = _value(cursor, kind, key)
    if isinstance(value, (int, float)) != _numeric(kind, key):
        wanted = "a number" if isinstance(value, str) else "a quoted string, e.g. 'rf'"
        raise cursor.fail(f"{_named(kind, key)} compares with {wanted}, not {literal}", value_at)
    return Clause(kind, key, comparator, value, literal, start)


def _identifier(cursor: _Cursor) -> tuple[str, str]:
    start = cursor.at
    quoted = cursor.match(_BACKTICK) or cursor.match(_DOUBLE)
    if quoted is not None:  # `Run name` = ... : an attribute named in quotes, or `params`.x
        name = quoted[1:-1]
        if cursor.text.startswith(".", cursor.at) and name.lower() in _TYPES:
            cursor.at += 1
            return _TYPES[name.lower()], _key(cursor)
        return ATTRIBUTE, _attribute(cursor, name, start)
    word = cursor.match(_WORD)
    if word is None:
        raise cursor.fail(f"expected a key such as metrics.accuracy or params.model, found "
                          f"{cursor.shown()}")
    if cursor.text.startswith(".", cursor.at):
        kind = _TYPES.get(word.lower())
        if kind is None:
            raise cursor.fail(f"unknown key type {word!r} (expected metrics, params, tags, "
                              "attributes or datasets)", start)
        cursor.at += 1
        key_at = cursor.at
        key = _key(cursor)
        if kind == ATTRIBUTE:
            return kind, _attribute(cursor, key, key_at)
        if kind == DATASET and key not in _DATASET_KEYS:
            raise cursor.fail(f"unknown dataset key {key!r} (expected name, digest or context)",
                              key_at)
        return kind, key
    return ATTRIBUTE, _attribute(cursor, word, start)


def _key(cursor: _Cursor) -> str:
    quoted = cursor.match(_BACKTICK) or cursor.match(_DOUBLE)
    if quoted is not None:
        return quoted[1:-1]
    bare = cursor.match(_BARE_KEY)
    if bare is None:
        raise cursor.fail(f"expected a key name after the dot, found {cursor.shown()} (quote "
                          "unusual names with backticks: metrics.`my metric`)")
    return bare


def _attribute(cursor: _Cursor, name: str, at: int) -> str:
    key = _ATTRIBUTE_ALIASES.get(name, name)
    if key not in NUMERIC_ATTRIBUTES and key not in STRING_ATTRIBUTES:
        known = ", ".join(sorted(NUMERIC_ATTRIBUTES | STRING_ATTRIBUTES))
        raise cursor.fail(f"unknown attribute {name!r} (expected one of {known}, or a typed key "
                          "such as metrics.accuracy)", at)
    return key


def _comparator(cursor: _Cursor) -> str:
    at = cursor.at
    symbol = cursor.match(_SYMBOL)
    if symbol in ("==", "<>"):
        raise cursor.fail(f"{symbol!r} is not a comparator here: use {'=' if symbol == '==' else '!='}",
                          at)
    if symbol is not None:
        return symbol
    keyword = cursor.match(_KEYWORD)
    if keyword is None:
        raise cursor.fail("expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, "
                          f"IS NULL, IS NOT NULL), found {cursor.shown()}")
    canonical = " ".join(keyword.upper().split())
    if canonical in ("NOT LIKE", "NOT ILIKE"):
        raise cursor.fail(f"{canonical} is not in MLflow's search syntax", at)
    return canonical


def _check_comparator(cursor: _Cursor, kind: str, key: str, comparator: str, at: int) -> None:
    if _numeric(kind, key):
        allowed: Sequence[str] = NUMERIC_COMPARATORS
    elif kind in (PARAM, TAG):
        allowed = _TEXT_COMPARATORS + NULL_COMPARATORS
    elif kind == DATASET:
        allowed = _TEXT_COMPARATORS + _LIST_COMPARATORS
    else:
        allowed = _TEXT_COMPARATORS + (_LIST_COMPARATORS if key == "run_id" else ())
    if comparator not in allowed:
        raise cursor.fail(f"{_named(kind, key)} takes {', '.join(allowed)}, not {comparator}", at)


def _value(cursor: _Cursor, kind: str, key: str) -> tuple[Value, str]:
    text = cursor.match(_SINGLE) or cursor.match(_DOUBLE)
    if text is not None:
        return text[1:-1], text
    number = cursor.match(_NUMBER)
    if number is not None:
        if kind == ATTRIBUTE and re.fullmatch(r"-?\d+", number):
            return int(number), number
        return float(number), number
    if cursor.text.startswith(("'", '"'), cursor.at):
        raise cursor.fail("this quote is never closed")
    word = cursor.match(_BARE_KEY)
    if word is not None:
        raise cursor.fail(f"text values go in quotes: {_named(kind, key)} ... '{word}'",
                          cursor.at - len(word))
    raise cursor.fail(f"expected a value for {_named(kind, key)} (a number, or a string in "
                      f"quotes), found {cursor.shown()}")


def _string_list(cursor: _Cursor) -> tuple[tuple[str, ...], str]:
    start = cursor.at
    if not cursor.text.startswith("(", cursor.at):
        raise cursor.fail(f"expected a list in parentheses, e.g. ('a', 'b'), found {cursor.shown()}")
    cursor.at += 1
    items = []
    while True:
        cursor.skip_space()
        text = cursor.match(_SINGLE) or cursor.match(_DOUBLE)
        if text is None:
            raise cursor.fail(f"expected a quoted string in the list, found {cursor.shown()}")
        items.append(text[1:-1])
        cursor.skip_space()
        if cursor.text.startswith(")", cursor.at):
            cursor.at += 1
            return tuple(items), cursor.text[start:cursor.at]
        if not cursor.text.startswith(",", cursor.at):
            raise cursor.fail(f"expected ',' or ')' in the list, found {cursor.shown()}")
        cursor.at += 1


def _numeric(kind: str, key: str) -> bool:
    return kind == METRIC or (kind == ATTRIBUTE and key in NUMERIC_ATTRIBUTES)


def _named(kind: str, key: str) -> str:
    return key if kind == ATTRIBUTE else f"{kind}.{key}"


# -- order_by --------------------------------------------------------------------------------
def parse_order_by(order_by: str | Iterable[str] | None) -> tuple[SortKey, ...]:
    """``"metrics.accuracy DESC"`` or a list of such clauses (ascending unless DESC)."""
    if order_by is None:
        return ()
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    keys: list[SortKey] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"order_by takes strings, not {type(item).__name__}")
        key = _sort_key(item)
        if any((key.kind, key.key) == (seen.kind, seen.key) for seen in keys):
            raise FilterError(f"order_by names {_named(key.kind, key.key)} twice", item, 0)
        keys.append(key)
    return tuple(keys)


def _sort_key(text: str) -> SortKey:
    cursor = _Cursor(text)
    cursor.skip_space()
    if cursor.done():
        raise cursor.fail("an empty sort key")
    start = cursor.at
    kind, key = _identifier(cursor)
    if kind == DATASET:
        raise cursor.fail("runs cannot be sorted by a dataset key", start)
    cursor.skip_space()
    ascending = True
    direction = cursor.match(re.compile(r"(?i:asc|desc)(?!\w)"))
    if direction is not None:
        ascending = direction.lower() == "asc"
        cursor.skip_space()
    if not cursor.done():
        raise cursor.fail(f"expected ASC, DESC or the end of the sort key, found {cursor.shown()}")
    return SortKey(kind, key, ascending)


@dataclass(frozen=True)
class RunQuery:
    """A parsed search. ``experiments``: names, or None for every experiment."""

    experiments: tuple[str, ...] | None
    clauses: tuple[Clause, ...] = ()
    order_by: tuple[SortKey, ...] = ()
    max_results: int | None = None
