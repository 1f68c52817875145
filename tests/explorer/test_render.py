"""Explorer pages: every chain string is escaped (the XSS attack as a test), the live figures are in
the DOM as data attributes, and the pages are served over a node's gRPC (in-process chain).

The page in a real headless Chromium against a testnet with workers: test_explorer_chromium.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import chain.pb  # noqa: F401

import pytest
from starlette.testclient import TestClient

from chain.explorer.data import JobView, ModelView, Overview, ValidatorView, WorkerView
from chain.explorer.render import decimal_micro, render_job, render_overview
from chain.rest.app import Settings, create_app
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.agreement.v1 import types_pb2 as agreement_types
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import types_pb2 as models_types
from infera.sharding.v1 import query_pb2 as sharding_query
from infera.sharding.v1 import types_pb2 as sharding_types
from infera.workers.v1 import types_pb2 as workers_types
from modules.inference.keys import job_key
from tests.chain.grpc.conftest import GrpcHarness, grpc_chain  # noqa: F401 - the fixture

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
WORKER = "infera1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnr5r9tw"


SAFE_TAGS = {"html", "head", "meta", "title", "link", "body", "header", "main", "section", "a",
             "h1", "h2", "h3", "p", "b", "table", "thead", "tbody", "tr", "th", "td", "span",
             "small", "div", "article", "code"}  # fmt: skip


def parsed(html: str) -> tuple[set[str], set[str]]:
    """Every element name and attribute name a browser's parser sees in ``html``."""
    tags: set[str] = set()
    attributes: set[str] = set()

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.add(tag)
            attributes.update(name for name, _ in attrs)

    Collect().feed(html)
    return tags, attributes


def hostile_overview() -> Overview:
    """An overview whose every free-form chain string is an XSS payload."""
    model = models_types.Model(id=XSS, family=XSS, dtype=XSS, num_layers=3,
                               price_per_token=XSS, min_redundancy=1)  # fmt: skip
    coverage = sharding_query.QueryCoverageResponse(
        model_id=XSS, num_layers=3, min_throughput=7, fully_covered=False,
        layers=[sharding_types.LayerCoverage(layer=0, workers=[WORKER, XSS], throughput=7),
                sharding_types.LayerCoverage(layer=1, workers=[WORKER], throughput=9),
                sharding_types.LayerCoverage(layer=2, workers=[], throughput=0)],
    )  # fmt: skip
    worker = workers_types.Worker(
        operator=WORKER, endpoint=XSS, spans=[workers_types.Span(model_id=XSS, start=0, end=2)],
        hardware=workers_types.Hardware(device=XSS, throughput=10), last_heartbeat_height=90,
        speed=800, speed_samples=3,
    )  # fmt: skip
    job = inference_types.Job(id=7, submitter=XSS, model_id=XSS, prompt=XSS.encode(),
                              state=inference_types.JOB_STATE_EXPIRED, reason=XSS,
                              submit_height=10, final_height=30, precision=XSS)  # fmt: skip
    job.routes.add().hops.add(worker=XSS, layer_start=0, layer_end=3, endpoint=XSS)
    history = agreement_query.QueryJobHistoryResponse(job=job)
    history.votes.add(validator=XSS, power=10)
    history.settlement.CopyFrom(
        agreement_types.Settlement(outcome=agreement_types.OUTCOME_NO_QUORUM, charge=XSS)
    )
    history.settlement.payouts.add(recipient=XSS, amount=XSS)
    history.settlement.penalties.add(worker=XSS, slashed=XSS, reason=XSS)
    return Overview(
        chain_id=XSS, height=100, block_time=XSS,
        validators=[ValidatorView(XSS, XSS, XSS, False, XSS, 10)],
        models=[ModelView(model, coverage)],
        workers=[WorkerView(worker, XSS, 1_250_000, True, XSS)],
        jobs=[JobView(job, history)], open_verifications=[JobView(job, history)],
    )  # fmt: skip


def test_overview_escapes_every_chain_string():
    html = render_overview(hostile_overview(), refresh_s=5)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    tags, attributes = parsed(html)
    assert tags <= SAFE_TAGS, tags - SAFE_TAGS
    assert not [a for a in attributes if a.startswith("on")]


def test_job_page_escapes_every_chain_string():
    view = hostile_overview().jobs[0]
    html = render_job(view, job_key(7), height=100, refresh_s=5)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    tags, attributes = parsed(html)
    assert tags <= SAFE_TAGS and not [a for a in attributes if a.startswith("on")]
    assert html.count("&lt;script&gt;") >= 8  # submitter, model, prompt, reason, route, votes, ...


def test_overview_carries_the_live_figures_as_data_attributes():
    html = render_overview(hostile_overview(), refresh_s=5)
    assert 'data-height="100"' in html
    cells = re.findall(r'data-layer="(\d+)" data-workers="(\d+)" data-throughput="(\d+)"', html)
    assert cells == [("0", "2", "7"), ("1", "1", "9"), ("2", "0", "0")]
    assert f'data-worker="{WORKER}"' in html
    assert 'data-job="7"' in html and '<meta http-equiv="refresh" content="5">' in html
    assert "1.250000" in html and "800/1000 (3 commits)" in html


def test_decimal_micro_is_integer_formatting():
    assert decimal_micro(1_000_000) == "1.000000" and decimal_micro(999) == "0.000999"


@pytest.fixture
def explorer(grpc_chain: GrpcHarness) -> Iterator[TestClient]:  # noqa: F811
    settings = Settings(f"127.0.0.1:{grpc_chain.server.port}", explorer_refresh_s=7)
    with TestClient(create_app(settings)) as client:
        yield client


def test_unreachable_node_is_a_503_page_not_a_crash():
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with TestClient(create_app(Settings(f"127.0.0.1:{port}", timeout_s=2))) as client:
        response = client.get("/explorer")
        assert response.status_code == 503, response.text
        assert "Node unavailable" in response.text
        assert client.get("/cosmos/bank/v1beta1/supply").status_code == 503


def test_bad_and_unknown_job_ids(explorer):
    assert explorer.get("/explorer/job/abc").status_code == 400
    assert explorer.get("/explorer/job/\u0663").status_code == 400
    assert explorer.get("/explorer/job/99999999999999999999").status_code == 400
    assert explorer.get("/explorer/job/0").status_code == 400
    missing = explorer.get("/explorer/job/12345")
    assert missing.status_code == 404 and "job 12345 is not on chain" in missing.text


def test_static_css_is_served_locally(explorer):
    css = explorer.get("/explorer/static/explorer.css")
    assert css.status_code == 200 and ".cov-0" in css.text
    assert explorer.get("/", follow_redirects=False).headers["location"] == "/explorer"


def test_concurrent_overview_requests_share_one_read():
    import asyncio

    from chain.explorer.app import OverviewCache

    reads = []

    class Reader:
        async def overview(self):
            reads.append(1)
            await asyncio.sleep(0.01)
            return hostile_overview()

    async def scenario() -> list:
        cache = OverviewCache()
        return await asyncio.gather(*(cache.get(Reader()) for _ in range(10)))

    views = asyncio.run(scenario())
    assert len(reads) == 1 and all(v is views[0] for v in views)


def test_open_disputes_and_audits_show_kind_deadline_votes_and_verdict():
    from chain.explorer.render import verifications_section

    disputed = inference_types.Job(
        id=11, state=inference_types.JOB_STATE_DISPUTED, deadline_height=90
    )
    dispute = agreement_query.QueryJobHistoryResponse(job=disputed)
    dispute.dispute.CopyFrom(agreement_types.Dispute(job_id=11, opened_height=50))
    dispute.votes.add(
        validator="AB12", power=10, culprits=[agreement_types.Culprit(route_index=1, hop_index=2)]
    )
    audited = inference_types.Job(id=12, state=inference_types.JOB_STATE_FINALIZED)
    audit = agreement_query.QueryJobHistoryResponse(job=audited)
    audit.audit.CopyFrom(
        agreement_types.Audit(
            job_id=12, opened_height=60, deadline_height=80, decided=True, failed=True
        )
    )
    html = verifications_section([JobView(disputed, dispute), JobView(audited, audit)])
    assert "Open disputes and audits (2)" in html
    assert (
        '<tr data-verification="11">' in html
        and "<td>dispute</td><td>50</td><td>90</td><td>1</td><td>pending</td>" in html
    )
    assert "<td>audit</td><td>60</td><td>80</td><td>0</td><td>FAILED</td>" in html
    page = render_job(JobView(disputed, dispute), job_key(11), height=70, refresh_s=0)
    assert "route 1 hop 2" in page and "dispute opened at 50: open" in page
    assert "http-equiv" not in page  # --refresh 0: no auto-refresh


def test_one_refused_item_query_does_not_break_the_overview():
    import asyncio

    import grpc

    from chain.explorer.data import ChainReader
    from chain.rest.errors import RestError
    from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
    from infera.models.v1 import query_pb2 as models_query
    from infera.workers.v1 import query_pb2 as workers_query

    block = tm_query.GetLatestBlockResponse()
    block.sdk_block.header.height, block.sdk_block.header.chain_id = 42, "c"
    answers = {
        "GetLatestBlock": block,
        "Models": models_query.QueryModelsResponse(
            models=[models_types.Model(id="m", num_layers=2)]
        ),
        "Workers": workers_query.QueryWorkersResponse(
            workers=[workers_types.Worker(operator=WORKER)]
        ),
        "Coverage": RestError(grpc.StatusCode.INVALID_ARGUMENT, "refused"),
        "Attestation": RestError(
            grpc.StatusCode.INVALID_ARGUMENT, "no attestation (codespace tee, code 20)"
        ),
        "OpenVerifications": RestError(grpc.StatusCode.UNIMPLEMENTED, "no such method"),
    }

    class Caller:
        async def call(self, path, request, response_class):
            answer = answers.get(path.rsplit("/", 1)[1])
            if isinstance(answer, Exception):
                raise answer
            return answer if answer is not None else response_class()

    view = asyncio.run(ChainReader(Caller()).overview())
    assert view.height == 42 and view.models[0].coverage is None
    assert view.workers[0].attestation == "none" and view.open_verifications == []
    assert "coverage unavailable" in render_overview(view, refresh_s=5)
    answers["Workers"] = RestError(grpc.StatusCode.UNAVAILABLE, "node down")
    with pytest.raises(RestError):  # the node itself failing is the 503 page, not a blank list
        asyncio.run(ChainReader(Caller()).overview())
