"""inference queries: a job, filtered and paginated job listings (auditors), params.

Listings walk one secondary index (the most selective filter given: worker, submitter, model,
state, height range, else every job) and check the other filters on each job. A page scans at
most SCAN_BUDGET index entries: it may then hold fewer than `limit` jobs, with a next_key to go
on from; a listing is complete only when next_key comes back empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ErrInvalidRequest
from chain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from chain.store import prefix_end
from infera.base.v1 import pagination_pb2
from infera.inference.v1 import query_pb2, types_pb2
from modules.inference import keys
from modules.inference.errors import ErrJobNotFound
from modules.inference.keeper import InferenceKeeper

SCAN_BUDGET = 10 * MAX_LIMIT  # index entries one page may scan


def job(
    ctx: Context, keeper: InferenceKeeper, req: query_pb2.QueryJobRequest
) -> query_pb2.QueryJobResponse:
    found = keeper.get_job(ctx, req.job_id)
    if found is None:
        raise ErrJobNotFound(f"job {req.job_id}")
    return query_pb2.QueryJobResponse(job=found)


def job_seals(
    ctx: Context, keeper: InferenceKeeper, req: query_pb2.QueryJobSealsRequest
) -> query_pb2.QueryJobSealsResponse:
    """A job's boxes; empty routes while it is not sealed (2 when the job is unknown)."""
    if keeper.get_job(ctx, req.job_id) is None:
        raise ErrJobNotFound(f"job {req.job_id}")
    found = keeper.get_seals(ctx, req.job_id) or types_pb2.JobSeals(job_id=req.job_id)
    return query_pb2.QueryJobSealsResponse(seals=found)


def params(
    ctx: Context, keeper: InferenceKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))


@dataclass(frozen=True)
class _Scan:
    """The index range a listing walks: keys in [start, end) under ``prefix``."""

    prefix: bytes
    start: bytes
    end: bytes | None


def jobs(
    ctx: Context, keeper: InferenceKeeper, req: query_pb2.QueryJobsRequest
) -> query_pb2.QueryJobsResponse:
    limit = req.pagination.limit or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ErrInvalidRequest(f"page limit {limit} exceeds {MAX_LIMIT}")
    if req.min_height < 0 or req.max_height < 0:
        raise ErrInvalidRequest("heights must not be negative")
    if req.max_height and req.min_height > req.max_height:
        raise ErrInvalidRequest("min_height is above max_height")
    if req.state not in types_pb2.JobState.values():
        raise ErrInvalidRequest(f"unknown job state {req.state}")
    scan = _choose_scan(req)
    start = max(scan.start, scan.prefix + req.pagination.key)
    found: list[types_pb2.Job] = []
    for scanned, (key, job_id) in enumerate(keeper.iterate_index(ctx, start, scan.end)):
        if len(found) == limit or scanned == SCAN_BUDGET:
            return _page(found, key[len(scan.prefix) :])
        candidate = keeper.get_job(ctx, job_id)
        if candidate is not None and _matches(candidate, req):
            found.append(candidate)
    return _page(found, b"")


def _page(found: list[types_pb2.Job], next_key: bytes) -> query_pb2.QueryJobsResponse:
    return query_pb2.QueryJobsResponse(
        jobs=found, pagination=pagination_pb2.PageResponse(next_key=next_key)
    )


def _choose_scan(req: query_pb2.QueryJobsRequest) -> _Scan:
    """The most selective index for the filters given."""
    if req.worker:
        return _whole(keys.BY_WORKER + crypto.from_bech32(req.worker))
    if req.submitter:
        return _whole(keys.BY_SUBMITTER + crypto.from_bech32(req.submitter))
    if req.model_id:
        return _whole(keys.model_prefix(req.model_id))
    if req.state:
        return _whole(keys.BY_STATE + bytes([req.state]))
    if req.min_height or req.max_height:
        end = keys.u64(req.max_height + 1) if req.max_height else None
        return _Scan(
            prefix=keys.BY_HEIGHT,
            start=keys.BY_HEIGHT + keys.u64(req.min_height),
            end=keys.BY_HEIGHT + end if end else prefix_end(keys.BY_HEIGHT),
        )
    return _whole(keys.JOB)


def _whole(prefix: bytes) -> _Scan:
    return _Scan(prefix=prefix, start=prefix, end=prefix_end(prefix))


def _matches(job: types_pb2.Job, req: query_pb2.QueryJobsRequest) -> bool:
    """Every filter set in ``req`` holds for ``job``."""
    workers = {hop.worker for route in job.routes for hop in route.hops}
    return (
        (
            not req.submitter
            or crypto.from_bech32(job.submitter) == crypto.from_bech32(req.submitter)
        )
        and (not req.model_id or job.model_id == req.model_id)
        and (not req.worker or crypto.to_bech32(crypto.from_bech32(req.worker)) in workers)
        and (not req.state or job.state == req.state)
        and (not req.min_height or job.submit_height >= req.min_height)
        and (not req.max_height or job.submit_height <= req.max_height)
    )
