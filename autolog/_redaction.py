"""Keeping secrets out of the store: secret-looking names, and secret-looking keys inside values.

A param or tag whose name looks secret is stored as ``***``. So is the value of a secret-looking
key inside a dict, list or JSON text logged as a param or tag value (``{"api_key": …}``), of a
``key=value`` / ``key: value`` pair in other text (a config object's repr), and the password of
a URL (``postgresql://user:pw@host``).

Names are matched word by word (``api_token``, ``AUTH_TKN``, ``openaiApiKey`` look secret;
``max_tokens`` and ``tokenizer`` do not): a secret word must end a word of the name, or a run
of words for the multi-word ones (``api_key``).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "***"

DEFAULT_SECRET_WORDS = (
    "password", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "tkn", "api_key",
    "apikey", "credential", "credentials", "creds", "private_key", "access_key", "authorization",
    "bearer",
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
#: ``key = value`` / ``"key": "value"`` / ``'key': 'value'`` in free text.
_PAIR = re.compile(
    r"""(?P<key>["']?[A-Za-z_][\w.\-]*["']?)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;&}\])'"]+)"""
)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.\-]*://[^/\s:@]*:)(?P<password>[^/\s@]+)(?=@)")
_MAX_DEPTH = 20


def secret_words() -> tuple[str, ...]:
    """Words that mark a name as secret: ``AUTOLOG_SECRET_PARAM_WORDS`` (comma list) replaces
    the defaults; an empty value turns redaction off."""
    raw = os.environ.get("AUTOLOG_SECRET_PARAM_WORDS")
    if raw is None:
        return DEFAULT_SECRET_WORDS
    return tuple(word.strip() for word in raw.split(",") if word.strip())


def looks_secret(key: str, words: tuple[str, ...] | None = None) -> bool:
    return _name_matcher(secret_words() if words is None else words)(key)


@functools.lru_cache(maxsize=16)
def _name_matcher(words: tuple[str, ...]) -> Any:
    normalized = sorted({_normalize(word) for word in words} - {""}, key=len, reverse=True)
    if not normalized:
        return lambda key: False
    pattern = re.compile(r"(?:^|_)[a-z0-9]*?(?:" + "|".join(map(re.escape, normalized))
                         + r")(?:_|$)")

    # Cached: a loop of fits logs the same few dozen names into every new run.
    @functools.lru_cache(maxsize=4096)
    def matches(key: str) -> bool:
        return pattern.search(_normalize(key)) is not None

    return matches


def _normalize(name: str) -> str:
    """``openaiApiKey`` → ``openai_api_key``, ``AUTH-TKN2`` → ``auth_tkn_2``."""
    return _NOT_WORD.sub("_", _CAMEL_BOUNDARY.sub("_", name).lower()).strip("_")


@functools.lru_cache(maxsize=16)
def _mention(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Any secret word, anywhere, any case: the cheap test before a text is parsed."""
    spelled = sorted({word for word in words if word}, key=len, reverse=True)
    spellings = {variant for word in spelled
                 for variant in (word, word.replace("_", ""), word.replace("_", "-"))}
    if not spellings:
        return None
    return re.compile("|".join(map(re.escape, sorted(spellings, key=len, reverse=True))), re.I)


def redact_structure(value: Any, words: tuple[str, ...]) -> tuple[Any, bool]:
    """A copy of a dict / list / tuple with the values of secret-looking keys replaced, and
    whether anything was; ``value`` itself when nothing was."""
    return _walk(value, _name_matcher(words), 0)


def _walk(value: Any, is_secret: Any, depth: int) -> tuple[Any, bool]:
    if depth > _MAX_DEPTH:
        return value, False
    if isinstance(value, Mapping):
        changed = False
        copied: dict[Any, Any] = {}
        for key, inner in value.items():
            if isinstance(key, str) and is_secret(key):
                copied[key] = REDACTED
                changed = True
            else:
                copied[key], inner_changed = _walk(inner, is_secret, depth + 1)
                changed = changed or inner_changed
        return (copied if changed else value), changed
    if isinstance(value, (list, tuple)):
        items = [_walk(item, is_secret, depth + 1) for item in value]
        if not any(changed for _, changed in items):
            return value, False
        rebuilt = [item for item, _ in items]
        return (rebuilt if isinstance(value, list) else tuple(rebuilt)), True
    return value, False


def may_hold_secrets(text: str) -> bool:
    """Cheap: whether ``text`` could hold a key-value pair or a URL password at all."""
    return "=" in text or ":" in text


def redact_text(text: str, words: tuple[str, ...]) -> str:
    """``text`` with secret-looking keys' values (JSON, ``key=value``, ``key: value``) and URL
    passwords replaced by ``***``; ``text`` itself when nothing was."""
    if "@" in text and "://" in text:
        text = _URL_PASSWORD.sub(lambda match: match["head"] + REDACTED, text)
    mention = _mention(words)
    if mention is None or mention.search(text) is None:
        return text
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            pass
        else:
            redacted, changed = redact_structure(parsed, words)
            return json.dumps(redacted, ensure_ascii=False) if changed else text
    is_secret = _name_matcher(words)

    def replace(match: re.Match[str]) -> str:
        key = match["key"].strip("\"'")
        if not is_secret(key):
            return match[0]
        value = match["value"]
        quote = value[0] if value[:1] in ("'", '"') else ""
        return f"{match['key']}{match['sep']}{quote}{REDACTED}{quote}"

    return _PAIR.sub(replace, text)
