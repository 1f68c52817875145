"""In-process pipeline driver (tests and benchmarks) and plain-transformers references.

`generate` runs a list of shards that together cover a model's layers, one after another in
this process, the way a route of workers runs them: the first shard embeds, every shard runs
its layers with its own per-session KV cache, the last shard's head gives the next token. The
prompt is prefilled in one pass, then tokens go one at a time. Optionally every hop boundary
encodes and decodes the hidden states with a wire codec, to measure what the codec costs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from inference_worker.pipeline.codec import decode, encode
from inference_worker.pipeline.shard import Shard, ShardError


@dataclass(frozen=True)
class Sampling:
    """Seeded sampling; the seed makes a job's tokens reproducible by every replica."""

    seed: int  # seeds a torch.Generator (e.g. derived on chain from the block hash and job id)
    temperature: float = 1.0  # logits are divided by this (> 0)
    top_k: int = 0  # sample among the k most likely tokens; 0 = the whole vocabulary


@dataclass
class GenerationResult:
    """New tokens and timings of one generation."""

    tokens: list[int]  # generated tokens, the stop token included when one was hit
    stopped_at_eos: bool
    time_to_first_token_s: float  # prefill + first token
    total_s: float
    wire_bytes: list[int] = field(default_factory=list)  # per hop boundary, all steps

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens per second after the first one (the steady token-by-token rate)."""
        rest = self.total_s - self.time_to_first_token_s
        return (len(self.tokens) - 1) / rest if len(self.tokens) > 1 and rest > 0 else 0.0


def check_route(shards: Sequence[Shard]) -> None:
    """Shards must be contiguous spans of one model covering every layer, in order."""
    if not shards:
        raise ShardError("a route needs at least one shard")
    if not shards[0].is_first or not shards[-1].is_last:
        raise ShardError("a route must start at layer 0 and end at the last layer")
    for before, after in zip(shards, shards[1:], strict=False):
        if before.span_end != after.span_start or before.config.to_dict() != after.config.to_dict():
            raise ShardError(
                f"spans [{before.span_start}, {before.span_end}) and "
                f"[{after.span_start}, {after.span_end}) are not adjacent spans of one model"
            )


def eos_token_ids(config: object) -> set[int]:
    """The stop tokens a config declares (``eos_token_id`` int, list or None)."""
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        return set()
    return {int(eos)} if isinstance(eos, int) else {int(t) for t in eos}


def select_token(
    logits: torch.Tensor, sampling: Sampling | None, generator: torch.Generator | None
) -> int:
    """Greedy arg-max (first index on ties, like transformers), or a seeded sample.

    logits: (vocab,) of the last position.
    """
    logits = logits.float()
    if sampling is None:
        return int(torch.argmax(logits))
    if sampling.temperature <= 0:
        raise ValueError("temperature must be > 0; use greedy decoding for temperature 0")
    scaled = logits / sampling.temperature
    if 0 < sampling.top_k < scaled.numel():
        kth = torch.topk(scaled, sampling.top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.inference_mode()
def generate(
    shards: Sequence[Shard],
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    eos_ids: set[int] | None = None,
    sampling: Sampling | None = None,
    wire_codec: str | None = None,
    accelerator: Any = None,
) -> GenerationResult:
    """Generate up to `max_new_tokens` after `prompt_ids` through `shards` (one route).

    Stops after a token in `eos_ids` (default: the config's eos_token_id). With `wire_codec`,
    hidden states crossing each hop boundary go through encode/decode with that codec. With
    `accelerator` (an `inference_worker.accel.select.Accelerator`, EXACT job class), it
    chooses and runs the session's acceleration method instead.
    """
    if accelerator is not None and wire_codec is None:
        return accelerator.generate(  # type: ignore[no-any-return]
            shards, prompt_ids, max_new_tokens=max_new_tokens, sampling=sampling, eos_ids=eos_ids
        )
    check_route(shards)
    if not prompt_ids:
        raise ValueError("the prompt needs at least one token")
    stop = eos_token_ids(shards[-1].config) if eos_ids is None else set(eos_ids)
    generator = torch.Generator().manual_seed(sampling.seed) if sampling is not None else None
    caches = [shard.new_cache() for shard in shards]
    wire = [0] * (len(shards) - 1)
    started = time.perf_counter()
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long)  # (1, prompt) then (1, 1)
    tokens: list[int] = []
    first_token_s = 0.0
    while len(tokens) < max_new_tokens:
        hidden = shards[0].embed(ids, cache=caches[0])  # (1, seq, hidden)
        for hop, (shard, cache) in enumerate(zip(shards, caches, strict=True)):
            if hop > 0 and wire_codec is not None:
                payload = encode(hidden, wire_codec)
                wire[hop - 1] += len(payload)
                hidden = decode(payload, wire_codec, expected_shape=tuple(hidden.shape))
            hidden = shard.forward(hidden, cache=cache)
        token = select_token(shards[-1].head(hidden)[0], sampling, generator)
        tokens.append(token)
        if len(tokens) == 1:
            first_token_s = time.perf_counter() - started
        if token in stop:
            break
        ids = torch.tensor([[token]], dtype=torch.long)
    return GenerationResult(
        tokens=tokens,
        stopped_at_eos=bool(tokens) and tokens[-1] in stop,
        time_to_first_token_s=first_token_s,
        total_s=time.perf_counter() - started,
        wire_bytes=wire,
    )


@torch.inference_mode()
def embed_sentences(
    shards: Sequence[Shard], input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Sentence embeddings (batch, hidden) of an encoder route; input_ids and attention_mask
    are (batch, seq) as the tokenizer gives them (padding = 0 in the mask)."""
    check_route(shards)
    hidden = shards[0].embed(input_ids)  # (batch, seq, hidden)
    for shard in shards:
        hidden = shard.forward(hidden, attention_mask=attention_mask)
    return shards[-1].pool(hidden, attention_mask)


# --- plain transformers references -----------------------------------------------------------


@torch.inference_mode()
def reference_generate(
    model_dir: Path | str,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    *,
    eos_ids: set[int] | None = None,
    model: Any = None,  # an already loaded transformers causal LM
) -> list[int]:
    """Greedy tokens from transformers' own ``generate`` on the unsharded model (float32).

    Pass a loaded `model` to skip loading. Stops at `eos_ids` (default: the config's).
    """
    from transformers import AutoModelForCausalLM, GenerationConfig

    if model is None:
        model = AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=torch.float32, local_files_only=True
        ).eval()
    stop = eos_token_ids(model.config) if eos_ids is None else set(eos_ids)
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=sorted(stop) or None,
        pad_token_id=min(stop) if stop else 0,
    )
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long)
    # generate() fills unset fields from the model's own generation config (its EOS among
    # them); make ours the model's for this call so that "no stop token" stays that way.
    saved, model.generation_config = model.generation_config, config
    try:
        out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=config)
    finally:
        model.generation_config = saved
    return [int(t) for t in out[0, ids.shape[1] :]]


@torch.inference_mode()
def reference_embed(
    model_dir: Path | str, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Sentence embeddings from the unsharded transformers BertModel, then mean pooling and
    L2 normalization as sentence-transformers does for all-MiniLM-L6-v2: (batch, hidden)."""
    from transformers import AutoModel

    from inference_worker.families.bert import mean_pool_normalize

    model = AutoModel.from_pretrained(str(model_dir), dtype=torch.float32, local_files_only=True)
    hidden = model.eval()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return mean_pool_normalize(hidden, attention_mask)
