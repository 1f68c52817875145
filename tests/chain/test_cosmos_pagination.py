"""Cosmos pages have a hard bound on work: a huge offset, count_total over a long listing or a huge
limit is a clear INVALID_ARGUMENT, and no accepted page reads more than MAX_SCAN entries."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

import pytest

from chain.cosmos_pagination import MAX_COUNT, MAX_LIMIT, MAX_OFFSET, MAX_SCAN, paginate
from chain.errors import ChainError, ErrInvalidRequest
from chain.store import MemStore
from cosmos.base.query.v1beta1 import pagination_pb2

PREFIX = b"items/"
LONG = MAX_COUNT + 5_000  # a listing longer than count_total may count


class CountingStore(MemStore):
    """A MemStore that counts the entries iterations hand out."""

    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        for pair in super().iterate(start, end, reverse):
            self.read += 1
            yield pair


def _refused(match: str) -> pytest.RaisesContext[ChainError]:
    """An invalid-request error (gRPC INVALID_ARGUMENT) whose text matches ``match``."""
    return pytest.raises(ChainError, match=match)


def _store(items: int) -> CountingStore:
    store = CountingStore()
    for i in range(items):
        store.set(PREFIX + b"%08d" % i, b"v")
    store.read = 0
    return store


def _page(store: CountingStore, **fields: object) -> tuple[list[bytes], object]:
    request = pagination_pb2.PageRequest(**fields)  # type: ignore[arg-type]
    return paginate(store, PREFIX, request, lambda key, _: key)


@pytest.fixture(scope="module")
def long_listing() -> CountingStore:
    return _store(LONG)


def test_huge_offset_is_refused_without_walking_the_listing(long_listing: CountingStore) -> None:
    long_listing.read = 0
    for offset in (MAX_OFFSET + 1, 10**6, 1 << 32):
        with _refused(match="offset .* exceeds 10000; page by next_key"):
            _page(long_listing, offset=offset)
    assert long_listing.read == 0


def test_refusals_are_invalid_requests(long_listing: CountingStore) -> None:
    with pytest.raises(ChainError) as info:
        _page(long_listing, offset=10**6)
    assert (info.value.codespace, info.value.code) == (ErrInvalidRequest.codespace, 18)


def test_count_total_over_a_long_listing_is_refused_within_the_scan_bound(
    long_listing: CountingStore,
) -> None:
    long_listing.read = 0
    with _refused(match=f"count_total is answered for at most {MAX_COUNT}"):
        _page(long_listing, count_total=True, limit=10)
    assert long_listing.read <= MAX_SCAN


def test_huge_limit_is_refused(long_listing: CountingStore) -> None:
    for limit in (MAX_LIMIT + 1, 10**9, (1 << 64) - 1):
        with _refused(match="limit .* exceeds 1000"):
            _page(long_listing, limit=limit)


def test_deepest_allowed_page_reads_at_most_the_scan_bound(long_listing: CountingStore) -> None:
    long_listing.read = 0
    items, response = _page(long_listing, offset=MAX_OFFSET, limit=MAX_LIMIT)
    assert len(items) == MAX_LIMIT and items[0] == b"%08d" % MAX_OFFSET
    assert response.next_key == b"%08d" % (MAX_OFFSET + MAX_LIMIT)  # type: ignore[attr-defined]
    assert long_listing.read <= MAX_SCAN


def test_count_total_is_exact_up_to_the_bound() -> None:
    store = _store(MAX_COUNT)
    items, response = _page(store, count_total=True, limit=3)
    assert len(items) == 3 and response.total == MAX_COUNT  # type: ignore[attr-defined]
    assert store.read <= MAX_SCAN


def test_count_total_is_ignored_on_a_page_that_starts_from_a_key(
    long_listing: CountingStore,
) -> None:
    """As in the Cosmos SDK: a key page never counts (so it never walks the whole listing)."""
    long_listing.read = 0
    items, response = _page(long_listing, key=b"%08d" % 7, count_total=True, limit=2)
    assert items == [b"%08d" % 7, b"%08d" % 8] and response.total == 0  # type: ignore[attr-defined]
    assert long_listing.read == 3


def test_key_and_reverse_pages_still_walk_the_listing_in_order() -> None:
    store = _store(5)
    first, response = _page(store, limit=2, reverse=True)
    assert first == [b"%08d" % 4, b"%08d" % 3]
    second, _ = _page(store, limit=2, reverse=True, key=response.next_key)  # type: ignore[attr-defined]
    assert second == [b"%08d" % 2, b"%08d" % 1]
