"""Pages for queries under the Cosmos SDK's own paths (``cosmos.base.query.v1beta1.PageRequest``).

Cosmos clients page either by key (send back the previous ``next_key``) or by offset; ``limit``
defaults to 100, ``count_total`` adds the number of items, ``reverse`` walks keys in descending
order. A request that sets both key and offset is an invalid request, never a silent truncation.

Every page has a hard bound on work: it reads at most ``MAX_SCAN`` entries, whatever it asks.
- ``limit`` is at most ``MAX_LIMIT`` items;
- ``offset`` is at most ``MAX_OFFSET`` (an offset is paid for by walking the skipped items:
  deeper pages go by ``next_key``, which costs one seek);
- ``count_total`` is answered while the listing holds at most ``MAX_COUNT`` items, and refused
  beyond (page by ``next_key`` without it). As in the Cosmos SDK it is ignored on a page that
  starts from a key.
Anything over a bound is ``ErrInvalidRequest`` (gRPC INVALID_ARGUMENT) naming the bound.
Infera's own queries use ``chain.pagination``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import chain.pb  # noqa: F401

from chain.errors import ErrInvalidRequest
from chain.store import KVStore, prefix_end
from cosmos.base.query.v1beta1 import pagination_pb2

DEFAULT_LIMIT = 100  # items per page when the request says 0
MAX_LIMIT = 1000  # most items one page may hold
MAX_OFFSET = 10 * MAX_LIMIT  # most items an offset may skip
MAX_COUNT = MAX_OFFSET + MAX_LIMIT  # largest listing count_total counts
MAX_SCAN = MAX_COUNT + 1  # most store entries one page reads (the +1 detects "more")

T = TypeVar("T")


def check_page(page: pagination_pb2.PageRequest) -> int:
    """Validate a page request; returns the effective limit."""
    if page.key and page.offset:
        raise ErrInvalidRequest("pagination: set either key or offset, not both")
    limit = page.limit or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ErrInvalidRequest(f"pagination: limit {page.limit} exceeds {MAX_LIMIT}")
    if page.offset > MAX_OFFSET:
        raise ErrInvalidRequest(
            f"pagination: offset {page.offset} exceeds {MAX_OFFSET}; page by next_key instead"
        )
    return limit


def paginate(
    store: KVStore,
    prefix: bytes,
    page: pagination_pb2.PageRequest,
    decode: Callable[[bytes, bytes], T],
) -> tuple[list[T], pagination_pb2.PageResponse]:
    """One page of ``decode(key_without_prefix, value)`` over the keys under ``prefix``."""
    limit = check_page(page)
    count = page.count_total and not page.key
    items: list[T] = []
    response = pagination_pb2.PageResponse()
    seen = 0
    for key, value in _pairs(store, prefix, page):
        seen += 1
        if seen <= page.offset:
            continue
        if len(items) == limit:
            if not response.next_key:
                response.next_key = key[len(prefix) :]
            if not count:
                break
            if seen > MAX_COUNT:
                raise ErrInvalidRequest(
                    f"pagination: count_total is answered for at most {MAX_COUNT} items and "
                    "this listing holds more; page by next_key without count_total"
                )
            continue
        items.append(decode(key[len(prefix) :], value))
    if count:
        response.total = seen
    return items, response


def _pairs(
    store: KVStore, prefix: bytes, page: pagination_pb2.PageRequest
) -> Iterator[tuple[bytes, bytes]]:
    """The entries a page walks, from its start key, in its direction."""
    if page.reverse:
        end = prefix + page.key + b"\x00" if page.key else prefix_end(prefix)
        return store.iterate(prefix, end, reverse=True)
    return store.iterate(prefix + page.key, prefix_end(prefix))
