"""Issue 16: a sealed job's reveal bundles must not let an observer confirm a guessed output.

The late probe seed in every bundle's own fingerprint header and the late signature over the
received rows derive from the output hash the chain compares. For a public job that is the
plain hash of the tokens (anyone holding a guess can recompute it: fine, the output is public);
for a sealed job it is the sealed hash under the job's output key (chain/sealing.py), so the
guess alone confirms nothing, while the disclosed key (or the sealed hash itself, on chain)
lets a validator recompute the probes and verify the route.

The route runs for real: the first hop drives it (route.drive_route) over two signing servers.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
import torch

from chain import sealing
from chain.crypto import to_bech32
from inference_worker.pipeline.frames import (
    ChainContext,
    EvidenceStatus,
    FrameSigner,
    verify_late_evidence,
)
from inference_worker.pipeline.placement import HopSpec
from inference_worker.pipeline.route import RouteRequest, drive_route
from inference_worker.pipeline.server import HostedSpan, SessionRecord, start_server
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.commits import compute_chain_output_hash, compute_output_hash
from inference_worker.verify.evidence import RouteClaim, hop_claim_from_reveal
from inference_worker.verify.fingerprint import (
    decode_fingerprint,
    derive_late_probe_seed,
    derive_probe_seed,
)
from inference_worker.verify.reveal import decode_reveal
from inference_worker.verify.verifier import ReferenceModel, verify_route

MODEL = "tiny"
SPANS = ((0, 2), (2, 4), (4, 5))
NAMES = ("first", "middle", "last")
PROMPT = (1, 5, 9, 22, 7, 3)
JOB = 41
TOKENS = 12
SECRETS = sealing.JobSecrets(hashlib.sha256(b"the submitter's job key").digest())


def key(name: str) -> FrameSigner:
    return FrameSigner(hashlib.sha256(name.encode()).digest())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


async def _sealed_hash(job_id: int, tokens: tuple[int, ...]) -> bytes | None:
    """What a worker holding the job's output key answers (worker._chain_output_hash)."""
    return compute_chain_output_hash(tokens, SECRETS.output_key) if job_id == JOB else None


async def _no_key(job_id: int, tokens: tuple[int, ...]) -> bytes | None:
    return None  # a sealed job whose key box this worker never opened


def _route(model_dir, *, sealed: bool, hasher=None) -> tuple[tuple[int, ...], dict[int, bytes]]:
    """Run one route of job JOB; (tokens, hop index -> revealed bundle)."""

    async def scenario():
        records: list[SessionRecord] = []
        servers = []
        for name, span in zip(NAMES, SPANS, strict=True):
            servers.append(
                await start_server(
                    [HostedSpan(MODEL, load_shard(model_dir, *span))], "127.0.0.1:0",
                    on_session_done=records.append, frame_signer=key(name),
                    require_signed_frames=True,
                    output_hash_of=hasher or (_sealed_hash if sealed else None),
                )
            )  # fmt: skip
        hops = tuple(
            HopSpec(to_bech32(key(name).address), f"127.0.0.1:{port}", *span)
            for name, span, (_, _, port) in zip(NAMES, SPANS, servers, strict=True)
        )
        first = servers[0][1]
        request = RouteRequest(
            job_id=JOB, route_index=0, model_id=MODEL, hops=hops, prompt_ids=PROMPT,
            max_new_tokens=TOKENS, output_key=SECRETS.output_key if sealed else None,
        )  # fmt: skip
        try:
            result = await drive_route(
                first.spans[(MODEL, *SPANS[0])].shard, request, channels=first.channels,
                executor=first.executor, signer=first.frame_signer,
            )  # fmt: skip
            await asyncio.sleep(0.3)  # the closes reach the other hops
        finally:
            for server, service, _ in servers:
                await service.shutdown()
                await server.stop(grace=0.5)
        bundles = {0: result.fingerprint, **{r.hop_index: r.fingerprint for r in records}}
        return tuple(result.tokens), bundles

    return asyncio.run(scenario())


def confirms(bundles: dict[int, bytes], guess: tuple[int, ...]) -> list[str]:
    """The observer's attack: everything in the bundles that a hash of ``guess`` (no key)
    matches: the late seed in an own fingerprint's header, the plain hash's or the seed's bytes
    anywhere, or a late signature that verifies over the plain hash."""
    plain = compute_output_hash(guess)
    seed = derive_late_probe_seed(derive_probe_seed(JOB), plain)
    found = []
    for hop, bundle in sorted(bundles.items()):
        own, late = decode_reveal(bundle)
        if decode_fingerprint(own).probe_seed == seed:
            found.append(f"hop {hop}: late seed")
        if plain in bundle or seed.to_bytes(8, "big") in bundle:
            found.append(f"hop {hop}: hash bytes")
        if late is not None:
            context = ChainContext(JOB, 0, sender_hop=hop - 1)
            status, _ = verify_late_evidence(
                late, context, expected=late.signer, positions=late.positions, output_hash=plain
            )
            if status is EvidenceStatus.VALID:
                found.append(f"hop {hop}: late signature")
    return found


def _claim(tokens, bundles, output_key: bytes | None) -> RouteClaim:
    return RouteClaim(
        prompt_ids=PROMPT, tokens=tokens, max_new_tokens=TOKENS, probe_seed=derive_probe_seed(JOB),
        job_id=JOB, route_index=0, output_key=output_key,
        hops=tuple(
            hop_claim_from_reveal(a, b, torch.float32, bundles[k], worker=to_bech32(key(n).address))
            for k, (n, (a, b)) in enumerate(zip(NAMES, SPANS, strict=True))
        ),
    )  # fmt: skip


def test_a_public_route_reveals_what_a_guess_of_its_output_confirms(tiny_models):
    """The twin that shows the attack works: a public job's bundles carry the plain seed."""
    tokens, bundles = _route(tiny_models["llama"], sealed=False)
    assert sorted(bundles) == [0, 1, 2]
    found = confirms(bundles, tokens)
    assert {f"hop {k}: late seed" for k in range(3)} <= set(found)
    assert {"hop 1: late signature", "hop 2: late signature"} <= set(found)
    assert confirms(bundles, (*tokens[:-1], tokens[-1] + 1)) == []  # a wrong guess does not


def test_a_sealed_route_confirms_no_guess_yet_verifies_once_disclosed(tiny_models):
    model_dir = tiny_models["llama"]
    tokens, bundles = _route(model_dir, sealed=True)
    public_tokens, _ = _route(model_dir, sealed=False)
    assert tokens == public_tokens  # same computation, only the late basis differs
    assert sorted(bundles) == [0, 1, 2]
    wrong = (*tokens[:-1], tokens[-1] + 1)
    assert confirms(bundles, tokens) == [] and confirms(bundles, wrong) == []
    # The seed every hop used is the one the sealed hash (on chain after the reveals) gives.
    sealed_hash = compute_chain_output_hash(tokens, SECRETS.output_key)
    expected = derive_late_probe_seed(derive_probe_seed(JOB), sealed_hash)
    for bundle in bundles.values():
        assert decode_fingerprint(decode_reveal(bundle)[0]).probe_seed == expected
    # After disclosure the key is public: a validator recomputes the late probes and checks
    # every late signature; without the key its claim is that of another output.
    verdict = verify_route(
        ReferenceModel.load(model_dir), _claim(tokens, bundles, SECRETS.output_key)
    )
    assert verdict.ok and verdict.culprit_hop is None
    assert [c.evidence for c in verdict.hops][1:] == [EvidenceStatus.VALID] * 2
    blind = verify_route(ReferenceModel.load(model_dir), _claim(tokens, bundles, None))
    assert [c.evidence for c in blind.hops][1:] == [EvidenceStatus.BAD] * 2


def test_a_hop_without_the_output_key_reveals_nothing_rather_than_the_plain_seed(tiny_models):
    tokens, bundles = _route(tiny_models["llama"], sealed=True, hasher=_no_key)
    assert len(tokens) == TOKENS
    assert sorted(bundles) == [0]  # hops 1 and 2 could not derive the late basis: no record
    assert confirms(bundles, tokens) == []
