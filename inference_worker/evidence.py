"""What one route of a job claims: its output tokens and each hop's shard fingerprint.

`RouteClaim` is the validator's input (assembled from the chain: the job, the route's hops and
their reveals). `generate_claim` runs a route in this process the way workers run it (prefill,
then one token at a time, KV cache per hop, optional wire codec at every hop boundary) and
records what each hop would reveal; tests and benchmarks use it, and a worker does the same per
session with a `FingerprintBuilder`:

    builder = FingerprintBuilder(probe_seed=derive_probe_seed(job_id))   # at session open
    out = shard.forward(hidden, cache=cache); builder.add(out)           # every step, before
                                                                         # the wire codec
    reveal(..., shard_fingerprint=builder.finish().to_bytes())           # after the last token
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from inference_worker.codec import decode, encode
from inference_worker.fingerprint import FingerprintBuilder
from inference_worker.generate import Sampling, eos_token_ids, select_token
from inference_worker.shard import Shard, ShardError


@dataclass(frozen=True)
class HopClaim:
    """One hop of a route as revealed: its span, declared runtime dtype and fingerprint."""

    start: int  # first layer served
    end: int  # one past the last layer served
    dtype: torch.dtype  # the worker's registered runtime dtype (float32, bfloat16, float16)
    fingerprint: bytes  # canonical fingerprint bytes (inference_worker.fingerprint)


@dataclass(frozen=True)
class RouteClaim:
    """A route's claimed output and the evidence behind it, for one job."""

    prompt_ids: tuple[int, ...]
    tokens: tuple[int, ...]  # the claimed output (the stop token included when one was hit)
    hops: tuple[HopClaim, ...]
    max_new_tokens: int
    eos_ids: frozenset[int] = frozenset()  # the job's stop tokens
    sampling: Sampling | None = None  # None: greedy
    probe_seed: int = 0  # the job's fingerprint probe seed (derive_probe_seed(job_id))
    codec: str | None = None  # the job's wire codec (None: tensors pass as they are)

    @property
    def sequence(self) -> list[int]:
        """Token ids the route's hops ran over: the prompt, then every output token but the
        last (each hop's fingerprint covers exactly these positions)."""
        return [*self.prompt_ids, *self.tokens[:-1]]


@torch.inference_mode()
def generate_claim(
    shards: Sequence[Shard],
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    probe_seed: int,
    eos_ids: set[int] | None = None,
    sampling: Sampling | None = None,
    codec: str | None = None,
) -> RouteClaim:
    """Run one route (honest or adversarial shards) and return what its hops would reveal."""
    _check_spans(shards)
    if not prompt_ids:
        raise ValueError("the prompt needs at least one token")
    stop = eos_token_ids(shards[-1].config) if eos_ids is None else set(eos_ids)
    generator = torch.Generator().manual_seed(sampling.seed) if sampling is not None else None
    caches = [shard.new_cache() for shard in shards]
    builders = [FingerprintBuilder(probe_seed=probe_seed) for _ in shards]
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long)  # (1, prompt) then (1, 1)
    tokens: list[int] = []
    while len(tokens) < max_new_tokens:
        hidden = shards[0].embed(ids, cache=caches[0])  # (1, seq, hidden)
        for hop, shard in enumerate(shards):
            if hop > 0 and codec is not None:
                shape = tuple(hidden.shape)
                hidden = decode(encode(hidden, codec), codec, expected_shape=shape)
            hidden = shard.forward(hidden, cache=caches[hop])
            builders[hop].add(hidden)
        token = select_token(shards[-1].head(hidden)[0], sampling, generator)
        tokens.append(token)
        if token in stop:
            break
        ids = torch.tensor([[token]], dtype=torch.long)
    hops = tuple(
        HopClaim(s.span_start, s.span_end, s.dtype, b.finish().to_bytes())
        for s, b in zip(shards, builders, strict=True)
    )
    return RouteClaim(
        prompt_ids=tuple(prompt_ids),
        tokens=tuple(tokens),
        hops=hops,
        max_new_tokens=max_new_tokens,
        eos_ids=frozenset(stop),
        sampling=sampling,
        probe_seed=probe_seed,
        codec=codec,
    )


def reveal_payload(claim: RouteClaim, hop: int) -> bytes:
    """The bytes hop `hop` of the route puts in its MsgReveal's shard_fingerprint field."""
    return claim.hops[hop].fingerprint


def hop_claim_from_reveal(start: int, end: int, dtype: torch.dtype, payload: bytes) -> HopClaim:
    """A hop's claim rebuilt from its revealed shard_fingerprint bytes (`reveal_payload`)."""
    return HopClaim(start=start, end=end, dtype=dtype, fingerprint=payload)


def _check_spans(shards: Sequence[Shard]) -> None:
    """Contiguous spans from layer 0 to the last (unlike `generate.check_route`, the configs
    may differ: a cheating hop may serve another model's weights)."""
    if not shards or not shards[0].is_first or not shards[-1].is_last:
        raise ShardError("a route must start at layer 0 and end at the last layer")
    for before, after in zip(shards, shards[1:], strict=False):
        if before.span_end != after.span_start:
            raise ShardError(f"spans end at {before.span_end} and start at {after.span_start}")
