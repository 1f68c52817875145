"""Pages for queries under the Cosmos SDK's own paths (``cosmos.base.query.v1beta1.PageRequest``).

Cosmos clients page either by key (send back the previous ``next_key``) or by offset; ``limit``
defaults to 100 and is capped, ``count_total`` adds the number of items, ``reverse`` walks keys
in descending order. A request that sets both key and offset, or a limit over the cap, is an
invalid request, never a silent truncation. Infera's own queries use ``chain.pagination``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import chain.pb  # noqa: F401

from chain.errors import ErrInvalidRequest
from chain.store import KVStore, prefix_end
from cosmos.base.query.v1beta1 import pagination_pb2

DEFAULT_LIMIT = 100  # items per page when the request says 0
MAX_LIMIT = 1000  # most items one page may hold
MAX_OFFSET = 1 << 32  # larger offsets are certainly a client bug

T = TypeVar("T")


def check_page(page: pagination_pb2.PageRequest) -> int:
    """Validate a page request; returns the effective limit."""
    if page.key and page.offset:
        raise ErrInvalidRequest("pagination: set either key or offset, not both")
    limit = page.limit or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ErrInvalidRequest(f"pagination: limit {page.limit} exceeds {MAX_LIMIT}")
    if page.offset > MAX_OFFSET:
        raise ErrInvalidRequest(f"pagination: offset {page.offset} exceeds {MAX_OFFSET}")
    return limit


def paginate(
    store: KVStore,
    prefix: bytes,
    page: pagination_pb2.PageRequest,
    decode: Callable[[bytes, bytes], T],
) -> tuple[list[T], pagination_pb2.PageResponse]:
    """One page of ``decode(key_without_prefix, value)`` over the keys under ``prefix``."""
    limit = check_page(page)
    if page.reverse:
        end = prefix + page.key + b"\x00" if page.key else prefix_end(prefix)
        pairs = store.iterate(prefix, end, reverse=True)
    else:
        pairs = store.iterate(prefix + page.key, prefix_end(prefix))
    items: list[T] = []
    response = pagination_pb2.PageResponse()
    seen = 0
    for key, value in pairs:
        seen += 1
        if seen <= page.offset:
            continue
        if len(items) == limit:
            if not response.next_key:
                response.next_key = key[len(prefix) :]
            if not page.count_total:
                break
            continue
        items.append(decode(key[len(prefix) :], value))
    if page.count_total:
        response.total = seen
    return items, response
