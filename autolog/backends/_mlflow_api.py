"""What the MLflow REST modules share: the API prefix, reading a body, and paging.

:class:`MlflowApi` is the base of the tracking, logged-model and registry parts of
:class:`~autolog.backends.mlflow_rest.MlflowRestBackend`; each part adds the endpoints of one
job and reaches the server only through ``self.transport``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from autolog.backends.base import Result

if TYPE_CHECKING:  # at run time the transport (and urllib3) load with the backend only
    from autolog.backends._transport import HttpTransport

API = "/api/2.0/mlflow"


def filter_literal(text: str) -> str:
    """``text`` as the inside of a quoted value in an MLflow search filter."""
    return str(text).replace("\\", "\\\\").replace("'", "\\'")


class MlflowApi:
    transport: HttpTransport

    def _value(self, result: Result, extract: Callable[[Any], Any]) -> Result:
        """Read the useful part of a 2xx body; a body we cannot read is worth another try."""
        try:
            return Result.success(extract(result.value))
        except (KeyError, TypeError, IndexError, AttributeError):
            return Result.failure(
                "unexpected response from the tracking server (is the URI an MLflow server?)",
                retryable=True,
                ambiguous=True,
                status_code=result.status_code,
            )

    @staticmethod
    def _without_value(result: Result) -> Result:
        return Result.success() if result.ok else result

    def _all_pages(self, method: str, path: str, query: Mapping[str, Any], items: str,
                   page_size: int) -> Result:
        """``value``: the ``items`` of every page of a paged listing (``next_page_token``).

        ``query`` goes as the JSON body of a POST, as URL parameters of a GET.
        """
        found: list[Any] = []
        token = None
        while True:
            page_query = {**query, "max_results": page_size}
            if token:
                page_query["page_token"] = token
            if method == "GET":
                result = self.transport.request(
                    method, path, params={key: str(value) for key, value in page_query.items()})
            else:
                result = self.transport.request(method, path, json_body=page_query)
            if not result.ok:
                return result
            page = result.value or {}
            if not isinstance(page, dict):
                return self._value(result, lambda body: body["unreadable"])
            found.extend(page.get(items) or [])
            token = page.get("next_page_token")
            if not token:
                return Result.success(found)
