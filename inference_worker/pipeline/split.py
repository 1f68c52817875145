"""Split jobs, the client's side: it keeps the embedding, the first k layers, the last k' layers
and the head, and drives every token over r worker routes (networking + client compute).

A split job's routes serve only layers [k, L - k') (docs/split-jobs.md). The client:

1. embeds the prompt and runs layers [0, k) locally (its own KV cache),
2. sends the SAME encoded hidden states to the first hop of every route (one `Pipeline.Stream`
   each, the session opened with `OpenSession.split`; hop 0 of each route is the client),
3. waits for every route's last hop to return its output states (`ReplyFrame.hidden`),
4. runs layers [L - k', L), the final norm and the head on the states most routes returned
   (identical bytes; ties: the lowest route index) with its own KV cache, and picks the token
   (greedy, or seeded sampling with the job's seed, exactly as the plain last hop does),
5. feeds the token in again until a stop token or max_new_tokens.

Workers see hidden states only: never a token id, text, logits or the sampling seed. That
hides the tokens from the FRAMES, not from a worker holding the public weights: the
vocabulary-matching attack recovers every token from states at any depth
(docs/split-leakage.md). What the routes commit to is `split_output_hash` of the states they
returned (every hop of a route relays them, so every hop knows it): the bytes of honest replicas
with one runtime are identical, so the hashes agree without anyone seeing tokens.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import torch

from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.pipeline.codec import CODECS, decode, encode
from inference_worker.pipeline.frames import (
    ChainContext,
    FrameEvidenceError,
    FrameReceiver,
    FrameSeal,
    FrameSender,
    FrameSigner,
    expected_address,
)
from inference_worker.pipeline.generate import Sampling, select_token
from inference_worker.pipeline.link import ChannelPool, DownstreamLink
from inference_worker.pipeline.placement import progress_timeouts
from inference_worker.pipeline.route import DTYPE_NAMES
from inference_worker.pipeline.shard import SessionCache, Shard, load_shard
from inference_worker.verify.fingerprint import derive_probe_seed

SPLIT_OUTPUT_DOMAIN = b"infera.split.output.v1\x00"
MAX_FRAME_BYTES = 32 * 1024 * 1024  # returned states of one step, as a worker's default limit


class SplitError(RuntimeError):
    """A split generation failed: a route failed, refused or returned malformed states."""


@dataclass(frozen=True)
class SplitPlan:
    """Which layers stay on the client: [0, front_layers) and [L - tail_layers, L)."""

    front_layers: int  # k >= 1: the embedding and these layers run on the client
    tail_layers: int = 0  # k' >= 0: these last layers run on the client, then norm + head

    def served(self, num_layers: int) -> tuple[int, int]:
        """The layers the routes serve, [k, L - k'); SplitError when nothing is left."""
        end = num_layers - self.tail_layers
        if self.front_layers < 1 or self.tail_layers < 0 or end <= self.front_layers:
            raise SplitError(
                f"a split of {num_layers} layers needs 1 <= k < L - k', got k "
                f"{self.front_layers}, k' {self.tail_layers}"
            )
        return self.front_layers, end


@dataclass
class SplitModel:
    """The client's parts of a model: `front` embeds and runs [0, k); `back` runs [L - k', L)
    and the head (for k' = 0 it is the last layer's shard and only its head runs)."""

    front: Shard
    back: Shard
    plan: SplitPlan

    @property
    def num_layers(self) -> int:
        return self.front.num_layers

    def step(
        self, ids: list[int], front_cache: SessionCache
    ) -> torch.Tensor:  # (1, len(ids), hidden)
        """Embed `ids` and run the front layers (the states sent to every route)."""
        hidden = self.front.embed(torch.tensor([ids], dtype=torch.long), cache=front_cache)
        return self.front.forward(hidden, cache=front_cache)

    def logits(self, returned: torch.Tensor, back_cache: SessionCache) -> torch.Tensor:
        """The last position's logits (vocab,) from a route's returned states (1, n, hidden)."""
        hidden = returned
        if self.plan.tail_layers > 0:
            hidden = self.back.forward(returned, cache=back_cache)
        return self.back.head(hidden)[0]


def load_split_model(
    model_dir: Path | str,
    plan: SplitPlan,
    *,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
) -> SplitModel:
    """Load only the client's spans of the prepared model in `model_dir`."""
    front = load_shard(model_dir, 0, plan.front_layers, dtype=dtype, device=device)
    start, end = plan.served(front.num_layers)
    back_start = end if plan.tail_layers > 0 else front.num_layers - 1
    back = load_shard(model_dir, back_start, front.num_layers, dtype=dtype, device=device)
    return SplitModel(front=front, back=back, plan=plan)


def split_output_hash(step_digests: Sequence[bytes]) -> bytes:
    """What a split route's hops commit to instead of the tokens: sha256(domain || sha256 of
    every step's returned payload, in step order). 32 bytes."""
    return hashlib.sha256(SPLIT_OUTPUT_DOMAIN + b"".join(step_digests)).digest()


@dataclass
class SplitResult:
    """The client's view of one split generation."""

    tokens: list[int]  # the stop token included when one was hit
    stopped_at_eos: bool
    time_to_first_token_s: float
    total_s: float
    route_hashes: list[bytes]  # split_output_hash of each route's returned states
    divergent_steps: dict[int, list[int]] = field(default_factory=dict)  # step -> outvoted routes
    step_round_trip_s: list[float] = field(default_factory=list)  # send -> every route's states
    wire_bytes_sent: int = 0  # HiddenStates payload bytes sent, all routes

    @property
    def agreed(self) -> bool:
        """Every route returned the same states at every step."""
        return not self.divergent_steps


@dataclass
class _Route:
    """One route's link and what came back on it."""

    index: int
    link: DownstreamLink
    sender: FrameSender
    receiver: FrameReceiver
    replies: asyncio.Queue[pb.ReplyFrame | tuple[int, str]]
    codec: str
    digests: list[bytes] = field(default_factory=list)


async def drive_split(
    model: SplitModel,
    routes: Sequence[Sequence[pb.Hop]],
    prompt_ids: Sequence[int],
    *,
    model_id: str,
    job_id: int,
    max_new_tokens: int,
    eos_ids: frozenset[int] = frozenset(),
    sampling: Sampling | None = None,
    codec: str = "fp32",
    client: str = "client",
    signer: FrameSigner | None = None,
    progress_timeout_s: float = 30.0,
    executor: Executor | None = None,
) -> SplitResult:
    """Generate through `routes` (each: the worker hops, covering the served layers in order).

    `client` names hop 0 (the submitter's address on chain); `signer` (its key) signs the
    frames it sends. Returned states are checked against the last hop's signature when it
    signs. Client compute runs on `executor` (a private one-thread pool by default). A route
    that fails or refuses ends the generation (SplitError): no rerouting yet.
    """
    _check_split(model, routes, prompt_ids, max_new_tokens, codec)
    own_executor = executor is None
    pool = executor if executor is not None else ThreadPoolExecutor(1, thread_name_prefix="split")
    channels = ChannelPool(MAX_FRAME_BYTES)
    opened = [
        _open_route(model, index, hops, model_id, job_id, codec, client, signer,
                    progress_timeout_s, channels)
        for index, hops in enumerate(routes)
    ]  # fmt: skip
    finished = False
    try:
        for route in opened:
            await route.link.connect()
        result = await _generate(model, opened, prompt_ids, max_new_tokens, eos_ids,
                                 sampling, codec, job_id, pool)  # fmt: skip
        finished = True
        return result
    finally:
        for route in opened:
            await route.link.close("" if finished else "the split client failed")
        await channels.close()
        if own_executor:
            pool.shutdown(wait=False)


def _check_split(
    model: SplitModel,
    routes: Sequence[Sequence[pb.Hop]],
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    codec: str,
) -> None:
    if not prompt_ids or max_new_tokens < 1:
        raise SplitError("the prompt needs a token and max_new_tokens must be at least 1")
    if codec not in CODECS or not routes:
        raise SplitError(f"need at least one route and a known codec ({CODECS})")
    start, end = model.plan.served(model.num_layers)
    for index, hops in enumerate(routes):
        spans = [(int(h.layer_start), int(h.layer_end)) for h in hops]
        ends = [start] + [e for _, e in spans]
        if not spans or any(s != ends[i] or e <= s for i, (s, e) in enumerate(spans)):
            raise SplitError(f"route {index} does not tile layers [{start}, {end}) in order")
        if ends[-1] != end:
            raise SplitError(f"route {index} ends at layer {ends[-1]}, the split at {end}")


def _open_route(
    model: SplitModel,
    index: int,
    hops: Sequence[pb.Hop],
    model_id: str,
    job_id: int,
    codec: str,
    client: str,
    signer: FrameSigner | None,
    progress_timeout_s: float,
    channels: ChannelPool,
) -> _Route:
    """The link to one route's first hop, with the split open frame (hop 0 = the client)."""
    k = model.plan.front_layers
    full = [pb.Hop(worker=client, endpoint="", layer_start=0, layer_end=k), *hops]
    timeouts = progress_timeouts(len(full), progress_timeout_s)
    open_frame = pb.OpenSession(
        session=pb.SessionKey(job_id=job_id, route_index=index),
        model_id=model_id,
        hops=full,
        hop_index=1,
        codec=codec,
        dtype=DTYPE_NAMES[model.front.dtype],
        decoding=pb.Decoding(),  # workers pick no token: the seed stays with the client
        progress_timeout_ms=[max(1, round(t * 1000)) for t in timeouts],
        split=pb.SplitSession(tail_layers=model.plan.tail_layers),
    )
    replies: asyncio.Queue[pb.ReplyFrame | tuple[int, str]] = asyncio.Queue()
    link = DownstreamLink(
        channels,
        open_frame,
        progress_timeout_s=timeouts[0],
        on_reply=replies.put_nowait,
        on_failure=lambda hop, why: replies.put_nowait((hop, why)),
    )
    probe_seed = derive_probe_seed(job_id)
    last = len(full) - 1
    return _Route(
        index=index,
        link=link,
        sender=FrameSender(ChainContext(job_id, index, sender_hop=0), probe_seed=probe_seed,
                           signer=signer),
        receiver=FrameReceiver(ChainContext(job_id, index, sender_hop=last),
                               probe_seed=probe_seed, expected=expected_address(full[last].worker),
                               require_signatures=False),
        replies=replies,
        codec=codec,
    )  # fmt: skip


async def _generate(
    model: SplitModel,
    routes: list[_Route],
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    eos_ids: frozenset[int],
    sampling: Sampling | None,
    codec: str,
    job_id: int,
    pool: Executor,
) -> SplitResult:
    loop = asyncio.get_running_loop()
    front_cache, back_cache = model.front.new_cache(), model.back.new_cache()
    generator = torch.Generator().manual_seed(sampling.seed) if sampling is not None else None
    result = SplitResult([], False, 0.0, 0.0, [])
    started = time.perf_counter()
    ids = list(prompt_ids)
    while len(result.tokens) < max_new_tokens:
        step, position = len(result.tokens), front_cache.seen_tokens
        shape, data, seals = await loop.run_in_executor(
            pool, _front_step, model, ids, front_cache, routes, codec
        )
        sent_at = time.perf_counter()
        for route, seal in zip(routes, seals, strict=True):
            await route.link.send(
                pb.HiddenStates(
                    session=pb.SessionKey(job_id=job_id, route_index=route.index), step=step,
                    position=position, shape=shape, data=data,
                    fingerprint_rows=seal.rows, signature=seal.signature,
                )
            )  # fmt: skip
            result.wire_bytes_sent += len(data)
        returned = [await _returned(route, step, shape) for route in routes]
        result.step_round_trip_s.append(time.perf_counter() - sent_at)
        chosen, outvoted = _choose(returned)
        if outvoted:
            result.divergent_steps[step] = outvoted
        token = await loop.run_in_executor(
            pool, _back_step, model, returned[chosen][0], back_cache, sampling, generator
        )
        result.tokens.append(token)
        if step == 0:
            result.time_to_first_token_s = time.perf_counter() - started
        if token in eos_ids:
            break
        ids = [token]
    result.stopped_at_eos = result.tokens[-1] in eos_ids
    result.total_s = time.perf_counter() - started
    result.route_hashes = [split_output_hash(route.digests) for route in routes]
    return result


def _front_step(
    model: SplitModel,
    ids: list[int],
    front_cache: SessionCache,
    routes: list[_Route],
    codec: str,
) -> tuple[tuple[int, ...], bytes, list[FrameSeal]]:
    """The front layers, encoded once, sealed per route (executor)."""
    with torch.inference_mode():
        sent = model.step(ids, front_cache)
        data = encode(sent, codec)
        view = decode(data, codec, expected_shape=tuple(sent.shape))
        seals = [route.sender.seal(view, data) for route in routes]
    return tuple(sent.shape), data, seals


async def _returned(route: _Route, step: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, bytes]:
    """Route `route`'s returned states of `step`, checked: (decoded (1, n, hidden), digest)."""
    while True:
        reply = await route.replies.get()
        if isinstance(reply, tuple):
            hop, why = reply
            raise SplitError(f"route {route.index}: hop {hop} failed: {why}")
        if reply.HasField("error"):
            name = pb.ErrorCode.Name(reply.error.code)
            raise SplitError(
                f"route {route.index}: hop {reply.error.failed_hop}: {name}: {reply.error.message}"
            )
        if not reply.HasField("hidden"):
            raise SplitError(f"route {route.index} answered a split step with a token")
        states = reply.hidden
        if states.step != step or tuple(states.shape) != shape:
            raise SplitError(
                f"route {route.index} returned step {states.step} shape {tuple(states.shape)}, "
                f"expected step {step} shape {shape}"
            )
        hidden = decode(states.data, route.codec, expected_shape=shape,
                        max_bytes=MAX_FRAME_BYTES)  # fmt: skip
        try:
            route.receiver.accept(
                hidden, states.data, FrameSeal(states.fingerprint_rows, states.signature)
            )
        except FrameEvidenceError as err:
            raise SplitError(f"route {route.index}: the returned states' evidence: {err}") from err
        digest = hashlib.sha256(states.data).digest()
        route.digests.append(digest)
        return hidden, digest


def _choose(returned: list[tuple[torch.Tensor, bytes]]) -> tuple[int, list[int]]:
    """(the route whose states the client continues with, the routes it outvoted): the
    payload most routes returned, ties to the lowest route index."""
    counts = Counter(digest for _, digest in returned)
    best = max(counts.values())
    chosen = next(i for i, (_, digest) in enumerate(returned) if counts[digest] == best)
    outvoted = [i for i, (_, digest) in enumerate(returned) if digest != returned[chosen][1]]
    return chosen, outvoted


def _back_step(
    model: SplitModel,
    returned: torch.Tensor,
    back_cache: SessionCache,
    sampling: Sampling | None,
    generator: torch.Generator | None,
) -> int:
    """The tail layers, head and token choice on the chosen route's states (executor)."""
    with torch.inference_mode():
        return select_token(model.logits(returned, back_cache), sampling, generator)
