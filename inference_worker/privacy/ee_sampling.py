"""A seeded sampler whose draw does not depend on the order of the vocabulary (issue 19 item 3).

The pipeline's sampler (``pipeline.generate.select_token``) draws with ``torch.multinomial``
over the probabilities in vocabulary order, so under an EE vocabulary permutation the same seed
picks a different token. Changing it would change the output of every existing public sampled
job, so this is an opt-in rule, not wired into the workers yet (a job would have to name it):

    sort the logits descending (values only), take the softmax and cumulative sum of the
    sorted vector, draw u ~ U[0, 1) from the seeded generator, pick the first rank whose
    cumulative probability exceeds u, and return the id at that rank.

Every arithmetic step runs on the sorted values, so a permuted vocabulary with bit-identical
logits gives the same rank and therefore the same plain token. Exact ties between different
tokens are ordered by id (stable sort), the one place where the vocabulary order still shows:
two tokens with bit-identical logits are interchangeable in probability but not in identity.
"""

from __future__ import annotations

import torch


def select_token_by_rank(
    logits: torch.Tensor, generator: torch.Generator, *, temperature: float = 1.0, top_k: int = 0
) -> int:
    """One seeded draw from (vocab,) `logits` by rank (module docstring); one uniform used."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    values, ids = torch.sort(logits.float() / temperature, descending=True, stable=True)
    if 0 < top_k < values.numel():
        values, ids = values[:top_k], ids[:top_k]
    cumulative = torch.cumsum(torch.softmax(values, dim=-1), dim=-1)
    u = float(torch.rand((), generator=generator))
    rank = int(torch.searchsorted(cumulative, torch.tensor([u]), right=True)[0])
    return int(ids[min(rank, ids.numel() - 1)])
