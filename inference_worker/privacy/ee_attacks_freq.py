"""Frequency analysis of encrypted token streams (issue 19 item 4).

A vocabulary permutation is a substitution cipher on token ids: the same plain token always
becomes the same encrypted id. A worker serving the first hop sees the encrypted ids of every
prompt. It holds the public tokenizer, hence unigram and bigram statistics of tokens on any
public text (the prior). From n observed encrypted prompts it guesses the plain token of each
encrypted id it has seen, among the ``top`` most frequent plain tokens of the prior:

1. rank matching: encrypted ids sorted by observed count take the prior's tokens sorted by
   count (ties by id: deterministic);
2. ``rounds`` of re-assignment: with the current guess, every encrypted id c scores every
   candidate plain t by the bigram log-likelihood of c's observed neighbours,
   ``sum_b n(c, b) log P(t, guess b) + sum_a n(a, c) log P(guess a, t)``, plus the unigram
   term ``n(c) log P(t)``; the new guess is the one-to-one assignment maximising the total
   (``scipy.optimize.linear_sum_assignment``). P: the prior's bigrams smoothed by the unigram
   product, ``(n(a,b) + lam p(a) p(b) N2) / (N2 (1 + lam))``.

Nothing here reads the key; measurement code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch
from scipy.optimize import linear_sum_assignment


def counts(streams: Sequence[Sequence[int]]) -> tuple[Counter[int], Counter[tuple[int, int]]]:
    """Unigram and within-stream bigram counts."""
    uni: Counter[int] = Counter()
    bi: Counter[tuple[int, int]] = Counter()
    for s in streams:
        uni.update(s)
        bi.update(zip(s[:-1], s[1:], strict=False))
    return uni, bi


class BigramPrior:
    """Log unigram and bigram probabilities of the ``top`` most frequent tokens of public text."""

    def __init__(
        self, streams: Sequence[Sequence[int]], *, top: int = 4096, lam: float = 0.1
    ) -> None:
        uni, bi = counts(streams)
        self.tokens = sorted(uni, key=lambda t: (-uni[t], t))[:top]  # plain ids, by count
        index = {t: i for i, t in enumerate(self.tokens)}
        k = len(self.tokens)
        p1 = torch.tensor([uni[t] for t in self.tokens], dtype=torch.float64)
        p1 /= max(1, sum(uni.values()))
        big = torch.zeros(k, k, dtype=torch.float64)
        for (a, b), n in bi.items():
            if a in index and b in index:
                big[index[a], index[b]] += n
        n2 = max(1.0, float(sum(bi.values())))
        self.log_p1 = p1.log()
        self.log_p2 = ((big + lam * p1[:, None] * p1[None] * n2) / (n2 * (1 + lam))).log()


def frequency_attack(
    observed: Sequence[Sequence[int]],
    prior: BigramPrior,
    *,
    rounds: int = 8,
    min_count: int = 2,
) -> dict[int, int]:
    """{encrypted id: guessed plain id} for the encrypted ids seen at least `min_count` times
    in `observed` (at most the ``len(prior.tokens)`` most frequent; the rest get no guess)."""
    uni, bi = counts(observed)
    k = len(prior.tokens)
    cipher = [c for c in sorted(uni, key=lambda c: (-uni[c], c)) if uni[c] >= min_count][:k]
    m = len(cipher)
    ci = {c: i for i, c in enumerate(cipher)}
    pairs = torch.zeros(m, m, dtype=torch.float64)  # observed bigram counts among kept ids
    for (a, b), n in bi.items():
        if a in ci and b in ci:
            pairs[ci[a], ci[b]] += n
    n_c = torch.tensor([uni[c] for c in cipher], dtype=torch.float64)
    guess = torch.arange(m)  # cipher i -> prior index (rank matching)
    for _ in range(rounds):
        onehot = torch.zeros(m, k, dtype=torch.float64)
        onehot[torch.arange(m), guess] = 1.0
        right = pairs @ onehot  # (m, k): counts of each guessed plain following c
        left = pairs.T @ onehot  # (m, k): ... preceding c
        score = right @ prior.log_p2.T + left @ prior.log_p2 + n_c[:, None] * prior.log_p1[None]
        _, cols = linear_sum_assignment(score.numpy(), maximize=True)
        new = torch.as_tensor(cols, dtype=torch.int64)
        if torch.equal(new, guess):
            break
        guess = new
    return {c: prior.tokens[int(guess[i])] for i, c in enumerate(cipher)}


def decoded_rate(
    guess: dict[int, int], encrypted: Sequence[Sequence[int]], plain: Sequence[Sequence[int]]
) -> tuple[float, float]:
    """(token occurrences decoded right, distinct encrypted ids mapped right): scoring only."""
    total = right = 0
    truth: dict[int, int] = {}
    for es, ps in zip(encrypted, plain, strict=True):
        for e, p in zip(es, ps, strict=True):
            total += 1
            right += int(guess.get(e) == p)
            truth[e] = p
    distinct = sum(int(guess.get(e) == p) for e, p in truth.items())
    return right / max(1, total), distinct / max(1, len(truth))
