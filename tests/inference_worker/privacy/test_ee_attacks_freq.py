"""Frequency analysis of encrypted token streams (issue 19 item 4): a vocabulary permutation is
a substitution cipher, so the bigram statistics of public text recover it from enough
encrypted prompts. Synthetic source: a seeded Markov chain over 40 tokens (the "language"),
public text and users' prompts drawn from it independently."""

from __future__ import annotations

import inspect

import torch

from inference_worker.privacy import ee_attacks_freq
from inference_worker.privacy.ee_attacks_freq import BigramPrior, decoded_rate, frequency_attack

VOCAB = 40


def _chain() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    # Zipf-like token frequencies (as in text), and each token prefers a few successors.
    zipf = -torch.log(torch.arange(1, VOCAB + 1, dtype=torch.float32))
    logits = zipf[None] + torch.randn(VOCAB, VOCAB, generator=g) * 1.5
    return torch.softmax(logits, dim=-1)


def _streams(n: int, length: int, seed: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    trans = _chain()
    out = []
    for _ in range(n):
        t = int(torch.randint(0, VOCAB, (1,), generator=g))
        s = [t]
        for _ in range(length - 1):
            t = int(torch.multinomial(trans[t], 1, generator=g))
            s.append(t)
        out.append(s)
    return out


def test_bigram_reassignment_recovers_the_permutation_from_enough_prompts(report_line):
    prior = BigramPrior(_streams(400, 50, seed=1))  # public text
    prompts = _streams(200, 30, seed=2)  # the users' prompts
    perm = torch.randperm(VOCAB, generator=torch.Generator().manual_seed(3))
    enc = [[int(perm[t]) for t in p] for p in prompts]
    rank_only = decoded_rate(frequency_attack(enc, prior, rounds=0), enc, prompts)
    full = decoded_rate(frequency_attack(enc, prior), enc, prompts)
    few = decoded_rate(frequency_attack(enc[:2], prior), enc[:2], prompts[:2])
    report_line(
        f"EE frequency attack, 40-token chain: rank {rank_only}, bigram {full}, 2 prompts {few}"
    )
    assert full == (1.0, 1.0)  # every occurrence and every observed id
    assert rank_only[0] < 0.9  # unigram ranks alone are not enough: the bigrams do the work
    assert few[0] < full[0]


def test_the_frequency_attack_takes_encrypted_ids_and_public_text_only():
    assert set(inspect.signature(frequency_attack).parameters) == {
        "observed",
        "prior",
        "rounds",
        "min_count",
    }
    source = inspect.getsource(ee_attacks_freq)
    assert "vocab_perm" not in source and "privacy.ee" not in source
