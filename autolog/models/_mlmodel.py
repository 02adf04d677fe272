"""The ``MLmodel`` file (and the other small YAML files of a model directory), without PyYAML.

autolog's runtime dependencies are ``requests`` and ``wrapt`` only, and these files have a fixed,
small shape: nested mappings of strings, numbers, booleans and null, and lists of those. The
emitter below writes that subset in block style. Strings that YAML could read as something else
(``1.9``, ``yes``, ``null``, text with ``:`` or quotes) are written double-quoted, so a reader
always gets back exactly the string we meant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

#: Plain (unquoted) scalars: start with a letter, no characters YAML gives a meaning to.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*\Z")
#: Plain-looking words YAML 1.1 readers (PyYAML) turn into booleans or null.
_RESERVED = frozenset(["y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"])
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if abs(value) == float("inf"):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:  # YAML 1.1 readers need the dot: 1.0e-05
            text = f"{mantissa}.0e{exponent}"
        return text
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return _double_quoted(text)


#: What a double-quoted scalar must escape besides ``"``, ``\\``, newline and tab: control
#: characters, lone surrogates and the non-characters YAML readers refuse.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; non-printable characters escaped, the rest kept as is."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    text = text.replace("\t", "\\t")
    if _UNPRINTABLE.search(text):
        text = _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return f'"{text}"'


def _key(key: str) -> str:
    return key if _KEY.match(key) and key.lower() not in _RESERVED else _double_quoted(key)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    """Append the block-style lines of a mapping or a sequence at ``indent`` spaces."""
    pad = " " * indent
    if _is_mapping(value):
        for key, item in value.items():
            if _is_mapping(item) and item:
                lines.append(f"{pad}{_key(str(key))}:")
                _emit(item, indent + 2, lines)
            elif _is_list(item) and item:
                lines.append(f"{pad}{_key(str(key))}:")
                _emit(item, indent, lines)  # "- " items at the key's indentation, as PyYAML does
            else:
                lines.append(f"{pad}{_key(str(key))}: {_inline(item)}")
        return
    for item in value:
        if _is_mapping(item) and item:
            nested: list[str] = []
            _emit(item, indent + 2, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2:]}"
            lines.extend(nested)
        elif _is_list(item) and item:
            nested = []
            _emit(item, indent + 2, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2:]}"
            lines.extend(nested)
        else:
            lines.append(f"{pad}- {_inline(item)}")


def _inline(value: Any) -> str:
    if _is_mapping(value):
        return "{}"
    if _is_list(value):
        return "[]"
    return _scalar(value)


def _is_list(value: Any) -> bool:
    kind = type(value)
    if kind is list or kind is tuple:
        return True
    if kind in _SCALARS:
        return False
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _is_mapping(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return True
    return kind not in _SCALARS and kind is not list and isinstance(value, Mapping)


#: Types that are neither mappings nor lists: decided without the (slow) ABC checks.
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


def to_yaml(document: Mapping[str, Any]) -> str:
    """Block-style YAML for ``document`` (insertion order kept)."""
    lines: list[str] = []
    _emit(document, 0, lines)
    return "\n".join(lines) + "\n"


def utc_created(now: datetime | None = None) -> str:
    """``utc_time_created`` as MLflow writes it (``2024-05-01 12:00:00.123456``)."""
    moment = now or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def mlmodel(
    *,
    run_id: str,
    artifact_path: str,
    flavors: Mapping[str, Mapping[str, Any]],
    model_uuid: str,
    created: str,
    size_bytes: int,
    signature: Mapping[str, Any] | None = None,
    example_info: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """The ``MLmodel`` text: the keys MLflow's ``Model.load`` reads, in MLflow's order.

    ``run_id`` here is the id the run has where the file is first written (autolog's own id);
    delivery swaps in the tracking server's id (see :func:`with_remote_ids`).
    """
    document: dict[str, Any] = {"artifact_path": artifact_path, "flavors": dict(flavors)}
    if metadata:
        document["metadata"] = dict(metadata)
    document["model_size_bytes"] = int(size_bytes)
    document["model_uuid"] = model_uuid
    document["run_id"] = run_id
    if example_info:
        document["saved_input_example_info"] = dict(example_info)
    if signature:
        document["signature"] = dict(signature)
    document["utc_time_created"] = created
    return to_yaml(document)


def with_remote_ids(text: bytes, client_run_id: str, remote_run_id: str,
                    model_id: str | None = None) -> bytes | None:
    """The ``MLmodel`` bytes for the tracking server, or None if ``text`` is not ours.

    autolog writes the file before the server has assigned the run's id; the top-level
    ``run_id: <client id>`` line (a random 32-hex id, so never a false match) is replaced, and the
    logged model's id is added for the copy uploaded to the logged model.
    """
    marker = f"\nrun_id: {_scalar(client_run_id)}\n".encode()
    if marker not in text:
        return None
    updated = text.replace(marker, f"\nrun_id: {_scalar(remote_run_id)}\n".encode(), 1)
    if model_id:
        with_id = f"\nmodel_id: {_scalar(model_id)}\nmodel_uuid: ".encode()
        updated = updated.replace(b"\nmodel_uuid: ", with_id, 1)
    return updated


def signature_field(inputs: list[dict[str, Any]] | None,
                    outputs: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """MLflow keeps each schema as a JSON string inside the YAML, to stay compact."""
    if inputs is None:
        return None
    return {
        "inputs": json.dumps(inputs),
        "outputs": json.dumps(outputs) if outputs is not None else None,
        "params": None,
    }
