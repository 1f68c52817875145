"""Key-ordered pages for listing queries (``infera.base.v1.PageRequest``/``PageResponse``).

A page starts at ``prefix + request.key`` and holds at most ``limit`` items; ``next_key`` is
the key (without the prefix) of the first item of the following page, empty after the last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import chain.pb  # noqa: F401

from chain.errors import ErrInvalidRequest
from chain.store import KVStore, prefix_end
from infera.base.v1 import pagination_pb2

DEFAULT_LIMIT = 100  # items per page when the request says 0
MAX_LIMIT = 1000  # most items one page may hold

T = TypeVar("T")


def paginate(
    store: KVStore,
    prefix: bytes,
    page: pagination_pb2.PageRequest,
    decode: Callable[[bytes, bytes], T],
) -> tuple[list[T], pagination_pb2.PageResponse]:
    """One page of ``decode(key_without_prefix, value)`` for the keys under ``prefix``."""
    limit = page.limit or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ErrInvalidRequest(f"page limit {limit} exceeds {MAX_LIMIT}")
    items: list[T] = []
    for key, value in store.iterate(prefix + page.key, prefix_end(prefix)):
        if len(items) == limit:
            return items, pagination_pb2.PageResponse(next_key=key[len(prefix) :])
        items.append(decode(key[len(prefix) :], value))
    return items, pagination_pb2.PageResponse()
