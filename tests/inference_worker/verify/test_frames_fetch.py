"""The received-frames data path from the validator's side: what the sidecar does with frames a
receiving hop hands over, honest or hostile (VERIFICATION.md, "Received frames on chain").

A receiver that withholds, serves garbage, another session's frames, or frames it forged to
make its sender look guilty never escapes blame for its own cheat and never gets its sender
named; fetched bytes are size-capped and decoded without raising (fuzzed)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference_worker.pipeline.codec import encode
from inference_worker.pipeline.frame_store import FrameStoreLimits, ReceivedFramesStore
from inference_worker.pipeline.frames import (
    ReceivedFrame,
    decode_received_frames,
    encode_received_frames,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from inference_worker.verify.evidence import (
    RouteClaim,
    generate_claim,
    hop_claim_from_reveal,
    reveal_payload,
)
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.frames_fetch import (
    FramesUnavailable,
    _read_chunks,
    decode_fetched,
    frames_byte_bound,
    serve_from_store,
)
from inference_worker.verify.sidecar import with_received_frames
from inference_worker.verify.verifier import ReferenceModel, verify_route

SPANS = ((0, 2), (2, 4), (4, 5))
PROMPT = (1, 5, 9, 22, 7, 3, 11, 40, 2)
JOB = 31
KEYS = [hashlib.sha256(f"fetch-hop-{k}".encode()).digest() for k in range(3)]
HIDDEN = 64  # the tiny llama's hidden size
NOISE = ComputeAttack(ComputeMode.NOISE, noise_std=0.2, seed=5)  # a receiver's own cheat


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def model_dir(tiny_models):
    return tiny_models["llama"]


@pytest.fixture(scope="module")
def reference(model_dir) -> ReferenceModel:
    return ReferenceModel.load(model_dir)


def run_route(model_dir, attacks=None, *, job=JOB, route_index=0) -> RouteClaim:
    from inference_worker.pipeline.frames import FrameSigner

    shards = [
        load_adversarial_shard(model_dir, a, b, (attacks or {}).get(i, ComputeAttack()))
        for i, (a, b) in enumerate(SPANS)
    ]
    return generate_claim(
        shards, PROMPT, max_new_tokens=10, probe_seed=derive_probe_seed(job), job_id=job,
        route_index=route_index, keys=[FrameSigner(k) for k in KEYS],
    )  # fmt: skip


def from_reveals(claim: RouteClaim) -> RouteClaim:
    """The claim as the sidecar builds it from the chain: reveals only, no frames."""
    hops = tuple(
        hop_claim_from_reveal(h.start, h.end, h.dtype, reveal_payload(claim, k), worker=h.worker)
        for k, h in enumerate(claim.hops)
    )
    return replace(claim, hops=hops)


def stores_of(claim: RouteClaim, job=JOB, route_index=0) -> dict[str, ReceivedFramesStore]:
    """Each receiving hop's worker keeps what it received, as the server does."""
    stores = {}
    for k, hop in enumerate(claim.hops):
        store = stores.setdefault(hop.worker, ReceivedFramesStore())
        if k and hop.received_frames:
            data = encode_received_frames(hop.received_frames, hidden_size=HIDDEN)
            store.put((job, route_index, k), data, now=0.0)
    return stores


def fetched(claim: RouteClaim, source) -> RouteClaim:
    return with_received_frames(from_reveals(claim), source, HIDDEN)


def test_an_honest_route_judged_on_fetched_frames_passes(model_dir, reference):
    claim = run_route(model_dir)
    verdict = verify_route(reference, fetched(claim, serve_from_store(stores_of(claim).get, float)))
    assert verdict.ok and verdict.culprit_hop is None
    assert [c.input for c in verdict.hops] == ["reference", "frames", "frames"]


def _forged(claim: RouteClaim, hop: int) -> tuple[ReceivedFrame, ...]:
    """Frames hop `hop` claims it received: its sender's frames with each payload replaced by
    the states perturbed (what would make the sender look guilty), rows kept."""
    frames = claim.hops[hop].received_frames or ()
    out = []
    for frame in frames:
        n = len(frame.rows) // 8
        fake = torch.randn(1, n, HIDDEN, generator=torch.Generator().manual_seed(n))
        out.append(ReceivedFrame(encode(fake, "fp32"), frame.rows))
    return tuple(out)


@pytest.mark.parametrize("serves", ["withholds", "garbage", "forged", "another job"])
def test_a_cheating_receiver_is_named_whatever_it_serves_and_its_sender_never(
    model_dir, reference, serves
):
    claim = run_route(model_dir, {1: NOISE})  # hop 1 cheats itself
    other = run_route(model_dir, {1: NOISE}, job=JOB + 1)  # same prompt, another job (probes)

    def source(job_id, route_index, hop_index, worker, max_bytes):
        if serves == "withholds":
            raise FramesUnavailable("withheld")
        if serves == "garbage":
            return b"IFRF" + bytes(range(256)) * 4
        frames = _forged(claim, hop_index) if serves == "forged" else None
        frames = frames or other.hops[hop_index].received_frames or ()
        return encode_received_frames(frames, hidden_size=HIDDEN)

    verdict = verify_route(reference, fetched(claim, source))
    assert verdict.culprit_hop == 1 and not verdict.ok, verdict.hops
    assert verdict.hops[1].input == "reference"  # the served frames were unusable
    assert verdict.hops[0].ok  # its honest sender is not blamed


def test_a_receiver_that_withholds_is_judged_from_the_reference_input(model_dir, reference):
    """What withholding gains an honest receiver: nothing but exposure (judged from the
    reference's recomputation of its input, as before the frames reached validators)."""
    claim = run_route(model_dir)
    stores = stores_of(claim)
    stores[claim.hops[2].worker] = ReceivedFramesStore()  # hop 2's worker kept nothing
    verdict = verify_route(reference, fetched(claim, serve_from_store(stores.get, float)))
    assert [c.input for c in verdict.hops] == ["reference", "frames", "reference"]
    assert verdict.ok


def test_an_answer_over_the_bound_is_refused_before_decoding(model_dir):
    claim = run_route(model_dir)
    stores = stores_of(claim)
    source = serve_from_store(stores.get, float)
    data = source(JOB, 0, 1, claim.hops[1].worker, 10**9)
    assert len(data) <= frames_byte_bound(len(claim.sequence), HIDDEN)
    with pytest.raises(FramesUnavailable):
        source(JOB, 0, 1, claim.hops[1].worker, len(data) - 1)
    with pytest.raises(FramesUnavailable):  # another job, route or hop: nothing kept
        source(JOB + 1, 0, 1, claim.hops[1].worker, 10**9)


def test_the_store_keeps_within_its_bounds_oldest_out_first():
    store = ReceivedFramesStore(
        FrameStoreLimits(max_bytes=100, max_entries=3, max_entry_bytes=60, retention_s=10)
    )
    assert not store.put((1, 0, 1), b"x" * 61, now=0)  # one entry over its own cap
    for job in range(1, 5):
        assert store.put((job, 0, 1), b"x" * 10, now=job)
    assert len(store) == 3 and store.get((1, 0, 1), now=4) is None  # entries cap: oldest out
    assert store.put((9, 0, 1), b"y" * 60, now=5)  # bytes cap: the oldest go until it fits
    assert store.total_bytes <= 100 and store.get((9, 0, 1), now=5) == b"y" * 60
    assert store.get((2, 0, 1), now=5) is None
    assert store.put((9, 0, 1), b"z", now=6)  # the same key again replaces it
    assert store.get((9, 0, 1), now=6) == b"z" and store.total_bytes <= 100
    assert store.get((9, 0, 1), now=17) is None and len(store) == 0  # retention ran out


# --- untrusted bytes: fuzz -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_fetched_bytes_decode_or_are_refused_never_raise(data):
    for candidate in (data, b"IFRF\x01\x06\x00\x00" + data):  # raw, and behind a header
        result = decode_fetched(candidate, HIDDEN)
        assert result is None or all(isinstance(f, ReceivedFrame) for f in result)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_frames_never_raise_out_of_the_decoder(data):
    frames = (ReceivedFrame(encode(torch.ones(1, 2, HIDDEN), "fp32"), bytes(16)),) * 2
    good = bytearray(encode_received_frames(frames, hidden_size=HIDDEN))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(good) - 1))
        good[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    for candidate in (bytes(good), bytes(good[:cut])):
        result = decode_fetched(candidate, HIDDEN)
        assert result is None or all(isinstance(f, ReceivedFrame) for f in result)
        if result is not None:  # it decoded: the same bytes round-trip
            assert encode_received_frames(result, hidden_size=HIDDEN) == candidate
            assert decode_received_frames(candidate)[1] == result


class _Chunk:
    def __init__(self, total: int, data: bytes):
        self.total_bytes, self.data = total, data


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.binary(max_size=120)), max_size=6))
def test_chunked_answers_are_taken_only_whole_and_within_the_cap(chunks):
    stream = [_Chunk(total, data) for total, data in chunks]
    try:
        data = _read_chunks(iter(stream), 200)
    except FramesUnavailable:
        return
    assert len(data) <= 200 and len(data) == (stream[0].total_bytes if stream else 0)
    assert all(c.total_bytes == len(data) for c in stream)
