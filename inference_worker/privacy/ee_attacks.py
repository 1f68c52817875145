"""Attacks on equivariant encryption (issue 19), run as a curious worker would.

Sorting-based vocabulary matching ("Hidden No More", arXiv 2505.18332). A worker serving hops
[k, ...) of an EE-transformed llama model receives the residual stream after layer k,
``x_enc = x @ Q`` with Q a signed permutation (``ee.EEKey``). A sign flip and a permutation
leave the multiset of ``|values|`` of every vector unchanged, so ``sort(|x_enc|) ==
sort(|x|)`` up to rounding: the worker compares that profile against the profiles of the
PUBLIC checkpoint's layer-k states for candidate tokens and keeps the nearest. It uses only
what it holds: the states it was sent, the public base model, and k; never the key, the
encrypted ids or the owner's tokenizer.

Candidates, per position i (greedy, left to right):

1. shortlist: the ``shortlist`` tokens whose context-free profile (the token alone, as a
   one-token sequence, through layers < k) is nearest to the observed one;
2. rerank: each shortlisted token appended to the attacker's own recovered prefix, run
   through the public model's first k layers; the nearest last-position profile wins.

With ``shortlist >= vocab`` this is the paper's exhaustive contextual search. Errors in the
recovered prefix propagate (the measured rate includes that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import DynamicCache


def sorted_profile(hidden: torch.Tensor) -> torch.Tensor:
    """(..., hidden) -> (..., hidden) ascending sorted |values|: invariant under any signed
    permutation of the last dimension."""
    return hidden.abs().sort(dim=-1).values


def layer_states(
    model: Any, ids: torch.Tensor, layers: Sequence[int], *, cache: Any = None
) -> dict[int, torch.Tensor]:
    """Residual stream after decoder layer k (k >= 1) for each k in `layers`, running only the
    first max(layers) layers of a llama-family model (base or causal LM). (batch, seq) ids ->
    {k: (batch, seq, hidden) float32}. `cache`: a transformers Cache of a prefix run through
    the same layers (filled further in place), or None."""
    base = getattr(model, "model", model)
    if not layers or min(layers) < 1 or max(layers) > len(base.layers):
        raise ValueError(f"layers must lie in [1, {len(base.layers)}], got {list(layers)}")
    captured: dict[int, torch.Tensor] = {}
    handles = []

    def hook_for(k: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            captured[k] = (output[0] if isinstance(output, tuple) else output).float()

        return hook

    for k in sorted(set(layers)):
        handles.append(base.layers[k - 1].register_forward_hook(hook_for(k)))
    full = base.layers
    try:
        base.layers = full[: max(layers)]
        with torch.inference_mode():
            base(input_ids=ids, past_key_values=cache, use_cache=cache is not None)
    finally:
        base.layers = full
        for h in handles:
            h.remove()
    return captured


def vocab_profiles(
    public_model: Any, vocab: int, layers: Sequence[int], *, batch: int = 2048
) -> dict[int, torch.Tensor]:
    """{k: (vocab, hidden)} context-free sorted profiles: every token alone through the public
    model's first k layers (the attacker's one-off precomputation)."""
    out: dict[int, list[torch.Tensor]] = {k: [] for k in layers}
    for start in range(0, vocab, batch):
        ids = torch.arange(start, min(start + batch, vocab)).unsqueeze(1)
        states = layer_states(public_model, ids, layers)
        for k in layers:
            out[k].append(sorted_profile(states[k][:, 0]))
    return {k: torch.cat(v) for k, v in out.items()}


def recover_tokens(
    observed: torch.Tensor,
    public_model: Any,
    layer: int,
    profiles: torch.Tensor,
    *,
    shortlist: int = 8,
) -> list[int]:
    """Plain token ids guessed from (seq, hidden) encrypted layer-`layer` states of one prompt.

    `profiles` is ``vocab_profiles(public_model, ...)[layer]``; nothing here sees the key."""
    observed_profile = sorted_profile(observed.float())  # (seq, hidden)
    k = min(shortlist, profiles.shape[0])
    recovered: list[int] = []
    for i in range(observed.shape[0]):
        target = observed_profile[i]
        cands = torch.cdist(target[None], profiles)[0].topk(k, largest=False).indices
        cache = None
        if recovered:  # the prefix once, its KV cache shared by the k candidates
            cache = DynamicCache(config=public_model.config)
            layer_states(public_model, torch.tensor([recovered]), [layer], cache=cache)
            cache.batch_repeat_interleave(k)
        states = layer_states(public_model, cands[:, None], [layer], cache=cache)[layer]
        last = sorted_profile(states[:, -1])
        recovered.append(int(cands[int(((last - target) ** 2).sum(-1).argmin())]))
    return recovered


def recovery_rate(guessed: Sequence[int], plain: Sequence[int]) -> float:
    """Fraction of positions where the guess is the plain token (measurement only)."""
    if len(guessed) != len(plain) or not plain:
        raise ValueError("guessed and plain must be non-empty and of one length")
    return sum(int(g == p) for g, p in zip(guessed, plain, strict=True)) / len(plain)
