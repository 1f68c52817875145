"""Worker metrics (inference_worker/metrics.py) through a real in-process pipeline.

Three gRPC Pipeline servers on 127.0.0.1 serve a tiny seeded llama (one span each), each with a
WorkerMetrics of its own; the figures are read back from each worker's registry after real
Generate calls, garbage frames and a dead hop. A broken metric never breaks serving, and the
HTTP endpoint serves the registry in the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import urllib.request

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc
import pytest
import torch
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from inference_worker.metrics import MetricsError, WorkerMetrics
from inference_worker.node.config import ConfigError, MetricsConfig, parse_config
from inference_worker.pipeline.frames import FrameSigner
from inference_worker.pipeline.generate import generate
from inference_worker.pipeline.server import HostedSpan, start_server
from inference_worker.pipeline.shard import load_shard
from tests.inference_worker.pipeline_harness import generate_request

MODEL = "tiny"
SPANS = ((0, 2), (2, 4), (4, 5))
NAMES = ("first", "middle", "last")
PROMPT = [1, 5, 9, 22, 7, 3]
TOKENS = 12


def value(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Net:
    """first, middle, last: (grpc server, PipelineServer, port), each with its own metrics."""

    def __init__(self) -> None:
        self.servers: dict[str, tuple[grpc.aio.Server, object, int]] = {}
        self.metrics = {name: WorkerMetrics() for name in NAMES}

    async def start(self, model_dir) -> Net:
        for name, span in zip(NAMES, SPANS, strict=True):
            shard = load_shard(model_dir, *span)
            signer = FrameSigner(hashlib.sha256(name.encode()).digest())
            self.servers[name] = await start_server(
                [HostedSpan(MODEL, shard)], "127.0.0.1:0", frame_signer=signer,
                metrics=self.metrics[name],
            )  # fmt: skip
        return self

    def hop(self, name: str, *, port: int | None = None) -> pb.Hop:
        span = SPANS[NAMES.index(name)]
        endpoint = f"127.0.0.1:{port or self.servers[name][2]}"
        return pb.Hop(endpoint=endpoint, layer_start=span[0], layer_end=span[1])

    def route(self, **ports: int) -> list[pb.Hop]:
        return [self.hop(name, port=ports.get(name)) for name in NAMES]

    async def generate(self, request: pb.GenerateRequest, on_first=None) -> list[pb.GenerateEvent]:
        events = []
        async with grpc.aio.insecure_channel(request.hops[0].endpoint) as channel:
            async for event in pb_grpc.PipelineStub(channel).Generate(request, timeout=120):
                if event.HasField("token") and not events and on_first is not None:
                    on_first()
                events.append(event)
        return events

    async def close(self) -> None:
        for server, service, _ in self.servers.values():
            await service.shutdown()  # type: ignore[attr-defined]
            await server.stop(grace=0.5)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def run_net(model_dir, scenario):
    """Start the three workers, run `scenario(net)`, stop them; returns (net, its result)."""

    async def main():
        net = await Net().start(model_dir)
        try:
            result = await scenario(net)
            await asyncio.sleep(0.3)  # the closes reach the other hops
            return net, result
        finally:
            await net.close()

    return asyncio.run(main())


# --- a served route --------------------------------------------------------------------------


def test_a_route_counts_tokens_rate_hop_latency_and_sessions(tiny_models):
    model_dir = tiny_models["llama"]
    during: dict[str, float] = {}

    async def scenario(net: Net):
        def on_first() -> None:  # while the route runs: one route and one session per hop
            during["routes"] = value(net.metrics["first"], "infera_worker_routes_active")
            for name in ("middle", "last"):
                during[name] = value(net.metrics[name], "infera_worker_sessions_active")

        request = generate_request(MODEL, net.route(), PROMPT, TOKENS, job_id=3)
        return await net.generate(request, on_first)

    net, events = run_net(model_dir, scenario)
    tokens = [e.token.token_id for e in events if e.HasField("token")]
    shards = [load_shard(model_dir, a, b) for a, b in SPANS]
    assert tokens == generate(shards, PROMPT, max_new_tokens=TOKENS, eos_ids=set()).tokens
    first, middle, last = (net.metrics[n] for n in NAMES)
    assert during == {"routes": 1.0, "middle": 1.0, "last": 1.0}
    # The driver: one completed route, its tokens, its rate and time to first token.
    assert value(first, "infera_worker_routes_total", outcome="completed") == 1
    assert value(first, "infera_worker_routes_active") == 0
    assert value(first, "infera_worker_tokens_total", role="driver") == TOKENS
    assert value(first, "infera_worker_route_tokens_per_second_count") == 1
    rate = value(first, "infera_worker_route_tokens_per_second_sum")
    done = events[-1].done
    assert done.total_us > 0 and rate == pytest.approx(TOKENS / (done.total_us / 1e6), rel=0.01)
    assert value(first, "infera_worker_route_first_token_seconds_count") == 1
    # The last hop chose every token; each later hop ran one prefill and TOKENS - 1 decodes.
    assert value(last, "infera_worker_tokens_total", role="last_hop") == TOKENS
    assert value(middle, "infera_worker_tokens_total", role="last_hop") == 0
    for hop in (middle, last):
        assert value(hop, "infera_worker_hop_forward_seconds_count", stage="prefill") == 1
        assert value(hop, "infera_worker_hop_forward_seconds_count", stage="decode") == TOKENS - 1
        assert value(hop, "infera_worker_hop_forward_seconds_sum", stage="decode") > 0
        assert value(hop, "infera_worker_sessions_ended_total", outcome="completed") == 1
        assert value(hop, "infera_worker_sessions_active") == 0
        assert value(hop, "infera_worker_frame_refusals_total", reason="malformed") == 0
    assert all(value(m, "infera_worker_metrics_errors_total") == 0 for m in net.metrics.values())


def test_a_dead_hop_counts_a_downstream_failure_and_a_failed_route(tiny_models):
    dead = free_port()  # nothing listens there

    async def scenario(net: Net):
        request = generate_request(
            MODEL, net.route(last=dead), PROMPT, 4, job_id=4, progress_timeout_ms=2000
        )
        return await net.generate(request)

    net, events = run_net(tiny_models["llama"], scenario)
    assert events[-1].HasField("error") and "hop 2" in events[-1].error.message
    first, middle = net.metrics["first"], net.metrics["middle"]
    assert value(first, "infera_worker_routes_total", outcome="failed") == 1
    assert value(first, "infera_worker_routes_total", outcome="completed") == 0
    assert value(first, "infera_worker_tokens_total", role="driver") == 0
    assert value(first, "infera_worker_routes_active") == 0
    assert value(middle, "infera_worker_errors_total", kind="downstream_failed") >= 1
    assert value(middle, "infera_worker_sessions_ended_total", outcome="aborted") == 1
    assert value(middle, "infera_worker_sessions_active") == 0


# --- refused frames --------------------------------------------------------------------------


def test_refused_frames_are_counted_by_reason(tiny_models):
    async def scenario(net: Net):
        key = pb.SessionKey(job_id=5, route_index=0)
        route = net.route()
        wrong_span = pb.OpenSession(session=key, model_id="other-model", hops=route, hop_index=2,
                                    codec="fp32", dtype="float32", progress_timeout_ms=[0, 0, 0])  # fmt: skip
        frames = [
            pb.HopFrame(),  # empty: malformed
            pb.HopFrame(hidden=pb.HiddenStates(session=key, shape=[1, 1, 8])),  # unknown session
            pb.HopFrame(close=pb.CloseSession(session=key)),  # unknown session
            pb.HopFrame(open=wrong_span),  # a model this hop does not serve: unsupported
        ]
        replies = []
        async with grpc.aio.insecure_channel(route[2].endpoint) as channel:
            call = pb_grpc.PipelineStub(channel).Stream(iter(frames), timeout=30)
            async for reply in call:
                replies.append(reply)
        return replies

    net, replies = run_net(tiny_models["llama"], scenario)
    codes = [r.error.code for r in replies]
    assert codes == [
        pb.ERROR_CODE_MALFORMED,
        pb.ERROR_CODE_UNKNOWN_SESSION,
        pb.ERROR_CODE_UNKNOWN_SESSION,
        pb.ERROR_CODE_UNSUPPORTED,
    ]
    last = net.metrics["last"]
    assert value(last, "infera_worker_frame_refusals_total", reason="malformed") == 1
    assert value(last, "infera_worker_frame_refusals_total", reason="unknown_session") == 2
    assert value(last, "infera_worker_frame_refusals_total", reason="unsupported") == 1
    assert value(last, "infera_worker_errors_total", kind="frame_internal") == 0


def test_an_internal_refusal_also_counts_as_an_error_and_unknown_labels_are_bounded():
    metrics = WorkerMetrics()
    metrics.frame_refused(pb.ERROR_CODE_INTERNAL)
    metrics.frame_refused(999)  # not an ErrorCode: one "other" label, never a new one
    metrics.error("made-up kind")
    assert value(metrics, "infera_worker_frame_refusals_total", reason="internal") == 1
    assert value(metrics, "infera_worker_errors_total", kind="frame_internal") == 1
    assert value(metrics, "infera_worker_frame_refusals_total", reason="other") == 1
    assert value(metrics, "infera_worker_errors_total", kind="other") == 1


# --- a broken metric -------------------------------------------------------------------------


class Broken:
    """Stands in for a metric whose every use raises."""

    def labels(self, **_labels):
        raise RuntimeError("broken metric")

    def inc(self, *_args):
        raise RuntimeError("broken metric")

    dec = observe = inc


def test_a_broken_metric_never_breaks_serving(tiny_models):
    model_dir = tiny_models["llama"]

    async def scenario(net: Net):
        for metrics in net.metrics.values():
            metrics.hop_forward = metrics.tokens = metrics.routes = Broken()  # type: ignore[assignment]
            metrics.routes_active = metrics.sessions_ended = Broken()  # type: ignore[assignment]
        return await net.generate(generate_request(MODEL, net.route(), PROMPT, TOKENS, job_id=6))

    net, events = run_net(model_dir, scenario)
    tokens = [e.token.token_id for e in events if e.HasField("token")]
    shards = [load_shard(model_dir, a, b) for a, b in SPANS]
    assert events[-1].HasField("done")
    assert tokens == generate(shards, PROMPT, max_new_tokens=TOKENS, eos_ids=set()).tokens
    for hop in ("middle", "last"):  # every frame's update failed, and the session's end
        assert value(net.metrics[hop], "infera_worker_metrics_errors_total") == TOKENS + 1
    first = net.metrics["first"]
    assert value(first, "infera_worker_metrics_errors_total") == 3  # active inc, dec, outcome


def test_a_broken_session_count_still_lets_the_registry_be_scraped():
    metrics = WorkerMetrics()
    metrics.watch_sessions(lambda: 1 // 0)
    text = generate_latest(metrics.registry).decode()
    assert "infera_worker_sessions_active 0.0" in text
    assert value(metrics, "infera_worker_metrics_errors_total") >= 1


# --- the HTTP endpoint and [metrics] in worker.toml ------------------------------------------


def test_metrics_are_served_over_http_in_the_prometheus_format():
    metrics = WorkerMetrics()
    metrics.frame_refused(pb.ERROR_CODE_BUSY)
    metrics.hop_forwarded(1, 0.02, token=True)
    metrics.watch_sessions(lambda: 3)
    port = free_port()
    metrics.serve(MetricsConfig(enable=True, listen=f"127.0.0.1:{port}"))
    try:
        assert metrics.port == port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    finally:
        metrics.close()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}  # fmt: skip
    assert samples[("infera_worker_frame_refusals_total", (("reason", "busy"),))] == 1
    assert samples[("infera_worker_tokens_total", (("role", "last_hop"),))] == 1
    assert samples[("infera_worker_sessions_active", ())] == 3
    assert samples[("infera_worker_hop_forward_seconds_count", (("stage", "decode"),))] == 1
    assert families["infera_worker_route_tokens_per_second"].type == "histogram"
    assert metrics.port == 0  # closed


def test_a_busy_metrics_address_is_a_clear_config_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = f"127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(
            MetricsError, match=r"metrics.listen: cannot serve metrics on .*worker.toml"
        ):
            WorkerMetrics().serve(MetricsConfig(enable=True, listen=busy))
    assert issubclass(MetricsError, ConfigError)


def test_metrics_are_not_served_unless_enabled():
    metrics = WorkerMetrics()
    metrics.serve(MetricsConfig())
    assert metrics.port == 0 and MetricsConfig().listen == "127.0.0.1:7071"


def _config(tmp_path, metrics):
    raw = {"key": "w", "models": [{"id": "m", "path": "model", "spans": [[0, 1]]}]}
    if metrics is not None:
        raw["metrics"] = metrics
    return parse_config(raw, base=tmp_path)


def test_worker_toml_metrics_table(tmp_path):
    assert _config(tmp_path, None).metrics == MetricsConfig(enable=False)
    config = _config(tmp_path, {"enable": True, "listen": "[::1]:9100"})
    assert config.metrics == MetricsConfig(enable=True, listen="[::1]:9100")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"listen": "localhost"}, "metrics.listen"),  # no port
        ({"listen": "127.0.0.1:70000"}, "metrics.listen"),  # port out of range
        ({"listen": "127.0.0.1:\u0661\u0662"}, "metrics.listen"),  # non-ASCII digits
        ({"enable": "yes"}, "metrics.enable: expected bool"),
        ({"enable": True, "port": 1}, "metrics: a table with enable and/or listen"),
        ("on", "metrics: a table"),
    ],
)
def test_worker_toml_rejects_a_bad_metrics_table(tmp_path, table, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, table)


# --- the worker lifecycle --------------------------------------------------------------------


def test_worker_counts_jobs_by_outcome_and_refuses_a_busy_metrics_port(tmp_path):
    import dataclasses

    from inference_worker.node.worker import Worker
    from inference_worker.verify import commits

    config = dataclasses.replace(_config(tmp_path, None), state_dir=tmp_path / "state")
    worker = Worker(config)
    record = commits.JobRecord(7, 0, 1)
    worker._abandon(record, "the commit window closed")
    worker._save(commits.JobRecord(8, 0, 1).advance(commits.COMMITTED))  # not an outcome
    assert value(worker.metrics, "infera_worker_jobs_total", outcome="revealed") == 0
    worker._save(commits.JobRecord(8, 0, 1).advance(commits.REVEALED))
    assert value(worker.metrics, "infera_worker_jobs_total", outcome="abandoned") == 1
    assert value(worker.metrics, "infera_worker_jobs_total", outcome="revealed") == 1
    with socket.socket() as sock:  # run() serves [metrics] first: a busy port stops it at once
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = MetricsConfig(enable=True, listen=f"127.0.0.1:{sock.getsockname()[1]}")
        worker = Worker(dataclasses.replace(config, metrics=busy))
        with pytest.raises(MetricsError, match="cannot serve metrics"):
            asyncio.run(worker.run())


class RunChain:
    """Just enough of ChainLink for Worker.run: the model, an already registered worker."""

    def __init__(self, model, endpoint: str) -> None:
        self.address = "infera1worker"
        self.wallet = _Wallet()
        self._model, self._endpoint = model, endpoint

    def model(self, model_id):
        return self._model

    def worker(self):
        span = type("Span", (), {"model_id": "tiny", "start": 0, "end": 5})
        return type("Registered", (), {"endpoint": self._endpoint, "spans": [span]})

    def height(self) -> int:
        return 1

    async def watch_assignments(self, since, on_assignment, on_height) -> None:
        await asyncio.Future()  # no jobs

    def close(self) -> None:
        pass


class _Wallet:
    def signer(self):
        return type("Signer", (), {"private_key_bytes": hashlib.sha256(b"run").digest()})


def test_a_running_worker_serves_its_metrics_over_http(tmp_path, tiny_models, monkeypatch):
    """Worker.run with [metrics] on: a Generate through its Pipeline service shows on GET
    /metrics (the worker's own registry, passed to its server)."""
    import dataclasses

    from inference_worker.node import worker as worker_module
    from inference_worker.node.config import ModelConfig
    from tests.inference_worker.node.test_worker import chain_model

    model_dir = tiny_models["llama"]
    listen, metrics_port = f"127.0.0.1:{free_port()}", free_port()
    config = dataclasses.replace(
        _config(tmp_path, {"enable": True, "listen": f"127.0.0.1:{metrics_port}"}),
        models=(ModelConfig("tiny", model_dir, ((0, 5),)),),
        listen=listen,
        state_dir=tmp_path / "state",
    )
    chain = RunChain(chain_model(model_dir), listen)
    monkeypatch.setattr(worker_module, "ChainLink", lambda **_kw: chain)
    monkeypatch.setattr(worker_module, "_load_wallet", lambda _config: None)

    def scrape() -> dict:
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as reply:
            text = reply.read().decode()
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for f in text_string_to_metric_families(text) for s in f.samples}  # fmt: skip

    async def scenario():
        worker = worker_module.Worker(config)
        stop = asyncio.Event()
        running = asyncio.ensure_future(worker.run(stop))
        await asyncio.sleep(0)  # run() serves /metrics, then awaits the spans' loading
        try:
            before = await asyncio.to_thread(scrape)  # served while the model loads
            while worker.server is None:
                await asyncio.sleep(0.05)
            hop = pb.Hop(worker=chain.address, endpoint=listen, layer_start=0, layer_end=5)
            events = []
            async with grpc.aio.insecure_channel(listen) as channel:
                request = generate_request(MODEL, [hop], PROMPT, 5, job_id=40)
                async for event in pb_grpc.PipelineStub(channel).Generate(request, timeout=60):
                    events.append(event)
            return before, events, await asyncio.to_thread(scrape)
        finally:
            stop.set()
            await running

    before, events, after = asyncio.run(scenario())
    assert events[-1].HasField("done"), events[-1]
    assert before[("infera_worker_routes_active", ())] == 0  # served, nothing counted yet
    assert ("infera_worker_routes_total", (("outcome", "completed"),)) not in before
    assert after[("infera_worker_routes_total", (("outcome", "completed"),))] == 1
    assert after[("infera_worker_tokens_total", (("role", "driver"),))] == 5
    with pytest.raises(OSError):  # stopped with the worker
        scrape()
