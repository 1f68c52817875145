"""The worker's acceleration on networked routes (accel/hop.py): three in-process gRPC servers
(tiny llama, signed frames), the route driven by `route.drive_route` from the first server.

Accelerated sessions give the plain path's tokens, every hop really reuses the prefix of an
earlier job, and the route's evidence (signed frames, late fingerprints) still verifies; the
options that cannot run on a route or would change the job's numbers are typed errors."""

from __future__ import annotations

import asyncio
import hashlib

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import pytest
import structlog
import torch

from chain.crypto import to_bech32
from inference_worker.accel.hop import (
    HopAccelerator,
    StatePrefixStore,
    check_route_setting,
    route_options,
    token_key,
)
from inference_worker.accel.methods import AccelError, MethodRefusedError, NotApplicableError
from inference_worker.accel.run import MIN_SHARED_PREFIX
from inference_worker.pipeline.frames import EvidenceStatus, FrameSigner
from inference_worker.pipeline.generate import Sampling, generate
from inference_worker.pipeline.placement import HopSpec
from inference_worker.pipeline.route import DecodingSpec, RouteRequest, RouteResult, drive_route
from inference_worker.pipeline.server import HostedSpan, SessionRecord, start_server
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.evidence import RouteClaim, hop_claim_from_reveal
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.verifier import ReferenceModel, verify_route

MODEL = "tiny"
SPANS = ((0, 2), (2, 4), (4, 5))
DOC = [3, 17, 42, 8, 91, 23, 5, 61, 77, 14, 2, 38, 90, 11, 64, 29, 50, 7]  # shared prefix
QUESTIONS = ([12, 31, 4], [45, 6, 88, 19])
NAMES = ("first", "middle", "last")
GREEDY = DecodingSpec()


def key(name: str) -> FrameSigner:
    return FrameSigner(hashlib.sha256(name.encode()).digest())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


class Route:
    """Three signed servers, one per span; `accel` (one per worker) on every span or none."""

    def __init__(self, model_dir, accels) -> None:
        self.model_dir = model_dir
        self.accels = accels
        self.records: list[SessionRecord] = []
        self.servers: list = []
        self.shards = [load_shard(model_dir, a, b) for a, b in SPANS]

    async def start(self) -> Route:
        for name, shard, accel in zip(NAMES, self.shards, self.accels, strict=True):
            self.servers.append(
                await start_server(
                    [HostedSpan(MODEL, shard, accel=accel)],
                    "127.0.0.1:0",
                    on_session_done=self.records.append,
                    frame_signer=key(name),
                    require_signed_frames=True,
                )  # fmt: skip
            )
        return self

    def hops(self) -> tuple[HopSpec, ...]:
        return tuple(
            HopSpec(to_bech32(key(n).address), f"127.0.0.1:{port}", a, b)
            for n, (_, _, port), (a, b) in zip(NAMES, self.servers, SPANS, strict=True)
        )

    async def drive(
        self, job_id: int, prompt: list[int], n: int, decoding: DecodingSpec = GREEDY
    ) -> RouteResult:
        _, service, _ = self.servers[0]
        request = RouteRequest(
            job_id=job_id, route_index=0, model_id=MODEL, hops=self.hops(),
            prompt_ids=tuple(prompt), max_new_tokens=n, decoding=decoding,
        )  # fmt: skip
        return await drive_route(
            self.shards[0], request, channels=service.channels, executor=service.executor,
            signer=service.frame_signer, accel=self.accels[0],
        )  # fmt: skip

    async def close(self) -> None:
        for server, service, _ in self.servers:
            await service.shutdown()
            await server.stop(grace=0.5)


def _jobs(model_dir, accels, decoding=GREEDY, n=12):
    """Job 1 (DOC + question 0), then job 2 (DOC + question 1) through one route."""

    async def scenario():
        route = await Route(model_dir, accels).start()
        try:
            results = [
                await route.drive(j + 1, DOC + q, n, decoding) for j, q in enumerate(QUESTIONS)
            ]
            await asyncio.sleep(0.3)  # the closes reach the other hops
            return route, results
        finally:
            await route.close()

    return asyncio.run(scenario())


def _plain(shards, prompt, n, sampling=None):
    return generate(shards, prompt, max_new_tokens=n, eos_ids=set(), sampling=sampling).tokens


def _verify(model_dir, route: Route, job_id: int, result: RouteResult, prompt) -> None:
    reveals = {r.hop_index: r.fingerprint for r in route.records if r.job_id == job_id}
    reveals[0] = result.fingerprint
    claim = RouteClaim(
        prompt_ids=tuple(prompt), tokens=tuple(result.tokens), max_new_tokens=len(result.tokens),
        probe_seed=derive_probe_seed(job_id), job_id=job_id, route_index=0,
        hops=tuple(
            hop_claim_from_reveal(h.start, h.end, torch.float32, reveals[k], worker=h.worker)
            for k, h in enumerate(route.hops())
        ),
    )  # fmt: skip
    verdict = verify_route(ReferenceModel.load(model_dir), claim)
    assert verdict.ok and verdict.culprit_hop is None, verdict
    assert [c.evidence for c in verdict.hops][1:] == [EvidenceStatus.VALID] * 2


def test_prefix_and_threads_on_every_hop_give_plain_tokens_and_verifiable_evidence(tiny_models):
    model_dir = tiny_models["llama"]
    accels = [HopAccelerator("fixed:prefix/t1") for _ in NAMES]  # one per worker
    route, results = _jobs(model_dir, accels)
    for q, result in zip(QUESTIONS, results, strict=True):
        assert result.tokens == _plain(route.shards, DOC + q, 12)
    for accel, shard in zip(accels, route.shards, strict=True):  # job 2 hit on every hop
        store = accel.store_for(shard)
        assert (store.hits, store.reused_tokens) == (1, len(DOC)), shard.span_start
    for job_id, (q, result) in enumerate(zip(QUESTIONS, results, strict=True), start=1):
        _verify(model_dir, route, job_id, result, DOC + q)


def test_seeded_sampling_with_prefix_reuse_matches_plain(tiny_models):
    model_dir = tiny_models["llama"]
    decoding = DecodingSpec(sample=True, temperature_milli=900, top_k=20, seed=77)
    accels = [HopAccelerator("fixed:prefix") for _ in NAMES]
    route, results = _jobs(model_dir, accels, decoding)
    sampling = Sampling(seed=77, temperature=0.9, top_k=20)
    assert results[1].tokens == _plain(route.shards, DOC + QUESTIONS[1], 12, sampling)
    assert accels[2].store_for(route.shards[2]).hits == 1


def test_auto_chooses_a_route_option_per_session_logs_why_and_matches_plain(tiny_models):
    model_dir = tiny_models["llama"]
    accel = HopAccelerator("auto")  # fitted once, shared by the three in-process "workers"
    with structlog.testing.capture_logs() as logs:
        route, results = _jobs(model_dir, [accel] * 3)
    for q, result in zip(QUESTIONS, results, strict=True):
        assert result.tokens == _plain(route.shards, DOC + q, 12)
    chosen = [e for e in logs if e["event"] == "accel.hop_session"]
    assert sorted((e["job"], e["hop"]) for e in chosen) == [
        (j, h) for j in (1, 2) for h in range(3)
    ]
    assert all(e["option"] in route_options() for e in chosen)
    assert all(e["why"].startswith("auto: predicted") for e in chosen)


def test_a_plain_setting_leaves_the_route_as_it_was(tiny_models):
    model_dir = tiny_models["llama"]
    accels = [HopAccelerator("plain") for _ in NAMES]
    route, results = _jobs(model_dir, accels)
    assert results[1].tokens == _plain(route.shards, DOC + QUESTIONS[1], 12)
    assert all(not a.store_for(s).entries for a, s in zip(accels, route.shards, strict=True))


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ("fixed:bf16", MethodRefusedError),  # LOSSY: a route's job class is EXACT
        ("fixed:int8mix/t1", MethodRefusedError),
        ("fixed:static", NotApplicableError),  # later hops do not know the output length
        ("fixed:static/t1", NotApplicableError),
        ("fixed:nope", AccelError),
        ("sometimes", AccelError),
    ],
)
def test_settings_a_route_cannot_apply_are_typed_errors(setting, error):
    with pytest.raises(error) as raised:
        check_route_setting(setting)
    assert raised.value.code == error.code


def test_route_settings_that_apply():
    for setting in ("plain", "auto", "fixed:plain/t1", "fixed:prefix", "fixed:pld10/t1"):
        assert check_route_setting(setting) == setting
    assert set(route_options()) == {"plain/t2", "plain/t1", "prefix/t2", "prefix/t1"}
    lookup = {"pld4/t2", "pld10/t2", "prefix_pld10/t2", "pld10/t1"}
    assert set(route_options(one_hop=True)) == set(route_options()) | lookup


def test_the_prefix_store_reuses_only_bit_identical_leading_rows():
    from transformers import DynamicCache

    from inference_worker.pipeline.shard import SessionCache

    def cache(n: int) -> SessionCache:
        kv = DynamicCache()
        kv.update(torch.ones(1, 1, n, 2), torch.ones(1, 1, n, 2), 0)
        return SessionCache(kv=kv, first_layer=0)

    rows = torch.randn(20, 4)
    store = StatePrefixStore(max_entries=2)
    store.put(rows, cache(20), rows.unsqueeze(0) * 2, rows.unsqueeze(0) * 3)
    other = rows.clone()
    other[12, 3] = torch.nextafter(other[12, 3], torch.tensor(10.0))  # one bit, row 12
    hit = store.take(other)
    assert hit is not None and hit.length == 12 and hit.cache.seen_tokens == 12
    assert torch.equal(hit.sent[0], rows[:12] * 2) and torch.equal(hit.reported[0], rows[:12] * 3)
    early = rows.clone()
    early[MIN_SHARED_PREFIX - 1] += 1  # fewer than MIN_SHARED_PREFIX rows shared: a miss
    assert store.take(early) is None
    assert store.take(rows) is not None and store.take(rows).length == 19  # one row always runs
    assert store.take(token_key(range(20))) is None  # token ids never match hidden rows
    assert store.entries[0].kv.seen_tokens == 20  # a hit copies; the stored cache is intact


def test_a_sealed_job_neither_uses_nor_fills_the_prefix_store(tiny_models):
    shard = load_shard(tiny_models["llama"], 0, 5)
    accel = HopAccelerator("fixed:prefix")
    ids = DOC + QUESTIONS[0]
    sealed = accel.session(shard, token_key(ids), session=(1, 0), hop=0, private=True)
    public = accel.session(shard, token_key(ids), session=(2, 0), hop=0)
    assert sealed.store is None and public.store is accel.store_for(shard)


def test_a_lossy_method_is_refused_per_session_too(tiny_models):
    shard = load_shard(tiny_models["llama"], 0, 5)
    accel = HopAccelerator("plain")
    accel.setting = "fixed:bf16"  # as if the startup check had been bypassed
    with pytest.raises(MethodRefusedError) as raised:
        accel.session(shard, token_key(DOC), session=(3, 0), hop=0)
    assert raised.value.code == 2


def test_a_worker_set_to_auto_drives_a_job_through_the_route_with_the_plain_tokens(
    tmp_path, tiny_models
):
    """The Worker's own wiring (node/worker.py): acceleration from its config onto its spans
    and into the route it drives; the later hops are Workers with a fixed setting."""
    from infera.inference.v1 import types_pb2 as inference_types
    from inference_worker.node.config import ModelConfig, WorkerConfig
    from inference_worker.node.worker import Worker
    from tests.inference_worker.node.test_worker import ADDRESS, ModelChain, chain_model

    model_dir = tiny_models["llama"]
    settings = ("auto", "fixed:prefix/t1", "fixed:prefix")
    workers = []
    for k, (setting, span) in enumerate(zip(settings, SPANS, strict=True)):
        config = WorkerConfig(
            models=(ModelConfig(MODEL, model_dir, (span,)),), key="k", state_dir=tmp_path / f"w{k}",
            acceleration=setting,
        )  # fmt: skip
        worker = Worker(config)
        worker.chain = ModelChain(chain_model(model_dir))  # type: ignore[assignment]
        worker.spans = worker._load_spans()
        assert worker.spans[0].accel is worker.accel is not None
        workers.append(worker)

    async def scenario():
        started = []
        for name, worker in zip(NAMES, workers, strict=True):
            started.append(
                await start_server(
                    worker.spans, "127.0.0.1:0", frame_signer=key(name), require_signed_frames=True
                )
            )
        workers[0].server = started[0][1]
        try:
            out = []
            for job_id, q in enumerate(QUESTIONS, start=1):
                job = inference_types.Job(
                    id=job_id, submitter=ADDRESS, model_id=MODEL, prompt=bytes(DOC + q),
                    max_new_tokens=12, seed=bytes(8),
                )  # fmt: skip
                job.decoding.mode = inference_types.DECODING_MODE_GREEDY
                job.routes.add().hops.extend(
                    inference_types.Hop(
                        worker=to_bech32(key(n).address),
                        layer_start=a,
                        layer_end=b,
                        endpoint=f"127.0.0.1:{port}",
                    )  # fmt: skip
                    for n, (_, _, port), (a, b) in zip(NAMES, started, SPANS, strict=True)
                )
                out.append(await workers[0]._drive(job, 0))
            return out
        finally:
            for server, service, _ in started:
                await service.shutdown()
                await server.stop(grace=0.5)

    with structlog.testing.capture_logs() as logs:
        results = asyncio.run(scenario())
    shards = [load_shard(model_dir, a, b) for a, b in SPANS]
    for q, result in zip(QUESTIONS, results, strict=True):
        assert result.tokens == generate(shards, DOC + q, max_new_tokens=12).tokens
    chosen = {(e["job"], e["hop"]): e for e in logs if e["event"] == "accel.hop_session"}
    assert chosen[(1, 0)]["why"].startswith("auto: predicted")
    assert chosen[(2, 1)]["option"] == "prefix/t1" and chosen[(2, 2)]["option"] == "prefix"
    for worker in workers[1:]:  # the later hops reused job 1's prefix for job 2
        assert worker.accel.store_for(worker.spans[0].shard).hits == 1


def test_a_worker_refuses_to_start_with_a_setting_routes_cannot_apply(tmp_path):
    from inference_worker.node.config import WorkerConfig
    from inference_worker.node.worker import Worker, WorkerError

    for setting, code in (("fixed:bf16", 2), ("fixed:static/t1", 3)):
        config = WorkerConfig(models=(), key="k", state_dir=tmp_path, acceleration=setting)
        with pytest.raises(WorkerError, match=f"code {code}"):
            Worker(config)
    assert Worker(WorkerConfig(models=(), key="k", state_dir=tmp_path)).accel is None


# --- prompt lookup on a one-hop route ---------------------------------------------------------


def _one_hop(model_dir, accel, prompt, n, decoding=GREEDY, job_id=7, eos=()):
    """A route of one hop (the driver serves every layer): no frames, its own fingerprint."""
    from concurrent.futures import ThreadPoolExecutor

    from inference_worker.pipeline.link import ChannelPool

    shard = load_shard(model_dir, 0, load_shard(model_dir, 0, 1).num_layers)
    hops = (HopSpec("solo", "127.0.0.1:1", shard.span_start, shard.span_end),)
    request = RouteRequest(
        job_id=job_id, route_index=0, model_id=MODEL, hops=hops, prompt_ids=tuple(prompt),
        max_new_tokens=n, decoding=decoding, eos_ids=frozenset(eos),
    )  # fmt: skip
    steps: list[int] = []
    original = shard.head
    shard.head = lambda h, **kw: steps.append(h.shape[1]) or original(h, **kw)  # type: ignore[method-assign]

    async def scenario():
        channels = ChannelPool(1 << 20)
        try:
            return await drive_route(
                shard, request, channels=channels, executor=ThreadPoolExecutor(1), accel=accel
            )
        finally:
            await channels.close()

    result = asyncio.run(scenario())
    shard.head = original  # type: ignore[method-assign]
    return shard, result, steps


@pytest.mark.parametrize(
    "decoding", [GREEDY, DecodingSpec(sample=True, temperature_milli=700, top_k=8, seed=5)]
)
def test_prompt_lookup_on_a_one_hop_route_gives_plain_tokens_and_a_verifiable_fingerprint(
    tiny_models, decoding
):
    model_dir = tiny_models["gpt2"]
    accel = HopAccelerator("fixed:pld10")
    shard, result, steps = _one_hop(model_dir, accel, [40], 40, decoding)
    plain = _plain([shard], [40], 40, decoding.sampling())
    assert result.tokens == plain
    assert max(steps[1:]) > 1  # verify passes over several positions did run
    claim = RouteClaim(
        prompt_ids=(40,), tokens=tuple(result.tokens), max_new_tokens=40,
        probe_seed=derive_probe_seed(7), job_id=7, route_index=0, sampling=decoding.sampling(),
        hops=(hop_claim_from_reveal(0, shard.span_end, torch.float32, result.fingerprint),),
    )  # fmt: skip
    verdict = verify_route(ReferenceModel.load(model_dir), claim)
    assert verdict.ok and verdict.culprit_hop is None, verdict


def test_a_wrong_fingerprint_from_a_one_hop_lookup_route_is_caught(tiny_models):
    """The verification above can fail: the same claim with another job's tokens does not pass."""
    model_dir = tiny_models["gpt2"]
    shard, result, _ = _one_hop(model_dir, HopAccelerator("fixed:pld10"), [40], 40)
    other = list(result.tokens)
    other[5] = (other[5] + 1) % int(shard.config.vocab_size)
    claim = RouteClaim(
        prompt_ids=(40,), tokens=tuple(other), max_new_tokens=40, probe_seed=derive_probe_seed(7),
        job_id=7, route_index=0,
        hops=(hop_claim_from_reveal(0, shard.span_end, torch.float32, result.fingerprint),),
    )  # fmt: skip
    assert not verify_route(ReferenceModel.load(model_dir), claim).ok


def test_prompt_lookup_stops_at_a_stop_token_and_the_limit(tiny_models):
    model_dir = tiny_models["gpt2"]
    _, result, _ = _one_hop(model_dir, HopAccelerator("fixed:pld4/t1"), [40], 40)
    stop = result.tokens[9]
    shard, stopped, _ = _one_hop(model_dir, HopAccelerator("fixed:pld10"), [40], 40, eos={stop})
    assert stopped.tokens == result.tokens[: result.tokens.index(stop) + 1]
    assert stopped.tokens == generate([shard], [40], max_new_tokens=40, eos_ids={stop}).tokens
    assert stopped.stopped_at_eos
    for n in (1, 2, 7, 13):
        _, limited, _ = _one_hop(model_dir, HopAccelerator("fixed:pld10"), [40], n)
        assert limited.tokens == result.tokens[:n]


def test_prompt_lookup_on_a_multi_hop_route_runs_without_drafts(tiny_models):
    model_dir = tiny_models["llama"]
    accels = [HopAccelerator("fixed:pld10/t1") for _ in NAMES]
    with structlog.testing.capture_logs() as logs:
        route, results = _jobs(model_dir, accels)
    assert results[0].tokens == _plain(route.shards, DOC + QUESTIONS[0], 12)
    chosen = [e for e in logs if e["event"] == "accel.hop_session"]
    assert chosen and all("no drafts on this hop" in e["why"] for e in chosen)
