"""Credentials never shown: every text autolog shows or stores passes :func:`scrub` first.

The transport remembers each credential it reads (a token, a user name and password, their
``Authorization: Basic`` base64 form, credentials from ``~/.netrc``); :func:`scrub` replaces
them wherever they appear, plus anything that looks like credentials without being known:
``user:pass@`` in a URL, the value of an ``Authorization`` header a server echoed back. The
list is process-wide, so a message that travelled through another layer (a warning, the
store's ``rejected`` and ``delivery_errors`` tables, a log line) is scrubbed just the same.
"""

from __future__ import annotations

import base64
import re
import threading

_MIN_LENGTH = 3  # shorter values would scrub ordinary words
_known: list[str] = []
_lock = threading.Lock()

_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
#: ``Authorization: Basic xyz`` / ``"authorization": "Bearer xyz"``, as servers echo headers.
_AUTH_HEADER = re.compile(
    r"""(?i)((?:proxy-)?authorization['"]?\s*[:=]\s*['"]?\s*(?:[a-z]+\s+)?)[^\s'",;}\]]+""")


def remember(*values: str) -> None:
    """Scrub these from every text from now on (values shorter than 3 characters are not)."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_LENGTH and value not in _known:
                _known.append(value)
        _known.sort(key=len, reverse=True)  # "pass" inside "password" must not leave "word"


def remember_basic(user: str, password: str) -> None:
    """A Basic credential: the user, the password and the header's base64 of ``user:pass``."""
    remember(user, password)
    for encoding in ("latin-1", "utf-8"):  # autolog sends latin-1 where it fits; others UTF-8
        try:
            raw = f"{user}:{password}".encode(encoding)
        except UnicodeEncodeError:
            continue
        remember(base64.b64encode(raw).decode("ascii"))


def scrub(text: str) -> str:
    """``text`` with every remembered credential, URL user info and echoed
    ``Authorization`` value replaced by ``***``."""
    text = _USERINFO.sub("***@", text)
    text = _AUTH_HEADER.sub(r"\1***", text)
    for secret in _known:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def scrub_url(text: str) -> str:
    """``scheme://user:pass@host`` → ``scheme://***@host`` wherever a URL appears in ``text``."""
    return _USERINFO.sub("***@", text)
