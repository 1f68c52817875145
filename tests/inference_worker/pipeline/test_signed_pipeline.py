"""Signed frames through the real gRPC pipeline (three in-process servers, tiny llama): honest
routes carry verifiable evidence, a hop that lies in its fingerprint is refused at the next hop
and replaced, other sessions on that hop go on, and the worker key must be the route's."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc
import pytest
import torch

from chain.crypto import to_bech32
from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from inference_worker.pipeline.frames import EvidenceStatus, FrameSigner
from inference_worker.pipeline.generate import generate
from inference_worker.pipeline.server import HostedSpan, ServerLimits, SessionRecord, start_server
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from inference_worker.verify.evidence import RouteClaim, hop_claim_from_reveal
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.reveal import decode_reveal
from inference_worker.verify.verifier import ReferenceModel, verify_route
from tests.inference_worker.pipeline_harness import generate_request

MODEL = "tiny"
SPANS = ((0, 2), (2, 4), (4, 5))
PROMPT = [1, 5, 9, 22, 7, 3]
LIE = ComputeAttack(ComputeMode.LIE_FINGERPRINT, noise_std=0.05, seed=3)


def key(name: str) -> FrameSigner:
    return FrameSigner(hashlib.sha256(name.encode()).digest())


class Net:
    """Servers by name; each hop is named by its key's bech32 address on routes."""

    def __init__(self) -> None:
        self.servers: dict[str, tuple[grpc.aio.Server, object, int]] = {}
        self.records: list[SessionRecord] = []
        self.addresses: dict[str, str] = {}

    async def add(
        self, model_dir, name, span, *, attack=None, signer_name=None, require=True, limits=None
    ):
        shard = load_adversarial_shard(model_dir, *span, attack or ComputeAttack())
        signer = key(signer_name or name)
        self.addresses[name] = to_bech32(key(name).address)
        self.servers[name] = await start_server(
            [HostedSpan(MODEL, shard)], "127.0.0.1:0", limits, on_session_done=self.records.append,
            frame_signer=signer, require_signed_frames=require,
        )  # fmt: skip

    def hop(self, name: str, span) -> pb.Hop:
        port = self.servers[name][2]
        return pb.Hop(worker=self.addresses[name], endpoint=f"127.0.0.1:{port}",
                      layer_start=span[0], layer_end=span[1])  # fmt: skip

    async def generate(self, request: pb.GenerateRequest) -> tuple[list[int], pb.GenerateEvent]:
        first = request.hops[0].endpoint
        tokens, last = [], pb.GenerateEvent()
        async with grpc.aio.insecure_channel(first) as channel:
            async for event in pb_grpc.PipelineStub(channel).Generate(request, timeout=120):
                if event.HasField("token"):
                    tokens.append(event.token.token_id)
                last = event
        return tokens, last

    async def close(self) -> None:
        for server, service, _ in self.servers.values():
            await service.shutdown()  # type: ignore[attr-defined]
            await server.stop(grace=0.5)


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


async def _net(model_dir, **middles) -> Net:
    net = Net()
    await net.add(model_dir, "first", SPANS[0])
    for name, options in {"middle": {}, **middles}.items():
        await net.add(model_dir, name, SPANS[1], **options)
    await net.add(model_dir, "last", SPANS[2])
    return net


def test_an_honest_signed_route_reveals_evidence_that_verifies(tiny_models):
    model_dir = tiny_models["llama"]

    async def scenario():
        net = await _net(model_dir)
        try:
            route = [net.hop("first", SPANS[0]), net.hop("middle", SPANS[1]),
                     net.hop("last", SPANS[2])]  # fmt: skip
            tokens, done = await net.generate(generate_request(MODEL, route, PROMPT, 16, job_id=9))
            await asyncio.sleep(0.3)  # the closes reach the other hops
            return net, route, tokens, done
        finally:
            await net.close()

    net, route, tokens, done = run(scenario())
    shards = [load_shard(model_dir, a, b) for a, b in SPANS]
    assert done.HasField("done"), done
    assert tokens == generate(shards, PROMPT, max_new_tokens=16, eos_ids=set()).tokens
    reveals = {r.hop_index: r.fingerprint for r in net.records if r.job_id == 9}
    assert sorted(reveals) == [1, 2]  # hop 0's reveal is the driver's RouteResult
    claim = RouteClaim(
        prompt_ids=tuple(PROMPT), tokens=tuple(tokens), max_new_tokens=16,
        probe_seed=derive_probe_seed(9), job_id=9, route_index=0,
        hops=tuple(
            hop_claim_from_reveal(h.layer_start, h.layer_end, torch.float32,
                                  reveals.get(k, _driver_reveal(model_dir, tokens)), worker=h.worker)
            for k, h in enumerate(route)
        ),
    )  # fmt: skip
    verdict = verify_route(ReferenceModel.load(model_dir), claim)
    assert verdict.ok and verdict.culprit_hop is None
    assert [c.source for c in verdict.hops] == ["signed", "signed", "own"]
    assert [c.evidence for c in verdict.hops][1:] == [EvidenceStatus.VALID] * 2
    # The receivers kept the sender's signed rows: what hop 1 received is hop 0's output.
    assert claim.hops[1].received is not None and claim.hops[1].received.positions == 21


def _driver_reveal(model_dir, tokens) -> bytes:
    """Hop 0's own fingerprint, as its RouteResult reveals it (recomputed in process)."""
    from inference_worker.verify.evidence import generate_claim, reveal_payload

    shards = [load_shard(model_dir, a, b) for a, b in SPANS]
    claim = generate_claim(shards, PROMPT, max_new_tokens=len(tokens), probe_seed=derive_probe_seed(9), eos_ids=set())  # fmt: skip
    return reveal_payload(replace(claim, hops=claim.hops[:1]), 0)


def test_a_hop_lying_in_its_fingerprint_is_refused_and_replaced_while_other_sessions_go_on(
    tiny_models,
):
    model_dir = tiny_models["llama"]

    async def scenario():
        net = await _net(model_dir, liar={"attack": LIE}, spare={})
        try:
            first, last = net.hop("first", SPANS[0]), net.hop("last", SPANS[2])
            liar, spare = net.hop("liar", SPANS[1]), net.hop("spare", SPANS[1])
            middle = net.hop("middle", SPANS[1])
            lying = generate_request(MODEL, [first, liar, last], PROMPT, 16, job_id=20)
            replaced = generate_request(MODEL, [first, liar, last], PROMPT, 16, job_id=21,
                                        candidates=[spare])  # fmt: skip
            honest = generate_request(MODEL, [first, middle, last], PROMPT, 64, job_id=22)
            return await asyncio.gather(
                net.generate(lying), net.generate(replaced), net.generate(honest)
            )
        finally:
            await net.close()

    (lying, lying_end), (replaced, replaced_end), (honest, honest_end) = run(scenario())
    shards = [load_shard(model_dir, a, b) for a, b in SPANS]
    expected = generate(shards, PROMPT, max_new_tokens=64, eos_ids=set()).tokens
    # No candidate: the route fails, naming the liar and why.
    assert lying == [] and lying_end.HasField("error")
    assert "hop 1" in lying_end.error.message
    assert "signed fingerprint rows differ from the states its payload decodes to" in (
        lying_end.error.message
    )
    # A candidate: the liar is replaced and the output is the honest one.
    assert replaced_end.HasField("done") and replaced_end.done.replacements == 1
    assert replaced == expected[:16]
    # The other session on the same last hop never noticed.
    assert honest_end.HasField("done") and honest == expected


def test_frames_signed_by_another_key_or_unsigned_are_refused(tiny_models):
    model_dir = tiny_models["llama"]

    async def scenario():
        net = await _net(model_dir, impostor={"signer_name": "someone-else"})
        unsigned = Net()
        await unsigned.add(model_dir, "first", SPANS[0])
        service = unsigned.servers["first"][1]
        service.frame_signer = None  # type: ignore[attr-defined]
        try:
            first, last = net.hop("first", SPANS[0]), net.hop("last", SPANS[2])
            impostor = net.hop("impostor", SPANS[1])
            wrong_key = generate_request(MODEL, [first, impostor, last], PROMPT, 8, job_id=30)
            bare = unsigned.hop("first", SPANS[0])
            no_sig = generate_request(
                MODEL, [bare, net.hop("middle", SPANS[1]), last], PROMPT, 8, job_id=31
            )
            return await asyncio.gather(net.generate(wrong_key), unsigned.generate(no_sig))
        finally:
            await net.close()
            await unsigned.close()

    (tokens, end), (bare_tokens, bare_end) = run(scenario())
    assert tokens == [] and "hop 1" in end.error.message
    assert "signed by another worker than the route's hop" in end.error.message
    assert bare_tokens == [] and "unsigned, and this hop requires signed frames" in (
        bare_end.error.message
    )


# --- late evidence --------------------------------------------------------------------------


def _driver_reveal_of(model_dir, tokens, attack: ComputeAttack) -> bytes:
    """Hop 0's reveal for a route whose middle hop runs `attack` (recomputed in process)."""
    from inference_worker.verify.evidence import generate_claim, reveal_payload

    shards = [load_adversarial_shard(model_dir, a, b, attack if i == 1 else ComputeAttack())
              for i, (a, b) in enumerate(SPANS)]  # fmt: skip
    claim = generate_claim(shards, PROMPT, max_new_tokens=len(tokens), probe_seed=derive_probe_seed(40), eos_ids=set())  # fmt: skip
    return reveal_payload(replace(claim, hops=claim.hops[:1]), 0)


def test_a_cheat_orthogonal_to_the_public_probes_passes_the_frames_and_is_named_late(
    tiny_models,
):
    model_dir = tiny_models["llama"]
    attack = ComputeAttack(
        ComputeMode.PROBE_ORTHOGONAL, noise_std=0.1, seed=5, probe_seed=derive_probe_seed(40)
    )

    async def scenario():
        net = await _net(model_dir, cheat={"attack": attack})
        try:
            route = [net.hop("first", SPANS[0]), net.hop("cheat", SPANS[1]),
                     net.hop("last", SPANS[2])]  # fmt: skip
            tokens, done = await net.generate(generate_request(MODEL, route, PROMPT, 16, job_id=40))
            await asyncio.sleep(0.3)
            return net, route, tokens, done
        finally:
            await net.close()

    net, route, tokens, done = run(scenario())
    assert done.HasField("done") and done.done.replacements == 0  # every frame was accepted
    reveals = {r.hop_index: r.fingerprint for r in net.records if r.job_id == 40}
    assert sorted(reveals) == [1, 2]
    reveals[0] = _driver_reveal_of(model_dir, tokens, attack)
    claim = RouteClaim(
        prompt_ids=tuple(PROMPT), tokens=tuple(tokens), max_new_tokens=16,
        probe_seed=derive_probe_seed(40), job_id=40, route_index=0,
        hops=tuple(hop_claim_from_reveal(h.layer_start, h.layer_end, torch.float32, reveals[k],
                                         worker=h.worker) for k, h in enumerate(route)),
    )  # fmt: skip
    verdict = verify_route(ReferenceModel.load(model_dir), claim)
    assert not verdict.ok and verdict.culprit_hop == 1
    assert verdict.hops[1].source == "signed" and verdict.hops[2].evidence is EvidenceStatus.VALID


def _patch_late(service, change) -> None:
    """Make a hop's service change its late evidence before sending it (`change(session)`)."""
    original = service._finish_late

    async def finish(session, output_hash):
        change(session, output_hash)
        return await original(session, output_hash)

    service._finish_late = finish


def _withhold(session, output_hash) -> None:
    session.sender = None  # sends no late evidence


def _tamper(session, output_hash) -> None:
    real = session.sender.seal_late

    def seal_late(h):
        seal = real(h)
        rows = bytearray(seal.rows)
        rows[0] ^= 0x40  # the first position's log-RMS code, far beyond one step
        return type(seal)(rows=bytes(rows), signature=seal.signature)

    session.sender.seal_late = seal_late


@pytest.mark.parametrize("change", [_withhold, _tamper])
def test_a_hop_whose_sender_withholds_or_garbles_late_evidence_still_reveals_without_it(
    tiny_models, change
):
    """Refusing to finish would leave the receiver and every hop after it uncommitted (slashed
    as absent) for the sender's fault; instead they reveal, the last hop without the sender's
    evidence, and the verifier names nobody at that boundary
    (test_evidence_attribution: a missing late evidence never names the receiver)."""
    model_dir = tiny_models["llama"]

    async def scenario():
        net = await _net(model_dir)
        _patch_late(net.servers["middle"][1], change)
        try:
            route = [net.hop("first", SPANS[0]), net.hop("middle", SPANS[1]),
                     net.hop("last", SPANS[2])]  # fmt: skip
            tokens, done = await net.generate(generate_request(MODEL, route, PROMPT, 8, job_id=50))
            await asyncio.sleep(0.5)
            return net, tokens, done
        finally:
            await net.close()

    net, tokens, done = run(scenario())
    assert done.HasField("done") and len(tokens) == 8  # the output was already delivered
    records = {r.hop_index: r for r in net.records if r.job_id == 50}
    assert sorted(records) == [1, 2]  # both receiving hops commit
    _, middle_received = decode_reveal(records[1].fingerprint)
    own, last_received = decode_reveal(records[2].fingerprint)
    assert middle_received is not None  # the first hop's evidence: sent and kept
    assert last_received is None and own  # the middle hop's: withheld or refused, not carried


def test_a_session_longer_than_the_kept_states_allow_is_refused(tiny_models):
    """Every hop keeps a session's states until the output is known: the positions it runs are
    capped (ServerLimits.max_session_positions); 6 prompt + 4 fed-back tokens fit in 10."""
    model_dir = tiny_models["llama"]

    async def scenario():
        net = Net()
        await net.add(model_dir, "first", SPANS[0])
        await net.add(model_dir, "middle", SPANS[1], limits=ServerLimits(max_session_positions=10))
        await net.add(model_dir, "last", SPANS[2])
        try:
            route = [net.hop("first", SPANS[0]), net.hop("middle", SPANS[1]),
                     net.hop("last", SPANS[2])]  # fmt: skip
            fits = await net.generate(generate_request(MODEL, route, PROMPT, 5, job_id=60))
            too_long = await net.generate(generate_request(MODEL, route, PROMPT, 6, job_id=61))
            return fits, too_long
        finally:
            await net.close()

    (tokens, done), (_, failed) = run(scenario())
    assert done.HasField("done") and len(tokens) == 5
    assert failed.HasField("error") and "at most 10 positions" in failed.error.message
