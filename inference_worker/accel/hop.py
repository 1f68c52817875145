"""Acceleration of networked sessions, hop by hop (the worker's ``acceleration`` on routes).

A route's hops are different workers; each applies, to its own part of a session, the methods
that need nothing from the other hops and keep the job's numbers (EXACT):

- the intra-op thread count of its compute (``/t<n>``; 0 keeps the worker's);
- prefix caching across jobs (``prefix``): after a session's prefill the hop keeps its KV
  cache and the states it output for the prompt (`StatePrefixStore`, per hosted span). The key
  is what the hop's prefill *received*: the token ids on the first hop, the decoded hidden-state
  rows on every other hop. A later prefill whose first L rows are bit-identical to a stored
  one's reuses that cache cropped to L and runs only the rest: the hop's states at positions
  < L depend only on its inputs at those positions (causal attention, absolute positions), so
  the hit is exact. The hop still sends, signs and fingerprints every position (the stored
  rows for the first L, then the computed ones), so frames, late fingerprints and verification
  are the plain path's (up to the floating-point regrouping of a split prefill).

Not offered on routes (typed errors for ``fixed:``): prompt lookup (it needs multi-position
decode steps and a KV roll-back on every hop, which the frame chain and the late fingerprints
do not define: docs/metainf.md), the static cache (the later hops do not know the output
length to preallocate for, and it measured slower here), and every LOSSY method (a route's
dtype is the job's precision class, pinned on chain: other weights are a substitution).

Per session, ``"auto"`` asks the MetaInf learner among the route options (``plain``,
``prefix`` at the bench's thread counts) with the features this hop knows; the later hops do
not see tokens or the output length, so they use a prompt repeat share of 0 and
`UNKNOWN_OUTPUT_TOKENS`. structlog event ``accel.hop_session`` says the option and why.
"""

from __future__ import annotations

import contextlib
import copy
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
import torch

from inference_worker.accel.bench import repeat_permille
from inference_worker.accel.learner import task_features
from inference_worker.accel.methods import (
    DEFAULT_OPTION,
    METHODS,
    Method,
    NotApplicableError,
    PrecisionClass,
    bench_options,
    check_allowed,
    parse_option,
)
from inference_worker.accel.run import MIN_SHARED_PREFIX, crop_cache, find_draft, thread_count
from inference_worker.accel.select import Accelerator, check_acceleration, hardware_name
from inference_worker.pipeline.generate import Sampling, select_token
from inference_worker.pipeline.shard import SessionCache, Shard
from inference_worker.verify.adversary import forward_reported
from inference_worker.verify.fingerprint import KeptStates

log = structlog.get_logger("infera.worker.accel")

UNKNOWN_OUTPUT_TOKENS = 24  # a later hop's guess of the output length (the table's length)
Forward = Callable[[int], tuple[torch.Tensor, torch.Tensor]]  # first position -> (sent, reported)


def is_route_method(method: Method) -> bool:
    """Whether a worker can apply `method` to networked sessions (prompt lookup: on one-hop
    routes only, `HopAccelerator.session`)."""
    return (
        method.precision is PrecisionClass.EXACT
        and not method.static_cache
        and method.weights == "fp32"
    )


def check_route_setting(setting: str) -> str:
    """The ``acceleration`` setting if a worker can apply it to routes; AccelError otherwise
    (MethodRefusedError for a LOSSY method: a route's job class is EXACT; NotApplicableError
    for the static cache)."""
    check_acceleration(setting)
    if setting.startswith("fixed:"):
        method, _ = parse_option(setting.removeprefix("fixed:"))
        check_allowed(method, PrecisionClass.EXACT)
        if not is_route_method(method):
            raise NotApplicableError(
                f"method {method.name!r} does not run on networked routes; route methods: "
                f"{route_methods()}"
            )
    return setting


def route_methods() -> list[str]:
    """The methods a hop can apply to networked sessions."""
    return [name for name, method in METHODS.items() if is_route_method(method)]


def route_options(*, one_hop: bool = False) -> list[str]:
    """The options "auto" chooses among on a route: the bench options a hop can apply (prompt
    lookup only when the hop is the whole route), then prefix caching at one thread (not
    measured as such: the learner predicts it from the option's parts; on a tie the measured
    option, earlier in the list, wins)."""
    measured = [
        o
        for o in bench_options()
        if is_route_method(m := parse_option(o)[0]) and (one_hop or not m.draft_tokens)
    ]
    return [*measured, *(o for o in ("prefix/t1",) if o not in measured)]


@dataclass
class _Entry:
    key: torch.Tensor  # (n, ...) what the prefill received: token ids (n, 1) or rows (n, hidden)
    kv: SessionCache  # the hop's cache holding exactly those n positions
    sent: torch.Tensor  # (1, n, hidden) what the hop sent on (or turned into logits)
    reported: torch.Tensor  # (1, n, hidden) what it fingerprinted and signed


@dataclass
class PrefixHit:
    length: int  # positions reused
    cache: SessionCache  # a copy, cropped to `length`
    sent: torch.Tensor  # (1, length, hidden)
    reported: torch.Tensor


@dataclass
class StatePrefixStore:
    """One hosted span's prefill states of recent sessions (oldest dropped first)."""

    max_entries: int = 8
    entries: list[_Entry] = field(default_factory=list)
    hits: int = 0
    reused_tokens: int = 0

    def shared(self, key: torch.Tensor) -> int:
        """Rows `key` shares with the best stored entry (what a hit would reuse, uncapped)."""
        return max((_common_rows(e.key, key) for e in self.entries), default=0)

    def take(self, key: torch.Tensor) -> PrefixHit | None:
        """The best entry sharing >= MIN_SHARED_PREFIX leading rows with `key`, copied and
        cropped; at least one row is always left to run. None: no such entry."""
        best, best_len = None, 0
        for entry in self.entries:
            n = _common_rows(entry.key, key)
            if n > best_len:
                best, best_len = entry, n
        best_len = min(best_len, key.shape[0] - 1)
        if best is None or best_len < MIN_SHARED_PREFIX:
            return None
        cache = copy.deepcopy(best.kv)
        crop_cache(cache, best_len)
        self.hits += 1
        self.reused_tokens += best_len
        return PrefixHit(
            best_len, cache, best.sent[:, :best_len].clone(), best.reported[:, :best_len].clone()
        )

    def put(
        self, key: torch.Tensor, cache: SessionCache, sent: torch.Tensor, reported: torch.Tensor
    ) -> None:
        """Keep copies of a prefill's cache and output states (replacing an identical key)."""
        self.entries = [
            e for e in self.entries if not (e.key.shape == key.shape and torch.equal(e.key, key))
        ]
        self.entries.append(
            _Entry(key.clone(), copy.deepcopy(cache), sent.detach().clone(), reported.clone())
        )
        del self.entries[: max(0, len(self.entries) - self.max_entries)]


def _common_rows(a: torch.Tensor, b: torch.Tensor) -> int:
    """Leading rows of `a` and `b` that are bit-identical (0 for another dtype or row shape)."""
    if a.dtype != b.dtype or a.shape[1:] != b.shape[1:]:
        return 0
    m = min(a.shape[0], b.shape[0])
    if m == 0:
        return 0
    same = (a[:m] == b[:m]).reshape(m, -1).all(dim=1)
    differ = torch.nonzero(~same)
    return m if differ.numel() == 0 else int(differ[0, 0])


def token_key(ids: Sequence[int]) -> torch.Tensor:
    """The prefix key of a first hop's prefill: its token ids as (n, 1) int64."""
    return torch.tensor(list(ids), dtype=torch.long).unsqueeze(-1)


@dataclass
class HopSession:
    """One session's acceleration on one hop: the option chosen and the store it may use."""

    option: str
    method: Method
    threads: int  # intra-op threads for the session's compute; 0: the worker's
    why: str
    store: StatePrefixStore | None  # None: no prefix caching for this session
    draft_tokens: int = 0  # prompt lookup (one-hop routes only): drafts verified per step
    drafted: int = 0  # draft tokens proposed so far
    accepted: int = 0  # of which accepted

    @contextlib.contextmanager
    def compute(self) -> Iterator[None]:
        """Around each of the session's compute steps on this hop (thread count)."""
        with thread_count(self.threads):
            yield

    def prefill(
        self, key: torch.Tensor, cache: SessionCache, forward: Forward
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A session's first frame on this hop: (sent, reported) over every position of the
        prefill, through the prefix store when the option has it. `forward(first)` runs the
        prefill's positions `first..` with `cache` (which this may refill from the store)."""
        if self.store is None:
            return forward(0)
        hit = self.store.take(key)
        if hit is None:
            sent, reported = forward(0)
        else:
            cache.kv = hit.cache.kv
            sent, reported = forward(hit.length)
            sent = torch.cat([hit.sent, sent], dim=1)
            reported = torch.cat([hit.reported, reported], dim=1)
        self.store.put(key, cache, sent, reported)
        log.debug("accel.prefix", reused=hit.length if hit else 0, positions=key.shape[0])
        return sent, reported

    def lookup_step(
        self,
        shard: Shard,
        cache: SessionCache,
        outputs: KeptStates,
        context: Sequence[int],
        remaining: int,
        stop: frozenset[int],
        sampler: tuple[Sampling | None, torch.Generator | None],
    ) -> list[int]:
        """One decode step of a one-hop route with prompt lookup (executor): `context` is the
        prompt and the tokens so far (the cache holds all but the last), `remaining` the tokens
        still allowed. One pass over [last token] + draft; the job's token rule picks at each
        position while it agrees with the draft (the seeded sampler draws once per emitted
        token, in order, as the plain path does); the cache is cropped back and only the
        positions whose inputs are now part of the sequence are kept for the fingerprint, so
        it covers exactly the plain path's positions. Returns the new tokens (>= 1)."""
        room = remaining - 1  # drafts past the limit would be wasted
        draft = find_draft(context, min(self.draft_tokens, room)) if room > 0 else []
        with torch.inference_mode(), self.compute():
            ids = torch.tensor([[context[-1], *draft]], dtype=torch.long)
            hidden = shard.embed(ids, cache=cache)
            sent, reported = forward_reported(shard, hidden, cache=cache)  # (1, 1 + k, hidden)
            rows = shard.head(sent, last_only=False)[0]  # (1 + k, vocab)
            new: list[int] = []
            for i in range(len(draft) + 1):
                token = select_token(rows[i], *sampler)
                new.append(token)
                if i == len(draft) or token != draft[i] or token in stop:
                    break
            outputs.add(reported[:, : len(new)])  # inputs: the last token, accepted drafts
            crop_cache(cache, len(context) - 1 + len(new))
        self.drafted += len(draft)
        self.accepted += len(new) - 1
        return new


class HopAccelerator:
    """A worker's acceleration of the hops it serves (one per worker, shared by its spans)."""

    def __init__(
        self,
        setting: str,
        *,
        table: Path | None = None,
        history: Path | None = None,
        max_entries: int = 8,
    ):
        self.setting = check_route_setting(setting)
        self.max_entries = max_entries
        self._selector = Accelerator(setting="auto", table=table, history=history) if (
            setting == "auto"
        ) else None  # fmt: skip
        self._stores: weakref.WeakKeyDictionary[Shard, StatePrefixStore] = (
            weakref.WeakKeyDictionary()
        )

    def store_for(self, shard: Shard) -> StatePrefixStore:
        store = self._stores.get(shard)
        if store is None:
            store = self._stores[shard] = StatePrefixStore(self.max_entries)
        return store

    def session(
        self,
        shard: Shard,
        key: torch.Tensor,
        *,
        session: tuple[int, int],
        hop: int,
        prompt_ids: Sequence[int] | None = None,
        max_new_tokens: int | None = None,
        job_class: PrecisionClass = PrecisionClass.EXACT,
        private: bool = False,
        one_hop: bool = False,
    ) -> HopSession:
        """Choose the option of one session on this hop from its first frame (`key`: what the
        prefill received). `private` (a sealed job): no prefix caching, so that no other job's
        timing depends on this one's prompt. `one_hop`: this hop is the whole route (the
        driver of a one-hop route), where prompt lookup runs; elsewhere a prompt-lookup option
        runs without drafts. Logs ``accel.hop_session``."""
        if self.setting == "plain":
            option, why = "plain", "acceleration = plain"
        elif self.setting.startswith("fixed:"):
            option, why = self.setting.removeprefix("fixed:"), "acceleration = fixed"
        else:
            option, why = self._auto(shard, key, prompt_ids, max_new_tokens, one_hop)
        method, threads = parse_option(option)
        check_allowed(method, job_class)  # MethodRefusedError: LOSSY on an EXACT job
        if not is_route_method(method):
            raise NotApplicableError(f"method {method.name!r} does not run on networked routes")
        drafts = method.draft_tokens if one_hop else 0
        if method.draft_tokens and not one_hop:
            why += "; prompt lookup runs on one-hop routes only: no drafts on this hop"
        use_store = method.prefix_cache and not private
        log.info(
            "accel.hop_session", job=session[0], route=session[1], hop=hop, option=option,
            why=why + ("; private job: no prefix cache" if method.prefix_cache and private else ""),
            prompt_tokens=int(key.shape[0]),
        )  # fmt: skip
        store = self.store_for(shard) if use_store else None
        return HopSession(option, method, threads, why, store, draft_tokens=drafts)

    def _auto(
        self,
        shard: Shard,
        key: torch.Tensor,
        prompt_ids: Sequence[int] | None,
        max_new_tokens: int | None,
        one_hop: bool,
    ) -> tuple[str, str]:
        assert self._selector is not None and self._selector.learner is not None
        options = route_options(one_hop=one_hop)
        features = task_features(
            params=_model_params(shard), hidden=int(shard.config.hidden_size),
            layers=shard.num_layers, family=shard.family.name, prompt_tokens=int(key.shape[0]),
            prompt_repeat=repeat_permille(prompt_ids) if prompt_ids is not None else 0,
            shared_prefix=self.store_for(shard).shared(key),
            output_tokens=max_new_tokens or UNKNOWN_OUTPUT_TOKENS, hardware=hardware_name(),
        )  # fmt: skip
        option, speedup = self._selector.learner.choose(features, options)
        return option, f"auto: predicted {speedup:.2f}x over {DEFAULT_OPTION} among {len(options)}"


def _model_params(shard: Shard) -> int:
    """The whole model's parameter count, estimated from this span (layers x per-layer, plus
    the embedding): the learner's feature is the model's, and a hop holds only its span."""
    per_layer = sum(p.numel() for layer in shard.parts.layers for p in layer.parameters())
    span = max(shard.span_end - shard.span_start, 1)
    embedding = int(shard.config.vocab_size) * int(shard.config.hidden_size)
    return per_layer * shard.num_layers // span + embedding
