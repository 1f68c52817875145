"""The gateway's Prometheus metrics (docs/metrics.md, "The gateway"), against the fake chain of
test_app.py through starlette's TestClient: no network.
"""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from chain.gateway.app import Settings, create_app
from chain.gateway.metrics import GatewayMetrics
from infera.inference.v1 import types_pb2 as inference_types
from tests.gateway.test_app import AUTH, KEY, ByteTokenizer, FakeChain, chat


def client_for(
    chain: FakeChain, metrics_registry: GatewayMetrics | None = None, **settings: Any
) -> TestClient:
    options = {"api_keys": frozenset({KEY}), "poll_s": 0.0, **settings}
    app = create_app(chain, {"tiny": ByteTokenizer()}, Settings(**options), metrics_registry)
    return TestClient(app)


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    sample = metrics.registry.get_sample_value(name, labels)
    return 0.0 if sample is None else sample


def requests(metrics: GatewayMetrics, route: str, status: int) -> float:
    return value(metrics, "infera_gateway_requests_total", route=route, status=str(status))


def test_requests_are_counted_by_route_and_status_and_jobs_by_outcome():
    metrics = GatewayMetrics()
    chain = FakeChain(
        states=[inference_types.JOB_STATE_ASSIGNED, inference_types.JOB_STATE_FINALIZED]
    )
    client = client_for(chain, metrics_registry=metrics)
    assert chat(client, max_tokens=3).status_code == 200
    assert chat(client, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert chat(client, model="absent").status_code == 404  # model_not_found, no job
    assert client.get("/v1/models", headers=AUTH).status_code == 200
    assert client.get("/no/such/path", headers=AUTH).status_code == 404

    route = "/v1/chat/completions"
    assert requests(metrics, route, 200) == 1
    assert requests(metrics, route, 401) == 1
    assert requests(metrics, route, 404) == 1
    assert requests(metrics, "/v1/models", 200) == 1
    assert requests(metrics, "other", 404) == 1  # unknown paths share one label value
    assert value(metrics, "infera_gateway_request_duration_seconds_count", route=route) == 3
    assert value(metrics, "infera_gateway_jobs_submitted_total") == 1
    assert value(metrics, "infera_gateway_jobs_finalized_total") == 1
    assert value(metrics, "infera_gateway_completion_tokens_total") == 3  # "hi!"
    assert value(metrics, "infera_gateway_job_finalize_seconds_count") == 1
    assert value(metrics, "infera_gateway_job_finalize_seconds_sum") > 0
    assert value(metrics, "infera_gateway_metrics_errors_total") == 0


def test_metrics_endpoint_needs_no_key_and_its_text_parses():
    metrics = GatewayMetrics()
    client = client_for(FakeChain(), metrics_registry=metrics)
    assert chat(client).status_code == 200
    response = client.get("/metrics")  # no Authorization header
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {"infera_gateway_requests", "infera_gateway_request_duration_seconds",
            "infera_gateway_job_finalize_seconds", "infera_gateway_completion_tokens",
            "infera_gateway_jobs_submitted", "infera_gateway_jobs_failed"} <= set(families)  # fmt: skip
    [ok] = [s for s in families["infera_gateway_requests"].samples
            if s.name.endswith("_total") and s.labels["status"] == "200"]  # fmt: skip
    assert ok.labels["route"] == "/v1/chat/completions" and ok.value == 1
    assert client.get("/metrics").status_code == 200
    assert requests(metrics, "/metrics", 200) == 2  # scrapes count too


@pytest.mark.parametrize(
    ("chain", "settings", "status", "reason"),
    [
        (FakeChain(states=[inference_types.JOB_STATE_EXPIRED]), {}, 502, "job_not_finalized"),
        (
            FakeChain(states=[inference_types.JOB_STATE_ASSIGNED]),
            {"timeout_s": 0.05, "poll_s": 0.01},
            504,
            "timeout",
        ),  # fmt: skip
    ],
)
def test_submitted_jobs_that_do_not_finalize_count_as_failed_by_reason(
    chain, settings, status, reason
):
    metrics = GatewayMetrics()
    assert chat(client_for(chain, metrics_registry=metrics, **settings)).status_code == status
    assert value(metrics, "infera_gateway_jobs_submitted_total") == 1
    assert value(metrics, "infera_gateway_jobs_failed_total", reason=reason) == 1
    assert value(metrics, "infera_gateway_jobs_finalized_total") == 0
    assert value(metrics, "infera_gateway_job_finalize_seconds_count") == 0


def test_a_broken_metric_never_breaks_a_request(monkeypatch):
    metrics = GatewayMetrics()

    def broken(**labels):
        raise RuntimeError("metric store on fire")

    monkeypatch.setattr(metrics.requests, "labels", broken)
    monkeypatch.setattr(metrics.job_seconds, "observe", broken)
    client = client_for(FakeChain(), metrics_registry=metrics)
    response = chat(client)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "hi!"
    assert value(metrics, "infera_gateway_metrics_errors_total") == 2  # request + job update


def test_metrics_off_serves_no_endpoint_and_counts_nothing():
    client = client_for(FakeChain(), metrics=False)
    assert client.app.state.metrics is None
    assert chat(client).status_code == 200
    assert client.get("/metrics").status_code == 404


class LostChain(FakeChain):
    def outcome(self, job_id):
        raise TimeoutError("the node stopped answering")


def test_a_chain_failure_while_waiting_counts_as_chain_error_and_a_failed_submit_as_no_job():
    metrics = GatewayMetrics()
    assert chat(client_for(LostChain(), metrics_registry=metrics)).status_code == 502
    assert value(metrics, "infera_gateway_jobs_failed_total", reason="chain_error") == 1
    refused = FakeChain(refuse=TimeoutError("tx AA not committed after 30 s"))
    assert chat(client_for(refused, metrics_registry=metrics)).status_code == 502
    assert value(metrics, "infera_gateway_jobs_submitted_total") == 1  # only LostChain's job
    assert requests(metrics, "/v1/chat/completions", 502) == 2


def test_streams_report_time_to_first_token_and_duration_by_outcome():
    from tests.gateway.test_stream import StreamChain, body

    metrics = GatewayMetrics()
    for chain in (StreamChain(), StreamChain(final="ho!")):
        chain.finalize.set()
        app = create_app(chain, {"tiny": ByteTokenizer()},
                         Settings(api_keys=frozenset({KEY}), poll_s=0.01), metrics)  # fmt: skip
        with TestClient(app).stream("POST", "/v1/chat/completions", json=body(),
                                    headers=AUTH) as response:  # fmt: skip
            assert response.status_code == 200
            list(response.iter_lines())
    duration = "infera_gateway_stream_duration_seconds_count"
    assert value(metrics, "infera_gateway_stream_first_token_seconds_count") == 2
    assert value(metrics, duration, outcome="finalized") == 1
    assert value(metrics, duration, outcome="mismatch") == 1
    assert value(metrics, "infera_gateway_jobs_finalized_total") == 1
    assert value(metrics, "infera_gateway_jobs_failed_total", reason="stream_not_finalized") == 1
