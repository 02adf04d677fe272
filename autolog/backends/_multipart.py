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
from typing import Any
from urllib.parse import quote

from autolog.backends._transport import HttpTransport
from autolog.backends.base import Result

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


def upload(transport: HttpTransport, directory: Sequence[str], filename: str,
           local_file: str, size: int) -> tuple[bool | None, Result | None]:
    """Upload ``local_file`` in parts as ``directory/filename``.

    Returns (whether the server takes parts, None when this attempt could not tell; the
    outcome, None when the server cannot take parts and the caller should PUT the file whole).
    """
    prefix = "/".join(quote(part, safe="") for part in directory)
    part_size = part_bytes()
    body: dict[str, Any] = {"path": filename, "num_parts": max(1, math.ceil(size / part_size))}
    created = transport.request("POST", f"{_MPU}/create/{prefix}", json_body=body)
    if not created.ok:
        if _unsupported(created):
            return False, None
        return None, created
    try:
        upload_id = str(created.value["upload_id"])
        credentials = sorted(created.value.get("credentials") or [],
                             key=lambda credential: int(credential["part_number"]))
    except (KeyError, TypeError, ValueError):
        return True, Result.failure("unexpected multipart upload response", retryable=True)
    parts = []
    with open(local_file, "rb") as handle:
        for credential in credentials:
            number = int(credential["part_number"])
            handle.seek((number - 1) * part_size)
            sent = transport.put_presigned(str(credential["url"]), handle.read(part_size),
                                           credential.get("headers") or {})
            if not sent.ok:
                _abort(transport, prefix, filename, upload_id)
                return True, sent
            parts.append({"part_number": number, "etag": sent.value, "url": credential["url"]})
    done = transport.request("POST", f"{_MPU}/complete/{prefix}",
                             json_body={"path": filename, "upload_id": upload_id, "parts": parts})
    if not done.ok:
        _abort(transport, prefix, filename, upload_id)
        return True, done
    return True, Result.success()


def _abort(transport: HttpTransport, prefix: str, filename: str, upload_id: str) -> None:
    transport.request("POST", f"{_MPU}/abort/{prefix}",
                      json_body={"path": filename, "upload_id": upload_id})
