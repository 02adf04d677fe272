"""Multipart uploads through MLflow's artifact proxy (``/mlflow-artifacts/mpu/...``).

The proxy hands out one presigned URL per part when its artifact store can take parts (S3,
GCS, Azure); the parts then go straight to the store, and ``complete`` stitches them. A server
whose artifacts live on its own disk (``--artifacts-destination /path``, the usual
``mlflow server``) answers ``501 NOT_IMPLEMENTED`` "Multipart upload is not supported"; the
caller then streams the file in one PUT, which the proxy accepts at any size.

Defaults: parts of 10 MB, multipart from 100 MB (``AUTOLOG_MULTIPART_PART_MB``,
``AUTOLOG_MULTIPART_MIN_MB``). The sender thread uploads the parts one after the other; a part
that fails aborts the upload, and the whole file is retried on the next delivery pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from autolog.backends.base import Result
from autolog.client._retry import RETRYABLE_STATUS

if TYPE_CHECKING:
    from autolog.backends.mlflow_rest import MlflowRestBackend

_MPU = "/api/2.0/mlflow-artifacts/mpu"
_MB = 1024 * 1024
_UNSUPPORTED_MESSAGE = "Multipart upload is not supported"


def _env_mb(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(env.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def min_bytes(env: Mapping[str, str]) -> int:
    return int(_env_mb(env, "AUTOLOG_MULTIPART_MIN_MB", 100) * _MB)


def part_bytes(env: Mapping[str, str] | None = None) -> int:
    import os

    # S3 refuses parts under 5 MB (except the last one).
    return max(5 * _MB, int(_env_mb(env if env is not None else os.environ,
                                     "AUTOLOG_MULTIPART_PART_MB", 10) * _MB))


def _unsupported(result: Result) -> bool:
    return (
        result.status_code in (404, 501)
        or result.value in ("NOT_IMPLEMENTED", "ENDPOINT_NOT_FOUND")
        or _UNSUPPORTED_MESSAGE in result.error
    )


def upload(backend: MlflowRestBackend, directory: Sequence[str], filename: str,
           local_file: str, size: int) -> Result | None:
    """Upload ``local_file`` in parts as ``directory/filename``; None when the server cannot."""
    prefix = "/".join(quote(part, safe="") for part in directory)
    part_size = part_bytes()
    body: dict[str, Any] = {"path": filename, "num_parts": max(1, math.ceil(size / part_size))}
    created = backend._call("POST", f"{_MPU}/create/{prefix}", json_body=body)
    if not created.ok:
        if _unsupported(created):
            backend._multipart = False
            return None
        return created
    backend._multipart = True
    try:
        upload_id = str(created.value["upload_id"])
        credentials = sorted(created.value.get("credentials") or [],
                             key=lambda credential: int(credential["part_number"]))
    except (KeyError, TypeError, ValueError):
        return Result.failure("unexpected multipart upload response", retryable=True)
    parts = []
    with open(local_file, "rb") as handle:
        for credential in credentials:
            number = int(credential["part_number"])
            handle.seek((number - 1) * part_size)
            sent = _put_part(backend, credential, handle.read(part_size))
            if not sent.ok:
                _abort(backend, prefix, filename, upload_id)
                return sent
            parts.append({"part_number": number, "etag": sent.value, "url": credential["url"]})
    done = backend._call("POST", f"{_MPU}/complete/{prefix}",
                         json_body={"path": filename, "upload_id": upload_id, "parts": parts})
    if not done.ok:
        _abort(backend, prefix, filename, upload_id)
        return done
    return Result.success()


def _put_part(backend: MlflowRestBackend, credential: Mapping[str, Any], chunk: bytes) -> Result:
    """PUT one part to its presigned URL; ``value`` is the part's ETag.

    Plain ``requests``, not the backend's session: a presigned URL carries its own
    authorization, and the tracking server's credentials must never reach the artifact store.
    """
    headers = dict(credential.get("headers") or {})
    try:
        response = requests.put(str(credential["url"]), data=chunk, headers=headers,
                                timeout=backend.timeout, verify=backend._session.verify)
    except requests.RequestException as error:
        return Result.failure(f"uploading a part failed: {type(error).__name__}", retryable=True)
    with response:
        if 200 <= response.status_code < 300:
            return Result.success(response.headers.get("ETag", ""))
        return Result.failure(f"HTTP {response.status_code} uploading a part",
                              retryable=response.status_code in RETRYABLE_STATUS,
                              status_code=response.status_code)


def _abort(backend: MlflowRestBackend, prefix: str, filename: str, upload_id: str) -> None:
    backend._call("POST", f"{_MPU}/abort/{prefix}",
                  json_body={"path": filename, "upload_id": upload_id})
