"""Job queries: by id, and listings filtered by submitter, model, worker, state and height
range, paginated; params."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from infera.base.v1 import pagination_pb2
from infera.inference.v1 import query_pb2, types_pb2
from tests.modules.jobs import INFERENCE_PARAMS, cancel_msg, job, ok, submit_msg

JOBS = "/infera.inference.v1.Query/Jobs"


@pytest.fixture
def three_jobs(node, submitter):
    """Jobs 1 (r=3) and 2 (r=1, cancelled) at height 4 by user7; job 3 (r=1) at 5 by user8."""
    other = node.keys[8]
    ok(
        node,
        (submitter, submit_msg(submitter)),
        (submitter, submit_msg(submitter, redundancy=1)),
        (submitter, cancel_msg(submitter, 2)),
    )
    ok(node, (other, submit_msg(other, redundancy=1)))
    return node


def _ids(node, **filters) -> list[int]:
    res = node.query(JOBS, query_pb2.QueryJobsRequest(**filters))
    assert res.code == 0, res.log
    return [j.id for j in query_pb2.QueryJobsResponse.FromString(res.value).jobs]


def test_job_by_id_and_unknown_job(three_jobs):
    assert job(three_jobs, 3).submitter == three_jobs.keys[8].bech32
    res = three_jobs.query("/infera.inference.v1.Query/Job", query_pb2.QueryJobRequest(job_id=4))
    assert (res.codespace, res.code) == ("inference", 2)


def test_jobs_filtered_by_submitter_model_state_and_height(three_jobs):
    node = three_jobs
    assert _ids(node) == [1, 2, 3]
    assert _ids(node, submitter=node.keys[7].bech32) == [1, 2]
    assert _ids(node, submitter=node.keys[8].bech32) == [3]
    assert _ids(node, model_id="m") == [1, 2, 3]
    assert _ids(node, model_id="m2") == []
    assert _ids(node, state=types_pb2.JOB_STATE_CANCELLED) == [2]
    assert _ids(node, state=types_pb2.JOB_STATE_ASSIGNED) == [1, 3]
    assert _ids(node, min_height=5) == [3]
    assert _ids(node, max_height=4) == [1, 2]
    assert _ids(node, min_height=4, max_height=4) == [1, 2]
    assert _ids(node, submitter=node.keys[7].bech32, state=types_pb2.JOB_STATE_ASSIGNED) == [1]
    assert _ids(node, model_id="m", min_height=5) == [3]


def test_jobs_filtered_by_worker(three_jobs):
    node = three_jobs
    routes = {i: {h.worker for r in job(node, i).routes for h in r.hops} for i in (1, 3)}
    for worker in routes[1]:  # job 1 uses all six workers
        expected = [i for i in (1, 3) if worker in routes[i]]
        assert _ids(node, worker=worker) == expected
    assert _ids(node, worker=node.keys[9].bech32) == []


def test_jobs_pages_follow_next_key(three_jobs):
    node = three_jobs
    seen, key = [], b""
    for _ in range(4):
        page = pagination_pb2.PageRequest(key=key, limit=1)
        res = node.query(JOBS, query_pb2.QueryJobsRequest(pagination=page))
        out = query_pb2.QueryJobsResponse.FromString(res.value)
        seen += [j.id for j in out.jobs]
        key = out.pagination.next_key
        if not key:
            break
    assert seen == [1, 2, 3]
    filtered = query_pb2.QueryJobsRequest(
        submitter=node.keys[7].bech32, pagination=pagination_pb2.PageRequest(limit=1)
    )
    out = query_pb2.QueryJobsResponse.FromString(node.query(JOBS, filtered).value)
    assert [j.id for j in out.jobs] == [1] and out.pagination.next_key


@pytest.mark.parametrize(
    "request_",
    [
        query_pb2.QueryJobsRequest(pagination=pagination_pb2.PageRequest(limit=1001)),
        query_pb2.QueryJobsRequest(min_height=9, max_height=5),
        query_pb2.QueryJobsRequest(submitter="infera1bad"),
        query_pb2.QueryJobsRequest(state=300),
        query_pb2.QueryJobsRequest(min_height=-1),
    ],
)
def test_jobs_rejects_bad_requests(node, request_):
    assert node.query(JOBS, request_).code != 0


def test_params_query(node):
    res = node.query("/infera.inference.v1.Query/Params", query_pb2.QueryParamsRequest())
    params = query_pb2.QueryParamsResponse.FromString(res.value).params
    assert params.max_prompt_bytes == INFERENCE_PARAMS["max_prompt_bytes"]
    assert params.fee_denom == "uinfera"


def test_queries_are_deterministic(three_jobs):
    request = query_pb2.QueryJobsRequest(submitter=three_jobs.keys[7].bech32)
    assert three_jobs.query(JOBS, request).value == three_jobs.query(JOBS, request).value
