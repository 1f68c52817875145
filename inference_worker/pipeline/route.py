"""The first hop's driver: run one route of a job from prompt to last token (networking).

The worker serving layer 0 tokenizes the prompt, embeds it and runs its layers over the whole
prompt in one pass (prefill), sends the hidden states to the next hop's endpoint, and waits for
the last hop's token; then it feeds that token in, one position at a time, until a stop token or
max_new_tokens. Token selection (greedy or seeded sampling) happens on the last hop.

Faults: the link to hop 1 reports a dead or stalled hop 1; hops further down report theirs as
HOP_FAILED replies. The driver picks a replacement serving the same span among the candidates
(`placement.choose_replacement`) and reroutes: the hop before the failed one replays the frames
it kept to the replacement, which rebuilds its KV cache, so the tokens are those of a run
without the failure (tokens of replayed steps come back again and are checked). With no
candidate left the route fails with RouteError naming the hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import torch

from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.pipeline.codec import CODECS
from inference_worker.pipeline.frames import (
    ChainContext,
    FrameSeal,
    FrameSender,
    FrameSigner,
    seal_frame,
)
from inference_worker.pipeline.generate import Sampling, eos_token_ids, select_token
from inference_worker.pipeline.link import ChannelPool, DownstreamLink
from inference_worker.pipeline.placement import (
    HopSpec,
    check_route,
    choose_replacement,
    progress_timeouts,
)
from inference_worker.pipeline.shard import SessionCache, Shard
from inference_worker.verify.adversary import forward_reported
from inference_worker.verify.commits import compute_chain_output_hash
from inference_worker.verify.fingerprint import (
    KeptStates,
    derive_late_probe_seed,
    derive_probe_seed,
)
from inference_worker.verify.reveal import encode_reveal

if TYPE_CHECKING:
    from inference_worker.accel.hop import HopAccelerator, HopSession

REJOIN_BACKOFF_S = 0.5  # pause before retrying a failed hop at its own endpoint
DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


class RouteError(RuntimeError):
    """A route could not finish: a hop failed with no replacement, or the request is invalid."""


@dataclass(frozen=True)
class DecodingSpec:
    """How the last hop selects tokens (the chain's infera.inference.v1.Decoding)."""

    sample: bool = False  # False: greedy arg-max
    temperature_milli: int = 1000  # sampling: temperature in thousandths
    top_k: int = 0  # sampling: among the k most likely tokens; 0 = all
    seed: int = 0  # sampling: seed of the last hop's generator (u64)

    def sampling(self) -> Sampling | None:
        if not self.sample:
            return None
        return Sampling(seed=self.seed, temperature=self.temperature_milli / 1000, top_k=self.top_k)

    def to_pb(self) -> pb.Decoding:
        return pb.Decoding(
            sample=self.sample,
            temperature_milli=self.temperature_milli,
            top_k=self.top_k,
            seed=self.seed,
        )

    @classmethod
    def from_pb(cls, msg: pb.Decoding) -> DecodingSpec:
        return cls(msg.sample, msg.temperature_milli, msg.top_k, msg.seed)


@dataclass(frozen=True)
class RouteRequest:
    """One route of one job, as the first hop drives it."""

    job_id: int
    route_index: int
    model_id: str
    hops: tuple[HopSpec, ...]  # hops[0] is this worker
    prompt_ids: tuple[int, ...]
    max_new_tokens: int
    eos_ids: frozenset[int] = frozenset()  # stop after one of these (empty: never stop early)
    decoding: DecodingSpec = DecodingSpec()
    codec: str = "fp32"  # wire codec of every hop boundary
    candidates: tuple[HopSpec, ...] = ()  # replacements, in preference order
    progress_timeout_s: float = 30.0  # stall timeout of the hop before the last (seconds)
    exclude_workers: frozenset[str] = frozenset()  # never use as replacements (other routes)
    # When no candidate is left, keep retrying the failed hop itself at its own endpoint (a
    # restarted process of the same worker) for this long, seconds; 0 = fail at once.
    rejoin_timeout_s: float = 0.0
    # A sealed job's output key (docs/private-jobs.md): the late probe seed and the late frame
    # signatures then derive from the sealed output hash the chain compares, never from the
    # plain hash of the tokens (which anyone could compute from a guessed output). None: public.
    output_key: bytes | None = None


@dataclass
class RouteResult:
    """The tokens of a route and how the run went."""

    tokens: list[int]  # generated tokens, the stop token included when one was hit
    stopped_at_eos: bool
    time_to_first_token_s: float  # from the start of the drive to the first token
    total_s: float
    wire_bytes: int  # serialized frames this hop sent downstream (replays included)
    replacements: int  # hops replaced
    hops: tuple[HopSpec, ...]  # the route as it ended
    fingerprint: bytes  # what this hop reveals: its late fingerprint as a reveal bundle
    # (reveal.encode_reveal; the first hop received no frames, so no late evidence)
    events: list[str] = field(default_factory=list)  # failures seen, in order


def hop_to_pb(hop: HopSpec) -> pb.Hop:
    return pb.Hop(
        worker=hop.worker, endpoint=hop.endpoint, layer_start=hop.start, layer_end=hop.end
    )


def hop_from_pb(hop: pb.Hop) -> HopSpec:
    return HopSpec(hop.worker, hop.endpoint, int(hop.layer_start), int(hop.layer_end))


async def drive_route(
    shard: Shard,
    request: RouteRequest,
    *,
    channels: ChannelPool,
    executor: Executor,
    on_token: Callable[[int, int], None] | None = None,
    signer: FrameSigner | None = None,
    accel: HopAccelerator | None = None,
) -> RouteResult:
    """Generate `request.max_new_tokens` tokens (fewer at a stop token) through the route.

    `shard` is this worker's span (hops[0]); compute runs on `executor`, never on the event
    loop. `on_token(step, token)` is called as each new token arrives. `signer` (this worker's
    chain key) signs every frame's fingerprint rows (frames.py) and, once the output is
    known, sends the late evidence of everything it sent before the normal close. `accel`
    (the worker's acceleration, accel/hop.py) chooses this hop's method for the session;
    None: the plain path. Raises RouteError.
    """
    _check_request(shard, request)
    driver = _Driver(shard, request, channels)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    first_token_s = 0.0
    cache = shard.new_cache()
    probe_seed = derive_probe_seed(request.job_id)
    outputs = KeptStates()  # this hop's output, fingerprinted once the output is known
    context = ChainContext(request.job_id, request.route_index, sender_hop=0)
    sender = FrameSender(context, probe_seed=probe_seed, signer=signer)
    ids: list[int] = list(request.prompt_ids)
    tokens = driver.tokens
    finished = False
    hop: HopSession | None = None
    try:
        if accel is not None:
            hop = await loop.run_in_executor(executor, _choose, accel, shard, request)
        await driver.connect()
        while len(tokens) < request.max_new_tokens:
            step, position = len(tokens), cache.seen_tokens
            if hop is not None and hop.draft_tokens and tokens:  # one hop, prompt lookup
                new = await loop.run_in_executor(
                    executor, hop.lookup_step, shard, cache, outputs,
                    [*request.prompt_ids, *tokens], request.max_new_tokens - len(tokens),
                    request.eos_ids, driver.sampler,
                )  # fmt: skip
            else:
                out = await loop.run_in_executor(
                    executor,
                    _first_hop_step,
                    shard,
                    cache,
                    outputs,
                    sender,
                    ids,
                    driver.codec_or_none,
                    driver.sampler,
                    hop,
                )
                if isinstance(out, int):  # a one-hop route: this hop is also the last
                    new = [out]
                else:
                    await driver.send(step, position, out)
                    new = [await driver.wait_token(step)]
            for token in new:
                tokens.append(token)
                if len(tokens) == 1:
                    first_token_s = time.perf_counter() - started
                if on_token is not None:
                    on_token(len(tokens) - 1, token)
            if tokens[-1] in request.eos_ids:
                break
            ids = [tokens[-1]]
        finished = True
        output_hash = compute_chain_output_hash(tokens, request.output_key)
        await driver.send_late(await loop.run_in_executor(executor, sender.seal_late, output_hash))
        own = await loop.run_in_executor(
            executor, outputs.fingerprint, derive_late_probe_seed(probe_seed, output_hash)
        )
    finally:
        await driver.close("" if finished else "the route failed")
    return RouteResult(
        tokens=tokens,
        stopped_at_eos=bool(tokens) and tokens[-1] in request.eos_ids,
        time_to_first_token_s=first_token_s,
        total_s=time.perf_counter() - started,
        wire_bytes=driver.bytes_sent,
        replacements=driver.replacements,
        hops=tuple(driver.hops),
        fingerprint=encode_reveal(own.to_bytes(), None),
        events=driver.failures,
    )


def _check_request(shard: Shard, request: RouteRequest) -> None:
    if not request.prompt_ids:
        raise RouteError("the prompt needs at least one token")
    if request.max_new_tokens < 1:
        raise RouteError("max_new_tokens must be at least 1")
    if request.codec not in CODECS:
        raise RouteError(f"unknown codec {request.codec!r}; known: {CODECS}")
    try:
        check_route(request.hops, shard.num_layers)
    except ValueError as err:
        raise RouteError(str(err)) from err
    if request.hops[0].span != (shard.span_start, shard.span_end):
        raise RouteError(f"hop 0 serves {request.hops[0].span}, this shard another span")
    if request.decoding.sample and request.decoding.temperature_milli == 0:
        raise RouteError("sampling needs a temperature above 0")
    if request.output_key is not None and len(request.output_key) != 32:
        raise RouteError("a sealed job's output key is 32 bytes")


def _choose(accel: HopAccelerator, shard: Shard, request: RouteRequest) -> HopSession:
    """This hop's acceleration of the route (executor: "auto" runs the learner)."""
    from inference_worker.accel.hop import token_key
    from inference_worker.accel.methods import AccelError

    try:
        return accel.session(
            shard, token_key(request.prompt_ids), session=(request.job_id, request.route_index),
            hop=0, prompt_ids=request.prompt_ids, max_new_tokens=request.max_new_tokens,
            private=request.output_key is not None, one_hop=len(request.hops) == 1,
        )  # fmt: skip
    except AccelError as err:
        raise RouteError(f"acceleration (code {err.code}): {err}") from err


def _first_hop_step(
    shard: Shard,
    cache: SessionCache,
    outputs: KeptStates,
    sender: FrameSender,
    ids: list[int],
    codec: str | None,
    sampler: tuple[Sampling | None, torch.Generator | None],
    hop: HopSession | None = None,
) -> tuple[tuple[int, ...], bytes, FrameSeal] | int:
    """Embed `ids` and run this hop's layers: (shape, codec bytes, seal) for the next hop, or
    the selected token when this hop is the whole route (codec None). Runs on the executor.
    With `hop` (the session's acceleration), under its thread count, and the prefill through
    its prefix store."""
    with torch.inference_mode(), hop.compute() if hop is not None else contextlib.nullcontext():

        def forward(first: int) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = shard.embed(torch.tensor([ids[first:]], dtype=torch.long), cache=cache)
            return forward_reported(shard, hidden, cache=cache)  # (1, len(ids) - first, hidden)

        if hop is not None and cache.seen_tokens == 0:
            from inference_worker.accel.hop import token_key

            sent, reported = hop.prefill(token_key(ids), cache, forward)
        else:
            sent, reported = forward(0)
        outputs.add(reported)
        if codec is None:
            return select_token(shard.head(sent)[0], *sampler)
        return tuple(sent.shape), *seal_frame(sender, sent, reported, codec)


class _Driver:
    """The driver's side of the route: the link to hop 1, replies, failures, replacements."""

    def __init__(self, shard: Shard, request: RouteRequest, channels: ChannelPool):
        self.request = request
        self.hops = list(request.hops)
        self.tokens: list[int] = []
        self.replacements = 0
        self.failures: list[str] = []
        self._failed: set[tuple[str, str]] = set()  # (worker, endpoint) of hops that failed
        self._rejoin_deadline: dict[int, float] = {}  # hop index -> monotonic deadline
        self._events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._key = pb.SessionKey(job_id=request.job_id, route_index=request.route_index)
        self._link: DownstreamLink | None = None
        self._channels = channels
        self._dtype = DTYPE_NAMES[shard.dtype]
        sampling = request.decoding.sampling()
        generator = torch.Generator().manual_seed(sampling.seed) if sampling else None
        self.sampler = (sampling, generator)  # used only when this hop is also the last

    @property
    def codec_or_none(self) -> str | None:
        return self.request.codec if len(self.hops) > 1 else None

    @property
    def bytes_sent(self) -> int:
        return self._link.bytes_sent if self._link is not None else 0

    async def connect(self) -> None:
        if len(self.hops) == 1:
            return
        timeouts = progress_timeouts(len(self.hops), self.request.progress_timeout_s)
        open_frame = pb.OpenSession(
            session=self._key,
            model_id=self.request.model_id,
            hops=[hop_to_pb(h) for h in self.hops],
            hop_index=1,
            codec=self.request.codec,
            dtype=self._dtype,
            decoding=self.request.decoding.to_pb(),
            progress_timeout_ms=[max(1, round(t * 1000)) for t in timeouts],
        )
        self._link = DownstreamLink(
            self._channels,
            open_frame,
            progress_timeout_s=timeouts[0],
            on_reply=lambda reply: self._events.put_nowait(("reply", reply)),
            on_failure=lambda hop, why: self._events.put_nowait(("failed", (hop, why))),
        )
        await self._link.connect()

    async def send(
        self, step: int, position: int, out: tuple[tuple[int, ...], bytes, FrameSeal]
    ) -> None:
        shape, data, seal = out
        assert self._link is not None
        hidden = pb.HiddenStates(
            session=self._key, step=step, position=position, shape=shape, data=data,
            fingerprint_rows=seal.rows, signature=seal.signature,
        )  # fmt: skip
        await self._link.send(hidden)

    async def send_late(self, seal: FrameSeal) -> None:
        """This hop's late evidence (frames.FrameSender.seal_late), before the normal close."""
        if self._link is not None and seal.signature:
            late = pb.LateEvidence(
                session=self._key, fingerprint_rows=seal.rows, signature=seal.signature
            )
            await self._link.forward(pb.HopFrame(late=late))

    async def wait_token(self, step: int) -> int:
        """The token of `step`, replacing failed hops on the way."""
        while True:
            kind, payload = await self._events.get()
            if kind == "failed":
                await self._replace(*payload, step=step)
                continue
            reply: pb.ReplyFrame = payload
            if reply.HasField("error"):
                await self._replace(reply.error.failed_hop, reply.error.message, step=step)
                continue
            token = reply.token
            if token.step == step:
                self._rejoin_deadline.clear()  # the route works again
                return int(token.token_id)
            if token.step > step or token.token_id != self.tokens[token.step]:
                raise RouteError(
                    f"step {token.step} came back as token {token.token_id} after a replay; "
                    "the replacement disagrees with the route it replaced"
                )

    async def _replace(self, index: int, why: str, *, step: int) -> None:
        assert self._link is not None
        self.failures.append(why)
        if not 1 <= index < len(self.hops):
            raise RouteError(f"a hop reported an impossible failed hop {index}: {why}")
        failed = self.hops[index]
        self._failed.add((failed.worker, failed.endpoint))
        others = {h.worker for h in self.hops} | self.request.exclude_workers
        replacement = choose_replacement(
            failed,
            self.request.candidates,
            exclude_workers=others | {w for w, _ in self._failed},
            exclude_endpoints={e for _, e in self._failed},
        )
        if replacement is None and self._may_rejoin(index):
            await asyncio.sleep(REJOIN_BACKOFF_S)
            replacement = failed  # the same worker, restarted at its own endpoint
        if replacement is None:
            waited = self.request.rejoin_timeout_s
            raise RouteError(
                f"hop {index} ({failed.worker} at {failed.endpoint}, layers "
                f"[{failed.start}, {failed.end})) failed: {why}; no replacement candidate "
                f"serves layers [{failed.start}, {failed.end})"
                + (f" and the hop did not come back within {waited:g} s" if waited > 0 else "")
            )
        self.hops[index] = replacement
        self.replacements += replacement != failed
        if index == 1:
            await self._link.reroute(hop_to_pb(replacement))
        else:
            reroute = pb.Reroute(
                session=self._key, hop_index=index - 1, replacement=hop_to_pb(replacement)
            )
            await self._link.forward(pb.HopFrame(reroute=reroute), expect_step=step)

    def _may_rejoin(self, index: int) -> bool:
        """Whether the failed hop `index` may still be retried at its own endpoint."""
        if self.request.rejoin_timeout_s <= 0:
            return False
        now = time.monotonic()
        deadline = self._rejoin_deadline.setdefault(index, now + self.request.rejoin_timeout_s)
        return now < deadline

    async def close(self, reason: str) -> None:
        if self._link is not None:
            await self._link.close(reason)


def route_request_from_pb(
    request: pb.GenerateRequest, shard: Shard, model_dir: Path | None, default_timeout_s: float
) -> RouteRequest:
    """A Generate request as a RouteRequest for `shard` (the first hop): tokenizes a text
    prompt, picks the stop tokens (the config's unless the request names them or ignores them)."""
    prompt = list(request.prompt_ids)
    if not prompt:
        prompt = PromptTokenizer(model_dir, int(shard.config.vocab_size)).encode(
            request.prompt_text
        )
    if request.ignore_eos:
        eos: frozenset[int] = frozenset()
    elif request.eos_token_ids:
        eos = frozenset(request.eos_token_ids)
    else:
        eos = frozenset(eos_token_ids(shard.config))
    return RouteRequest(
        job_id=request.session.job_id,
        route_index=request.session.route_index,
        model_id=request.model_id,
        hops=tuple(hop_from_pb(h) for h in request.hops),
        prompt_ids=tuple(prompt),
        max_new_tokens=request.max_new_tokens,
        eos_ids=eos,
        decoding=DecodingSpec.from_pb(request.decoding),
        codec=request.codec or "fp32",
        candidates=tuple(hop_from_pb(h) for h in request.candidates),
        progress_timeout_s=request.progress_timeout_ms / 1000 or default_timeout_s,
    )


# --- prompts ---------------------------------------------------------------------------------


class PromptTokenizer:
    """Prompt bytes <-> token ids for a prepared model.

    With tokenizer files in the model folder, the model's own tokenizer (plain text, no chat
    template: the submitter formats the prompt). Without them (the tiny test models), a byte
    fallback: byte b is token b mod vocab_size, and token t reads as the printable ASCII
    character chr(32 + t mod 95).
    """

    def __init__(self, model_dir: Path | str | None, vocab_size: int):
        self.vocab_size = vocab_size
        self._tokenizer: Any = None
        if model_dir is not None and (Path(model_dir) / "tokenizer_config.json").is_file():
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)

    def encode(self, prompt: bytes) -> list[int]:
        if self._tokenizer is None:
            return [b % self.vocab_size for b in prompt]
        return [int(t) for t in self._tokenizer(prompt.decode("utf-8"))["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        if self._tokenizer is None:
            return "".join(chr(32 + t % 95) for t in ids)
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=True))
