"""The activation pipeline: workers in separate processes on 127.0.0.1, tiny seeded models.

Every route here is three hops; the first hop drives it (Generate). Outputs are compared with
transformers' own generate on the unsharded model, or with the in-process driver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc
import pytest
import torch

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from inference_worker.pipeline.codec import decode, encode
from inference_worker.pipeline.frames import ChainContext, FrameSeal, FrameSender, FrameSigner
from inference_worker.pipeline.generate import Sampling, generate, reference_generate
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.fingerprint import derive_probe_seed
from tests.inference_worker.pipeline_harness import (
    WorkerProcess,
    generate_request,
    run_generate,
    start_workers,
    stop_all,
)

MODEL = "tiny"
SPANS = {"llama": [(0, 1), (1, 3), (3, 5)], "gpt2": [(0, 1), (1, 3), (3, 4)]}
PROMPTS = ([1, 5, 9, 22, 7, 3], [40, 2])
LAST_MAX_FRAME = 16384  # the last hop's max frame bytes (the garbage test oversteps it)
LAST_MAX_SESSIONS = 4
LAST_IDLE_S = 2.0
TEST_KEY = FrameSigner(bytes(31) + b"\x07")  # signs the hand-made frames of the hostile tests


class Net:
    """A route's workers (first, middle, last) and spare workers for two of its spans."""

    def __init__(self, model_dir: Path, spans: list[tuple[int, int]], workers: list[WorkerProcess]):
        self.model_dir = model_dir
        self.spans = {"middle": spans[1], "last": spans[2]}
        self.first, self.middle, self.last, *spares = workers
        self.spare_middle, self.spare_last = spares or (None, None)
        self.workers = workers

    def route(self, *, middle: WorkerProcess | None = None) -> list[pb.Hop]:
        return [self.first.hop(), (middle or self.middle).hop(), self.last.hop()]

    def fresh(self, which: str, **options) -> WorkerProcess:
        """A new worker for the middle or last span (tests that kill or stop it)."""
        start, end = self.spans[which]
        worker = start_workers([(f"fresh-{which}", self.model_dir, MODEL, start, end, options)])[0]
        self.workers.append(worker)
        return worker


def start_net(model_dir: Path, family: str, *, spares: bool) -> Net:
    first, middle, last = SPANS[family]
    last_options = {
        "args": [
            f"--max-frame-bytes={LAST_MAX_FRAME}",
            f"--max-sessions={LAST_MAX_SESSIONS}",
            f"--idle-timeout={LAST_IDLE_S}",
        ]
    }
    specs = [
        ("first", model_dir, MODEL, *first, {}),
        ("middle", model_dir, MODEL, *middle, {}),
        ("last", model_dir, MODEL, *last, last_options),
    ]
    if spares:  # workers that can replace the middle and the last hop
        specs += [
            ("spare-middle", model_dir, MODEL, *middle, {}),
            ("spare-last", model_dir, MODEL, *last, {}),
        ]
    return Net(model_dir, SPANS[family], start_workers(specs))


@pytest.fixture(scope="module")
def llama(tiny_models) -> Iterator[Net]:
    net = start_net(tiny_models["llama"], "llama", spares=True)
    try:
        yield net
    finally:
        stop_all(net.workers)


@pytest.fixture(scope="module")
def gpt2(tiny_models) -> Iterator[Net]:
    net = start_net(tiny_models["gpt2"], "gpt2", spares=False)
    try:
        yield net
    finally:
        stop_all(net.workers)


@pytest.fixture(scope="module")
def references(tiny_models):
    """reference(family, prompt index, n): transformers' n greedy tokens, unsharded (cached)."""
    cache: dict[tuple[str, int, int], list[int]] = {}

    def reference(family: str, prompt_index: int, n: int = 32) -> list[int]:
        key = (family, prompt_index, n)
        if key not in cache:
            model_dir = tiny_models[family]
            cache[key] = reference_generate(model_dir, PROMPTS[prompt_index], n, eos_ids=set())
        return cache[key]

    return reference


# --- outputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("prompt_index", [0, 1])
def test_three_worker_pipeline_gives_the_unsharded_greedy_tokens(
    request, references, family, prompt_index
):
    net: Net = request.getfixturevalue(family)
    req = generate_request(MODEL, net.route(), PROMPTS[prompt_index], 32, job_id=10 + prompt_index)
    out = run_generate(net.first.endpoint, req)
    assert out.error is None and out.done is not None
    assert out.tokens == references(family, prompt_index)
    assert out.done.replacements == 0 and not out.done.stopped_at_eos
    assert out.done.time_to_first_token_us > 0


def test_int8_codec_pipeline_matches_the_in_process_driver(llama):
    req = generate_request(MODEL, llama.route(), PROMPTS[0], 24, job_id=20, codec="int8")
    out = run_generate(llama.first.endpoint, req)
    shards = [load_shard(llama.model_dir, a, b) for a, b in SPANS["llama"]]
    local = generate(shards, PROMPTS[0], max_new_tokens=24, eos_ids=set(), wire_codec="int8")
    assert out.tokens == local.tokens
    fp32 = run_generate(
        llama.first.endpoint, generate_request(MODEL, llama.route(), PROMPTS[0], 24)
    )
    # Frames also carry the sender's signed fingerprint rows (8 bytes a position) and a 65-byte
    # signature (frames.py), whatever the codec; the codec pays off on the rest of the wire.
    positions = len(PROMPTS[0]) + 24 - 1
    evidence = 24 * (65 + 2) + positions * 8 + 24 * 2  # each field with its tag and length
    assert out.done.wire_bytes - evidence < (fp32.done.wire_bytes - evidence) / 2


def test_generation_stops_at_a_stop_token(llama, references):
    expected = references("llama", 0)
    stop = expected[5]
    req = generate_request(MODEL, llama.route(), PROMPTS[0], 32, job_id=21, ignore_eos=False)
    req.eos_token_ids.append(stop)
    out = run_generate(llama.first.endpoint, req)
    assert out.tokens == expected[: expected.index(stop) + 1]
    assert out.done.stopped_at_eos


def test_text_prompt_is_tokenized_by_the_first_hop(llama):
    out = run_generate(
        llama.first.endpoint, generate_request(MODEL, llama.route(), b"hi there", 8, job_id=22)
    )
    prompt = [b % 96 for b in b"hi there"]  # the byte fallback of tokenizer-less models
    assert out.tokens == reference_generate(llama.model_dir, prompt, 8, eos_ids=set())


def test_seeded_sampling_is_reproducible_and_matches_the_in_process_driver(llama):
    decoding = pb.Decoding(sample=True, temperature_milli=900, top_k=20, seed=424242)
    runs = [
        run_generate(
            llama.first.endpoint,
            generate_request(
                MODEL, llama.route(), PROMPTS[0], 32, job_id=30 + i, decoding=decoding
            ),
        ).tokens
        for i in range(2)
    ]
    shards = [load_shard(llama.model_dir, a, b) for a, b in SPANS["llama"]]
    local = generate(
        shards,
        PROMPTS[0],
        max_new_tokens=32,
        eos_ids=set(),
        sampling=Sampling(seed=424242, temperature=0.9, top_k=20),
    )
    assert runs[0] == runs[1] == local.tokens
    decoding.seed = 7
    other = run_generate(
        llama.first.endpoint,
        generate_request(MODEL, llama.route(), PROMPTS[0], 32, job_id=32, decoding=decoding),
    )
    assert other.tokens != runs[0]


# --- faults ------------------------------------------------------------------------------------


def kill_after(worker: WorkerProcess, tokens: int, action: str = "kill"):
    """An on_token callback that kills (or SIGSTOPs) `worker` once `tokens` tokens arrived."""

    def on_token(count: int) -> None:
        if count == tokens:
            worker.kill() if action == "kill" else worker.pause()

    return on_token


def test_killing_the_middle_worker_mid_generation_gives_identical_output(llama, references):
    victim = llama.fresh("middle", args=["--step-delay=0.03"])
    req = generate_request(
        MODEL, llama.route(middle=victim), PROMPTS[0], 32, job_id=40,
        candidates=[llama.spare_last.hop(), llama.spare_middle.hop()],
    )  # fmt: skip
    out = run_generate(llama.first.endpoint, req, on_token=kill_after(victim, 8))
    assert victim.proc.poll() is not None  # it really died mid-generation
    assert out.error is None, out.error
    assert out.tokens == references("llama", 0)
    assert out.done.replacements == 1
    assert out.done.hops[1].worker == "spare-middle"


def test_killing_the_last_worker_with_seeded_sampling_gives_identical_output(llama):
    decoding = pb.Decoding(sample=True, temperature_milli=1000, top_k=0, seed=99)
    baseline = run_generate(
        llama.first.endpoint,
        generate_request(MODEL, llama.route(), PROMPTS[1], 32, job_id=41, decoding=decoding),
    )
    victim = llama.fresh("last", args=["--step-delay=0.03"])
    route = [llama.first.hop(), llama.middle.hop(), victim.hop()]
    req = generate_request(
        MODEL, route, PROMPTS[1], 32, job_id=42, decoding=decoding,
        candidates=[llama.spare_last.hop()],
    )  # fmt: skip
    out = run_generate(llama.first.endpoint, req, on_token=kill_after(victim, 10))
    assert out.error is None, out.error
    assert out.tokens == baseline.tokens  # the replacement's generator was rebuilt by replay
    assert out.done.hops[2].worker == "spare-last"


def test_a_stalled_middle_worker_is_detected_by_timeout_and_replaced(llama, references):
    victim = llama.fresh("middle", args=["--step-delay=0.03"])
    req = generate_request(
        MODEL, llama.route(middle=victim), PROMPTS[0], 32, job_id=43,
        candidates=[llama.spare_middle.hop()], progress_timeout_ms=400,
    )  # fmt: skip
    try:
        out = run_generate(llama.first.endpoint, req, on_token=kill_after(victim, 6, "stop"))
    finally:
        victim.resume()
    assert out.error is None, out.error
    assert out.tokens == references("llama", 0)
    assert out.done.replacements == 1


def test_a_failed_hop_without_replacement_fails_the_session_clearly(llama):
    victim = llama.fresh("middle", args=["--step-delay=0.03"])
    req = generate_request(
        MODEL, llama.route(middle=victim), PROMPTS[0], 32, job_id=44,
        candidates=[llama.spare_last.hop()],  # serves another span: no use
    )  # fmt: skip
    out = run_generate(llama.first.endpoint, req, on_token=kill_after(victim, 4))
    assert out.done is None and out.error is not None
    assert out.error.code == pb.ERROR_CODE_HOP_FAILED
    assert "hop 1 (fresh-middle" in out.error.message
    assert "no replacement candidate serves layers [1, 3)" in out.error.message
    assert 4 <= len(out.tokens) < 32


# --- hostile input -----------------------------------------------------------------------------


def session(job: int) -> pb.SessionKey:
    return pb.SessionKey(job_id=job, route_index=0)


def open_last(net: Net, job: int, **changes) -> pb.HopFrame:
    """An open of a session whose receiver is the last hop (so it connects nowhere)."""
    msg = pb.OpenSession(
        session=session(job),
        model_id=MODEL,
        hops=net.route(),
        hop_index=2,
        codec="fp32",
        dtype="float32",
        progress_timeout_ms=[2000, 1000, 0],
    )
    for name, value in changes.items():
        setattr(msg, name, value)
    return pb.HopFrame(open=msg)


def hidden(
    job: int, tensor: torch.Tensor, *, codec="fp32", position=0, step=0, shape=None, signed=True
):
    """A hidden-state frame as hop 1 would send it to the last hop: signed (the workers here
    require signed frames; the route names no addresses, so any key's signature is checked
    for its chain only) unless `signed` is False."""
    data = encode(tensor, codec)
    seal = FrameSeal()
    if signed:
        sender = FrameSender(
            ChainContext(job, 0, sender_hop=1), probe_seed=derive_probe_seed(job), signer=TEST_KEY
        )
        seal = sender.seal(decode(data, codec, expected_shape=tuple(tensor.shape)), data)
    return pb.HopFrame(
        hidden=pb.HiddenStates(
            session=session(job),
            step=step,
            position=position,
            shape=list(shape or tensor.shape),
            data=data,
            fingerprint_rows=seal.rows,
            signature=seal.signature,
        )
    )


def late(job: int, rows: bytes) -> pb.HopFrame:
    """A LateEvidence frame with `rows` and a signature that recovers to no one in particular."""
    late = pb.LateEvidence(session=session(job), fingerprint_rows=rows, signature=bytes(65))
    return pb.HopFrame(late=late)


def exchange(endpoint: str, frames: list[pb.HopFrame]) -> list[pb.ReplyFrame]:
    """Send `frames` on one stream, half-close, and collect every reply."""
    with grpc.insecure_channel(endpoint) as channel:
        return list(pb_grpc.PipelineStub(channel).Stream(iter(frames), timeout=30))


def test_garbage_frames_get_errors_while_another_session_keeps_working(llama, references):
    started = threading.Event()
    result = {}

    def live() -> None:
        req = generate_request(MODEL, llama.route(), PROMPTS[1], 200, job_id=1)
        result["out"] = run_generate(llama.first.endpoint, req, on_token=lambda n: started.set())

    thread = threading.Thread(target=live)
    thread.start()
    assert started.wait(60)
    ok = torch.randn(1, 3, 64)
    frames = [
        hidden(100, ok),  # never opened
        open_last(llama, 101, model_id="other-model"),
        open_last(llama, 102),
        hidden(102, ok, shape=[1, 2, 64]),  # shape field disagrees with the payload
        open_last(llama, 103),
        hidden(103, torch.randn(1, 80, 64)),  # 20 KiB > the last hop's max frame bytes
        open_last(llama, 104),
        hidden(104, ok, codec="fp16"),  # another codec than the session's
        open_last(llama, 105),
        hidden(105, ok, position=5),  # skips positions
        open_last(llama, 106, dtype="bfloat16"),
        open_last(llama, 107),
        pb.HopFrame(hidden=pb.HiddenStates(session=session(107), shape=[1, 3, 64], data=b"IFHS")),
        open_last(llama, 108),
        hidden(108, torch.randn(1, 3, 48), shape=[1, 3, 48]),  # wrong hidden size
        open_last(llama, 109, hop_index=7),  # no such hop
        open_last(llama, 110),
        hidden(110, ok),  # valid: answered with a token
        hidden(110, ok),  # replayed position
        hidden(1, ok),  # the live session's key, from a stream that does not own it
        open_last(llama, 111),
        hidden(111, ok, signed=False),  # unsigned, to a hop that requires signed frames
        open_last(llama, 112),
        hidden(112, ok),  # valid: answered with a token, the output is known
        late(112, bytes(3 * 8)),  # late rows that are not of the states sent
        open_last(llama, 113),
        late(113, bytes(3 * 8)),  # late evidence before any output
    ]
    replies = exchange(llama.last.endpoint, frames)
    errors = {r.error.session.job_id: r.error.code for r in replies if r.HasField("error")}
    assert errors == {
        100: pb.ERROR_CODE_UNKNOWN_SESSION,
        101: pb.ERROR_CODE_UNSUPPORTED,
        102: pb.ERROR_CODE_MALFORMED,
        103: pb.ERROR_CODE_TOO_LARGE,
        104: pb.ERROR_CODE_MALFORMED,
        105: pb.ERROR_CODE_MALFORMED,
        106: pb.ERROR_CODE_UNSUPPORTED,
        107: pb.ERROR_CODE_MALFORMED,
        108: pb.ERROR_CODE_MALFORMED,
        109: pb.ERROR_CODE_MALFORMED,
        110: pb.ERROR_CODE_MALFORMED,
        1: pb.ERROR_CODE_UNKNOWN_SESSION,
        111: pb.ERROR_CODE_BAD_FRAME_EVIDENCE,
        112: pb.ERROR_CODE_BAD_FRAME_EVIDENCE,
        113: pb.ERROR_CODE_MALFORMED,
    }
    assert [r.token.session.job_id for r in replies if r.HasField("token")] == [110, 112]

    # Bytes that are no protobuf at all end that call only (gRPC ends its request stream).
    with grpc.insecure_channel(llama.last.endpoint) as channel:
        raw = channel.stream_stream("/infera.worker.v1.Pipeline/Stream")
        try:
            assert list(raw(iter([b"\x0a\xff\xff\xff\xff\x0ftruncated"]), timeout=10)) == []
        except grpc.RpcError as err:
            assert err.code() != grpc.StatusCode.DEADLINE_EXCEEDED

    thread.join(120)
    out = result["out"]
    assert out.error is None and out.tokens == references("llama", 1, 200)


def test_session_limit_and_idle_expiry(llama):
    import queue

    frames: queue.Queue[pb.HopFrame | None] = queue.Queue()

    def requests():
        while (frame := frames.get()) is not None:
            yield frame

    with grpc.insecure_channel(llama.last.endpoint) as channel:
        replies = pb_grpc.PipelineStub(channel).Stream(requests(), timeout=30)
        for job in range(200, 200 + LAST_MAX_SESSIONS + 1):
            frames.put(open_last(llama, job))
        busy = next(replies)  # the opens within the limit are silent
        assert busy.error.code == pb.ERROR_CODE_BUSY
        assert busy.error.session.job_id == 200 + LAST_MAX_SESSIONS
        expired = [next(replies).error for _ in range(LAST_MAX_SESSIONS)]  # after the idle timeout
        assert {e.code for e in expired} == {pb.ERROR_CODE_EXPIRED}
        assert {e.session.job_id for e in expired} == set(range(200, 200 + LAST_MAX_SESSIONS))
        frames.put(hidden(200, torch.randn(1, 1, 64)))
        assert next(replies).error.code == pb.ERROR_CODE_UNKNOWN_SESSION
        frames.put(None)
