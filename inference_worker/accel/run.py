"""Generation through a route's shards with one acceleration method (pure compute).

The plain path (`pipeline.generate.generate`) prefills the prompt, then runs one token a pass.
Here, with a `Method`:

- prompt lookup (n-gram speculative decoding, ``draft_tokens > 0``): the last 3..1 tokens are
  looked up earlier in the prompt and output; the tokens that followed there are a draft. One
  pass over ``[last token] + draft`` gives logits at every position; the token rule (greedy, or
  the seeded sampler, which draws once per emitted token in order) picks the token at each
  position while it agrees with the draft, then the one that disagrees. Every hop's KV cache is
  cropped back to the accepted tokens. The emitted tokens are those the plain path would pick
  from these logits, so repetitive, input-grounded outputs come several tokens a pass.
- prefix cache (``prefix_cache``): a `PrefixStore` keeps each hop's KV cache after the prompts
  it prefilled; a new prompt copies the one with the longest common prefix, crops it and
  prefills only the rest.
- static cache (``static_cache``): transformers' StaticCache, preallocated to prompt + output.
- thread count: ``torch.set_num_threads`` for the call, restored afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from transformers import StaticCache

from inference_worker.accel.methods import PLD_NGRAM, Method, NotApplicableError
from inference_worker.pipeline.generate import (
    GenerationResult,
    Sampling,
    check_route,
    eos_token_ids,
    select_token,
)
from inference_worker.pipeline.shard import SessionCache, Shard

MIN_SHARED_PREFIX = 8  # tokens: a shorter common prefix is not worth copying a cache for


@dataclass
class PrefixStore:
    """KV caches of recently prefilled prompts, per route of shards (oldest dropped first)."""

    max_entries: int = 8
    entries: list[tuple[tuple[int, ...], tuple[int, ...], list[SessionCache]]] = field(
        default_factory=list
    )  # (route key, prompt, one cache per hop holding exactly the prompt)
    hits: int = 0
    reused_tokens: int = 0

    def take(self, key: tuple[int, ...], prompt: Sequence[int]) -> tuple[int, list[SessionCache]]:
        """(shared length L, copies of the caches cropped to L) of the best entry; (0, []) if
        none shares MIN_SHARED_PREFIX tokens. L < len(prompt): one token is always run."""
        best, best_len = None, 0
        for entry_key, stored, caches in self.entries:
            if entry_key != key:
                continue
            n = _common_prefix(stored, prompt)
            if n > best_len:
                best, best_len = caches, n
        best_len = min(best_len, len(prompt) - 1)
        if best is None or best_len < MIN_SHARED_PREFIX:
            return 0, []
        copies = [copy.deepcopy(c) for c in best]
        for cache in copies:
            crop_cache(cache, best_len)
        self.hits += 1
        self.reused_tokens += best_len
        return best_len, copies

    def put(self, key: tuple[int, ...], prompt: Sequence[int], caches: list[SessionCache]) -> None:
        """Keep copies of `caches` (each holding exactly `prompt`)."""
        self.entries = [e for e in self.entries if not (e[0] == key and e[1] == tuple(prompt))]
        self.entries.append((key, tuple(prompt), [copy.deepcopy(c) for c in caches]))
        del self.entries[: max(0, len(self.entries) - self.max_entries)]


def crop_cache(cache: SessionCache, length: int) -> None:
    """Keep the first `length` positions of a session's KV cache (transformers 5 crops by a
    negative count of positions to remove)."""
    remove = cache.seen_tokens - length
    if remove > 0:
        cache.kv.crop(-remove)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@contextlib.contextmanager
def thread_count(threads: int) -> Iterator[None]:
    """torch intra-op threads for the block (0: leave as is), restored afterwards."""
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def find_draft(context: Sequence[int], max_draft: int, ngram: int = PLD_NGRAM) -> list[int]:
    """Prompt lookup: the tokens that followed the latest earlier occurrence of the context's
    last n tokens (n = ngram..1, longest first), at most `max_draft` of them; [] if none."""
    for n in range(min(ngram, len(context) - 1), 0, -1):
        tail = list(context[-n:])
        for start in range(len(context) - n - 1, -1, -1):  # latest earlier match first
            if list(context[start : start + n]) == tail:
                follow = list(context[start + n : start + n + max_draft])
                if follow:
                    return follow
    return []


def _run(
    shards: Sequence[Shard], caches: Sequence[SessionCache], ids: Sequence[int], *, last_only: bool
) -> torch.Tensor:
    """Append `ids` to every hop's cache; logits (vocab,) of the last position or (seq, vocab)."""
    hidden = shards[0].embed(torch.tensor([list(ids)], dtype=torch.long), cache=caches[0])
    for shard, cache in zip(shards, caches, strict=True):
        hidden = shard.forward(hidden, cache=cache)  # (1, seq, hidden)
    logits = shards[-1].head(hidden, last_only=last_only)  # (1, vocab) or (1, seq, vocab)
    return logits[0]


def _new_caches(shards: Sequence[Shard], method: Method, positions: int) -> list[SessionCache]:
    if not method.static_cache:
        return [shard.new_cache() for shard in shards]
    limit = int(getattr(shards[0].config, "max_position_embeddings", 0) or 0)
    if limit and positions > limit:
        raise NotApplicableError(f"static cache of {positions} positions exceeds {limit}")
    return [
        SessionCache(
            kv=StaticCache(config=s.config, max_cache_len=positions), first_layer=s.span_start
        )
        for s in shards
    ]


@torch.inference_mode()
def generate_accelerated(
    shards: Sequence[Shard],
    prompt_ids: Sequence[int],
    method: Method,
    *,
    max_new_tokens: int,
    threads: int = 0,
    eos_ids: set[int] | None = None,
    sampling: Sampling | None = None,
    prefix_store: PrefixStore | None = None,
) -> GenerationResult:
    """`pipeline.generate.generate` with `method` (its weights already loaded into `shards`)."""
    check_route(shards)
    if not prompt_ids:
        raise ValueError("the prompt needs at least one token")
    if method.static_cache and method.draft_tokens:
        raise NotApplicableError("prompt lookup crops caches; a static cache cannot be cropped")
    stop = eos_token_ids(shards[-1].config) if eos_ids is None else set(eos_ids)
    generator = torch.Generator().manual_seed(sampling.seed) if sampling is not None else None
    with thread_count(threads):
        started = time.perf_counter()
        caches, todo = _prefill_caches(shards, prompt_ids, method, max_new_tokens, prefix_store)
        logits = _run(shards, caches, todo, last_only=True)
        if method.prefix_cache and prefix_store is not None:
            prefix_store.put(_route_key(shards), prompt_ids, caches)
        tokens = [select_token(logits, sampling, generator)]
        first_token_s = time.perf_counter() - started
        context = [*prompt_ids, tokens[0]]
        while len(tokens) < max_new_tokens and tokens[-1] not in stop:
            room = max_new_tokens - len(tokens) - 1  # drafts beyond the limit are wasted
            draft = find_draft(context, min(method.draft_tokens, room)) if room > 0 else []
            if not draft:
                logits = _run(shards, caches, [tokens[-1]], last_only=True)
                token = select_token(logits, sampling, generator)
                tokens.append(token)
                context.append(token)
                continue
            rows = _run(shards, caches, [tokens[-1], *draft], last_only=False)  # (1+k, vocab)
            for i in range(len(draft) + 1):
                token = select_token(rows[i], sampling, generator)
                tokens.append(token)
                context.append(token)
                if i == len(draft) or token != draft[i] or token in stop:
                    break
            for cache in caches:  # drop the rejected drafts: keep context minus the newest
                crop_cache(cache, len(context) - 1)
    return GenerationResult(
        tokens=tokens,
        stopped_at_eos=tokens[-1] in stop,
        time_to_first_token_s=first_token_s,
        total_s=time.perf_counter() - started,
        wire_bytes=[0] * (len(shards) - 1),
    )


def _route_key(shards: Sequence[Shard]) -> tuple[int, ...]:
    return tuple(id(shard) for shard in shards)


def _prefill_caches(
    shards: Sequence[Shard],
    prompt_ids: Sequence[int],
    method: Method,
    max_new_tokens: int,
    prefix_store: PrefixStore | None,
) -> tuple[list[SessionCache], list[int]]:
    """Caches to prefill into and the prompt tokens still to run through them."""
    if method.prefix_cache and prefix_store is not None:
        shared, caches = prefix_store.take(_route_key(shards), prompt_ids)
        if caches:
            return caches, list(prompt_ids[shared:])
    return _new_caches(shards, method, len(prompt_ids) + max_new_tokens), list(prompt_ids)
