"""Credentials and TLS settings of the HTTP transport, read once from the environment.

The environment variables are the ones MLflow users already have (read from ``env``, which
defaults to ``os.environ``):

- ``MLFLOW_TRACKING_TOKEN`` sends ``Authorization: Bearer <token>``. When a token is set it
  takes precedence: ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` are then ignored.
  ``AUTOLOG_TRACKING_TOKEN_FILE`` names a file holding the token instead (read once, here),
  for secrets mounted as files rather than exported into every child process's environment.
- ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` send HTTP Basic credentials.
  Credentials written into the tracking URI (``https://user:pass@host``) are used as Basic
  credentials only when neither variable is set, and are removed from the URI we keep; then
  ``~/.netrc`` (or ``$NETRC``) is looked up for the host.
- ``MLFLOW_TRACKING_INSECURE_TLS=true`` turns certificate verification off;
  ``MLFLOW_TRACKING_SERVER_CERT_PATH`` verifies against that CA bundle instead (it wins when
  both are set, since it is the safer reading); ``MLFLOW_TRACKING_CLIENT_CERT_PATH`` presents a
  client certificate.

Every credential read here, in every form it is sent in, is remembered by
``autolog.backends._secrets``, which scrubs it from any text autolog shows or stores.
"""

from __future__ import annotations

import base64
import logging
import netrc
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from autolog._warnings import warn_once
from autolog.backends import _secrets

logger = logging.getLogger("autolog.backends.http")

_TRUE = {"1", "true", "yes", "on"}


def auth_from(env: Mapping[str, str], base_url: str, url_user: str | None,
              url_password: str | None) -> str | None:
    """The ``Authorization`` header to send, by the precedence in the module docs."""
    token = env.get("MLFLOW_TRACKING_TOKEN") or _read_token_file(env)
    user = env.get("MLFLOW_TRACKING_USERNAME") or ""
    password = env.get("MLFLOW_TRACKING_PASSWORD") or ""
    if token:
        _secrets.remember(token)
        return f"Bearer {token}"
    if user or password:
        return basic(user, password)
    if url_user or url_password:
        _secrets.remember(url_user or "", url_password or "")  # as written, percent-encoded
        return basic(unquote(url_user or ""), unquote(url_password or ""))
    from_netrc = _netrc_credentials(base_url)
    if from_netrc:
        return basic(*from_netrc)
    return None


def basic(user: str, password: str) -> str:
    """``Basic base64(user:password)``: latin-1 where it fits (what most servers decode),
    UTF-8 otherwise. Every form is remembered, so no message ever shows it."""
    _secrets.remember_basic(user, password)
    raw = f"{user}:{password}"
    try:
        encoded = raw.encode("latin-1")
    except UnicodeEncodeError:
        encoded = raw.encode("utf-8")
    return "Basic " + base64.b64encode(encoded).decode("ascii")


def _netrc_credentials(base_url: str) -> tuple[str, str] | None:
    """(login, password) for the server's host from ``$NETRC`` or ``~/.netrc`` (the process's
    own, like curl's and MLflow's client); a file that is missing or unreadable is no
    credentials."""
    host = urlsplit(base_url).hostname or ""
    named = os.environ.get("NETRC")
    candidates = [named] if named else ["~/.netrc", "~/_netrc"]
    for candidate in candidates:
        path = Path(os.path.expanduser(candidate))
        if not path.is_file():
            continue
        try:
            found = netrc.netrc(str(path)).authenticators(host)
        except (OSError, netrc.NetrcParseError) as error:
            logger.debug("cannot read %s: %s", path, error)
            return None
        if found:
            login, account, password = found
            return (login or account or ""), (password or "")
        return None
    return None


def _read_token_file(env: Mapping[str, str]) -> str:
    path = env.get("AUTOLOG_TRACKING_TOKEN_FILE") or ""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as error:  # the path is the user's; its content never reaches a message
        warn_once("token-file", f"autolog: cannot read AUTOLOG_TRACKING_TOKEN_FILE ({path}): "
                  f"{error.strerror}; sending no token")
        return ""


def tls_from(env: Mapping[str, str]) -> tuple[bool | str, str | None]:
    """(``verify``: True, False or a CA bundle path; the client certificate path or None)."""
    cert_path = env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or ""
    insecure = (env.get("MLFLOW_TRACKING_INSECURE_TLS") or "").strip().lower() in _TRUE
    verify: bool | str = True
    if cert_path:
        if insecure:
            logger.warning(
                "both MLFLOW_TRACKING_SERVER_CERT_PATH and MLFLOW_TRACKING_INSECURE_TLS are set; "
                "verifying against the certificate path"
            )
        verify = cert_path
    elif insecure:
        verify = False
    else:  # the CA bundle variables MLflow's own client honours
        verify = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
    client_cert = env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH") or None
    return verify, client_cert
