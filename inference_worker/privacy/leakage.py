"""What a curious worker recovers from split-job hidden states (issue 16 item 3), measured.

A split job at depth k has the client run the embedding and decoder layers [0, k) of a PUBLIC
checkpoint and send the residual stream after layer k, ``(seq, hidden)``, to the worker that
serves layers k.. . The worker holds the same public weights. Two attacks, using only what that
worker holds (the states it was sent, the public model, k):

1. Vocabulary matching ("Hidden No More", arXiv 2505.18332), here on non-permuted states, so
   distances are taken on the raw vectors (no sorting). Greedy, left to right; at position i:

   - shortlist: the ``shortlist`` tokens whose context-free state (the token alone through
     layers < k, precomputed once for the whole vocabulary) is nearest (L2) to the observed one,
     or a learned shortlist given by the caller (the top guesses of the probe of attack 2:
     on SmolLM2 the context-free one misses often from depth 2 on);
   - rerank: each shortlisted token appended to the recovered prefix and run through layers
     < k, in one batch, on a KV cache of the prefix (the prefix is run once, then extended by
     one token per position); the candidate whose state is nearest to the observed one wins;
   - fallback: when the winner's relative L2 distance ``|s - o| / |o|`` is above
     ``threshold``, every vocabulary token is tried the same way (in chunks of ``chunk``) and
     the nearest over the whole vocabulary wins.

   The model is deterministic given its input, so the true token's state equals the observed
   one up to float rounding (relative distance ~1e-6 in fp32) and a threshold of 1e-3 separates
   it from any other token: the fallback runs only where the shortlist missed.

2. A learned decoder: a linear ridge probe from the layer-k state (standardized) to the input
   embedding of the token at that position, decoded as the vocabulary token whose embedding is
   nearest in cosine. Trained on public text through the public weights; closed form in float64.

Measurement helpers only: nothing here runs on a worker or in chain code.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache

from inference_worker.privacy.ee_attacks import layer_states

DEFAULT_THRESHOLD = 1e-3  # relative L2 distance below which a candidate is taken as exact


def context_free_states(
    public_model: Any, vocab: int, layers: Sequence[int], *, batch: int = 2048
) -> dict[int, torch.Tensor]:
    """{k: (vocab, hidden) float32}: every token alone (a one-token sequence) through the
    public model's first k layers, all k in one pass; the attacker's one-off precomputation
    for the shortlist."""
    parts: dict[int, list[torch.Tensor]] = {k: [] for k in layers}
    for start in range(0, vocab, batch):
        ids = torch.arange(start, min(start + batch, vocab)).unsqueeze(1)  # (b, 1)
        states = layer_states(public_model, ids, layers)
        for k in layers:
            parts[k].append(states[k][:, 0])
    return {k: torch.cat(v) for k, v in parts.items()}


def relative_distance(states: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(n, hidden), (hidden,) -> (n,) ``|states - target|_2 / |target|_2``."""
    return (states - target).norm(dim=-1) / target.norm().clamp_min(1e-12)


@dataclass
class MatchResult:
    """The guessed token ids of one prompt and how the search went, per position."""

    tokens: list[int] = field(default_factory=list)
    fallback: list[bool] = field(default_factory=list)  # the exhaustive search ran here
    distance: list[float] = field(default_factory=list)  # relative L2 of the chosen token
    seconds: list[float] = field(default_factory=list)  # attacker wall-clock per position


def _candidate_states(
    public_model: Any, layer: int, prefix: Any, cands: torch.Tensor
) -> torch.Tensor:
    """(n,) candidate ids -> (n, hidden): each appended to the cached prefix (or alone when
    `prefix` is None), its state after `layer` layers. The prefix cache is left untouched."""
    cache = None
    if prefix is not None:
        cache = copy.deepcopy(prefix)
        cache.batch_repeat_interleave(int(cands.shape[0]))
    return layer_states(public_model, cands[:, None], [layer], cache=cache)[layer][:, -1]


def _nearest(
    public_model: Any,
    layer: int,
    prefix: Any,
    cands: torch.Tensor,
    target: torch.Tensor,
    chunk: int,
) -> tuple[int, float]:
    """The candidate id whose contextual state is nearest to `target`, and its distance."""
    best_id, best_d = -1, float("inf")
    for start in range(0, int(cands.shape[0]), chunk):
        part = cands[start : start + chunk]
        d = relative_distance(_candidate_states(public_model, layer, prefix, part), target)
        j = int(d.argmin())
        if float(d[j]) < best_d:
            best_id, best_d = int(part[j]), float(d[j])
    return best_id, best_d


def recover_split_tokens(
    observed: torch.Tensor,
    public_model: Any,
    layer: int,
    vocab_states: torch.Tensor,
    *,
    shortlist: int = 64,
    threshold: float = DEFAULT_THRESHOLD,
    chunk: int = 512,
    max_fallbacks: int | None = None,
    candidates: torch.Tensor | None = None,
) -> MatchResult:
    """Token ids guessed from the (seq, hidden) layer-`layer` states of one prompt.

    `vocab_states` is ``context_free_states(public_model, vocab, [layer])[layer]``. `max_fallbacks`
    caps how many positions may run the exhaustive search (None: no cap); past the cap the
    shortlist's best is kept (the cap is a cost limit of the measurement, reported as such).
    `candidates`: (seq, m) token ids to shortlist per position instead of the nearest
    context-free states (e.g. a probe's top m, ``probe_topk``)."""
    vocab = int(vocab_states.shape[0])
    k = min(shortlist, vocab)
    everything = torch.arange(vocab)
    result = MatchResult()
    prefix: Any = None  # KV cache of the recovered prefix, extended one token per position
    for i in range(int(observed.shape[0])):
        t0 = time.perf_counter()
        target = observed[i].float()
        if candidates is None:
            cands = relative_distance(vocab_states, target).topk(k, largest=False).indices
        else:
            cands = candidates[i]
        best, dist = _nearest(public_model, layer, prefix, cands, target, chunk)
        ran = dist > threshold and int(cands.shape[0]) < vocab
        if ran and (max_fallbacks is None or sum(result.fallback) < max_fallbacks):
            best, dist = _nearest(public_model, layer, prefix, everything, target, chunk)
        else:
            ran = False
        if prefix is None:
            prefix = DynamicCache(config=public_model.config)
        layer_states(public_model, torch.tensor([[best]]), [layer], cache=prefix)
        result.tokens.append(best)
        result.fallback.append(ran)
        result.distance.append(dist)
        result.seconds.append(time.perf_counter() - t0)
    return result


@dataclass(frozen=True)
class LinearProbe:
    """Ridge map from a standardized layer-k state to the token's input-embedding direction."""

    mean: torch.Tensor  # (hidden,) float64, of the training states
    scale: torch.Tensor  # (hidden,) float64, their standard deviation (clamped)
    weight: torch.Tensor  # (hidden + 1, emb) float64, last row the bias
    embeddings: torch.Tensor  # (vocab, emb) float64, unit rows: the decoding table


def _features(probe_mean: torch.Tensor, scale: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    x = (states.double() - probe_mean) / scale
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], dim=1)  # (n, hidden + 1)


def fit_probe(
    states: torch.Tensor, token_ids: torch.Tensor, embeddings: torch.Tensor, *, alpha: float = 1.0
) -> LinearProbe:
    """Fit on (n, hidden) states and their (n,) token ids; `embeddings` (vocab, emb) is the
    public input-embedding table. Closed-form ridge: W = (X^T X + alpha I)^-1 X^T Y."""
    table = torch.nn.functional.normalize(embeddings.double(), dim=-1)
    mean = states.double().mean(0)
    scale = states.double().std(0).clamp_min(1e-6)
    x = _features(mean, scale, states)
    y = table[token_ids]  # (n, emb)
    gram = x.T @ x + alpha * torch.eye(x.shape[1], dtype=x.dtype)
    return LinearProbe(mean, scale, torch.linalg.solve(gram, x.T @ y), table)


def probe_predict(probe: LinearProbe, states: torch.Tensor) -> torch.Tensor:
    """(n, hidden) states -> (n,) token ids: the embedding nearest in cosine to the probe's."""
    pred = _features(probe.mean, probe.scale, states) @ probe.weight  # (n, emb)
    return (torch.nn.functional.normalize(pred, dim=-1) @ probe.embeddings.T).argmax(-1)


def probe_topk(probe: LinearProbe, states: torch.Tensor, m: int) -> torch.Tensor:
    """(n, hidden) states -> (n, m) token ids, the probe's m best guesses (a learned shortlist)."""
    pred = torch.nn.functional.normalize(
        _features(probe.mean, probe.scale, states) @ probe.weight, dim=-1
    )
    return (pred @ probe.embeddings.T).topk(m, dim=-1).indices


def random_orthogonal(hidden: int, seed: int) -> torch.Tensor:
    """(hidden, hidden) float32 random orthogonal matrix from `seed`: a stand-in for a secret
    client-side transform, used only to check that the matching harness can fail."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(hidden, hidden, generator=g, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).float()


def accuracy(guessed: Sequence[int], truth: Sequence[int]) -> float:
    """Fraction of positions where the guess is the true token (measurement only)."""
    if len(guessed) != len(truth) or not truth:
        raise ValueError("guessed and truth must be non-empty and of one length")
    return sum(int(g == t) for g, t in zip(guessed, truth, strict=True)) / len(truth)
