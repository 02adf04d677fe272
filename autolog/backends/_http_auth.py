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

import logging
from collections.abc import Mapping
from urllib.parse import unquote

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from autolog._warnings import warn_once
from autolog.backends import _secrets

logger = logging.getLogger("autolog.backends.http")

_TRUE = {"1", "true", "yes", "on"}


class _BearerAuth(AuthBase):
    """Adds a Bearer token to each request as it is prepared."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


class _BasicAuth(HTTPBasicAuth):
    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        _secrets.remember_basic(username, password)

    def __repr__(self) -> str:
        return "_BasicAuth(***)"


def auth_from(env: Mapping[str, str], base_url: str, url_user: str | None,
              url_password: str | None) -> AuthBase | None:
    """The credentials to send, by the precedence in the module docs."""
    token = env.get("MLFLOW_TRACKING_TOKEN") or _read_token_file(env)
    user = env.get("MLFLOW_TRACKING_USERNAME") or ""
    password = env.get("MLFLOW_TRACKING_PASSWORD") or ""
    if token:
        _secrets.remember(token)
        return _BearerAuth(token)
    if user or password:
        return _BasicAuth(user, password)
    if url_user or url_password:
        _secrets.remember(url_user or "", url_password or "")  # as written, percent-encoded
        return _BasicAuth(unquote(url_user or ""), unquote(url_password or ""))
    from_netrc = requests.utils.get_netrc_auth(base_url)
    if from_netrc:
        return _BasicAuth(*from_netrc)
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
    """(``verify`` as requests takes it, the client certificate path or None)."""
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
    else:  # what requests itself would read from the environment
        verify = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
    client_cert = env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH") or None
    return verify, client_cert
