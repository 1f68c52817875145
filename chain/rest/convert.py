"""HTTP request parts -> protobuf request, protobuf response -> JSON, as grpc-gateway does.

- Path variables and query parameters set request fields by (dotted) name:
  ``?pagination.limit=10&pagination.count_total=true``; a repeated field takes the parameter
  repeated. Values are parsed ASCII-exactly: integers ``-?[0-9]+`` within the field's range,
  bools ``true|false|1|0``, enums by name or number, bytes as base64 (standard or URL-safe,
  padding optional), strings as given.
- A JSON body is proto JSON (``json_format``), its bytes fields checked to be real base64 first
  (``json_format`` alone would drop stray characters silently).
- Responses are proto JSON with the SDK gateway's settings: proto field names, defaults printed,
  64-bit integers as strings, enums by name, bytes as base64.
Every failure is a ``RestError`` (400) naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from chain.rest.errors import bad_request

INT_RE = re.compile(r"-?[0-9]{1,20}")  # fullmatch; range checked per type
FLOAT_RE = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?")
BASE64_RE = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
FIELD_NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,63}(\.[a-z_][a-z0-9_]{0,63}){0,7}")
MAX_PARAMS = 64  # query parameters per request
FD = FieldDescriptor
INT_RANGES = {
    FD.TYPE_INT32: (-(1 << 31), (1 << 31) - 1), FD.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    FD.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1), FD.TYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    FD.TYPE_SINT64: (-(1 << 63), (1 << 63) - 1), FD.TYPE_SFIXED64: (-(1 << 63), (1 << 63) - 1),
    FD.TYPE_UINT32: (0, (1 << 32) - 1), FD.TYPE_FIXED32: (0, (1 << 32) - 1),
    FD.TYPE_UINT64: (0, (1 << 64) - 1), FD.TYPE_FIXED64: (0, (1 << 64) - 1),
}  # fmt: skip


def decode_base64(text: str, name: str) -> bytes:
    """Standard or URL-safe base64, padding optional; anything else is a 400."""
    if not BASE64_RE.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise bad_request(f"{name}: invalid base64")
    padded = text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error:
        raise bad_request(f"{name}: invalid base64") from None


def parse_scalar(field: FieldDescriptor, text: str, name: str) -> Any:
    """One query/path value as the Python value of ``field``."""
    if field.type in INT_RANGES:
        low, high = INT_RANGES[field.type]
        if not INT_RE.fullmatch(text) or not low <= int(text) <= high:
            raise bad_request(f"{name}: expected an integer in [{low}, {high}], got {text[:40]!r}")
        return int(text)
    if field.type == FD.TYPE_BOOL:
        if text not in ("true", "false", "1", "0"):
            raise bad_request(f"{name}: expected true or false, got {text[:40]!r}")
        return text in ("true", "1")
    if field.type == FD.TYPE_ENUM:
        return parse_enum(field, text, name)
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        if not FLOAT_RE.fullmatch(text):
            raise bad_request(f"{name}: expected a number, got {text[:40]!r}")
        return float(text)
    if field.type == FD.TYPE_BYTES:
        return decode_base64(text, name)
    if field.type == FD.TYPE_STRING:
        return text
    raise bad_request(f"{name}: a message field cannot be set from a query parameter")


def parse_enum(field: FieldDescriptor, text: str, name: str) -> int:
    enum = field.enum_type
    if text in enum.values_by_name:
        return int(enum.values_by_name[text].number)
    if INT_RE.fullmatch(text) and int(text) in enum.values_by_number:
        return int(text)
    raise bad_request(f"{name}: unknown {enum.name} value {text[:40]!r}")


def set_field(message: Message, path: str, values: list[str]) -> None:
    """Set the field at dotted ``path`` of ``message`` from its string ``values``."""
    if not FIELD_NAME_RE.fullmatch(path):
        raise bad_request(f"unknown parameter {path[:64]!r}")
    *parents, leaf = path.split(".")
    target = message
    for part in parents:
        field = target.DESCRIPTOR.fields_by_name.get(part)
        if field is None or field.type != FD.TYPE_MESSAGE or field.label == FD.LABEL_REPEATED:
            raise bad_request(f"unknown parameter {path!r}")
        target = getattr(target, part)
    field = target.DESCRIPTOR.fields_by_name.get(leaf)
    if field is None:
        raise bad_request(f"unknown parameter {path!r} of {message.DESCRIPTOR.full_name}")
    parsed = [parse_scalar(field, value, path) for value in values]
    try:
        if field.label == FD.LABEL_REPEATED:
            getattr(target, leaf).extend(parsed)
        elif len(parsed) != 1:
            raise bad_request(f"{path}: given {len(parsed)} times, takes one value")
        else:
            setattr(target, leaf, parsed[0])
    except (TypeError, ValueError) as err:
        raise bad_request(f"{path}: {err}") from None


def request_from_params(
    message: Message, path_values: dict[str, str], query: Iterable[tuple[str, str]]
) -> None:
    """Fill ``message`` from the path variables, then the query parameters."""
    grouped: dict[str, list[str]] = {}
    for count, (key, value) in enumerate(query):
        if count >= MAX_PARAMS:
            raise bad_request(f"more than {MAX_PARAMS} query parameters")
        grouped.setdefault(key, []).append(value)
    for key in sorted(set(path_values) & set(grouped)):
        raise bad_request(f"{key} is given in the path and in the query")
    for key, value in sorted(path_values.items()):
        set_field(message, key, [value])
    for key, values in sorted(grouped.items()):
        set_field(message, key, values)


def request_from_body(message: Message, body: bytes, field: str) -> None:
    """Fill ``message`` (or its ``field``, when the route's body is one field) from JSON."""
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise bad_request(f"the body is not JSON: {err}") from None
    target = message if field == "*" else getattr(message, field)
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    check_bytes(data, target.DESCRIPTOR, "")
    try:
        json_format.ParseDict(data, target)
    except (json_format.ParseError, TypeError, ValueError, RecursionError) as err:
        raise bad_request(f"invalid {target.DESCRIPTOR.name}: {err}") from None


def check_bytes(data: Any, descriptor: Descriptor, prefix: str, depth: int = 0) -> None:
    """Refuse a bytes field of ``data`` (the JSON of ``descriptor``) that is not base64."""
    if depth > 32 or not isinstance(data, dict):
        return  # json_format reports the shape errors
    for key, value in data.items():
        field = descriptor.fields_by_name.get(key) or _by_json_name(descriptor, key)
        if field is None:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if field.type == FD.TYPE_BYTES and isinstance(item, str):
                decode_base64(item, prefix + key)
            elif field.type == FD.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
                check_bytes(item, field.message_type, f"{prefix}{key}.", depth + 1)


def _by_json_name(descriptor: Descriptor, key: str) -> FieldDescriptor | None:
    return next((f for f in descriptor.fields if f.json_name == key), None)


def to_json(message: Message) -> dict[str, Any]:
    """The SDK gateway's JSON of ``message``."""
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
