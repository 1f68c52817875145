"""What a worker serving layers k.. of a split job recovers from the hidden states it is sent,
on the tiny seeded llama (vocab 96, 5 layers). The worker holds the public weights and k only."""

from __future__ import annotations

import inspect

import pytest
import torch

from inference_worker.privacy import leakage
from inference_worker.privacy.ee_attacks import layer_states
from inference_worker.privacy.leakage import (
    accuracy,
    context_free_states,
    fit_probe,
    probe_predict,
    probe_topk,
    random_orthogonal,
    recover_split_tokens,
)

VOCAB = 96  # the tiny llama's


@pytest.fixture(scope="module")
def public(tiny_models):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_models["llama"])).eval()


def _prompts(seed: int, rows: int = 3, cols: int = 6) -> torch.Tensor:
    return torch.randint(0, VOCAB, (rows, cols), generator=torch.Generator().manual_seed(seed))


def _attack(public, observed: torch.Tensor, layer: int, **kw) -> tuple[list[int], int]:
    vocab_states = context_free_states(public, VOCAB, [layer])[layer]
    guessed, fallbacks = [], 0
    for row in observed:
        r = recover_split_tokens(row, public, layer, vocab_states, **kw)
        guessed += r.tokens
        fallbacks += sum(r.fallback)
    return guessed, fallbacks


def test_worker_recovers_the_prompt_from_depth_1_states(public, report_line):
    prompts = _prompts(5)
    observed = layer_states(public, prompts, [1])[1]  # what a split at depth 1 sends
    guessed, fallbacks = _attack(public, observed, 1, shortlist=4)
    rate = accuracy(guessed, prompts.flatten().tolist())
    report_line(f"split leakage tiny llama depth 1: {rate:.0%} of {len(guessed)} tokens")
    assert rate >= 0.9
    assert fallbacks > 0  # a 4-token shortlist misses: the exhaustive search did the rest


def test_without_the_fallback_a_short_shortlist_misses_tokens(public):
    prompts = _prompts(5)
    observed = layer_states(public, prompts, [1])[1]
    with_fb, _ = _attack(public, observed, 1, shortlist=1)
    without, fallbacks = _attack(public, observed, 1, shortlist=1, threshold=float("inf"))
    truth = prompts.flatten().tolist()
    assert fallbacks == 0
    assert accuracy(without, truth) < accuracy(with_fb, truth)


def test_the_fallback_cap_limits_the_exhaustive_searches(public):
    prompts = _prompts(5, rows=1)
    observed = layer_states(public, prompts, [2])[2]
    vocab_states = context_free_states(public, VOCAB, [2])[2]
    r = recover_split_tokens(observed[0], public, 2, vocab_states, shortlist=1, max_fallbacks=1)
    assert sum(r.fallback) == 1
    assert len(r.tokens) == len(r.distance) == len(r.seconds) == prompts.shape[1]


def test_a_secret_transform_before_the_split_defeats_plain_matching(public):
    """Harness sanity check (not a privacy claim): states the public model cannot reproduce
    are not matched."""
    prompts = _prompts(5, rows=1)
    observed = layer_states(public, prompts, [1])[1] @ random_orthogonal(64, seed=7)
    guessed, _ = _attack(public, observed, 1, shortlist=4)
    assert accuracy(guessed, prompts.flatten().tolist()) <= 0.2


def test_a_linear_probe_trained_on_public_text_beats_chance(public, report_line):
    train_ids = _prompts(1, rows=200, cols=16)  # the attacker's own public text
    test_ids = _prompts(2, rows=10, cols=16)  # the users' prompts, disjoint draws
    k = 1
    train = layer_states(public, train_ids, [k])[k].reshape(-1, 64)
    test = layer_states(public, test_ids, [k])[k].reshape(-1, 64)
    embeddings = public.get_input_embeddings().weight.detach()
    probe = fit_probe(train, train_ids.flatten(), embeddings)
    acc = accuracy(probe_predict(probe, test).tolist(), test_ids.flatten().tolist())
    report_line(f"split leakage tiny llama depth {k}: linear probe top-1 {acc:.0%}")
    assert acc > 5 / VOCAB  # chance is 1/96


def test_accuracy_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        accuracy([1, 2], [1])


def test_the_attack_takes_nothing_the_worker_lacks():
    params = set(inspect.signature(recover_split_tokens).parameters)
    assert params == {
        "observed",
        "public_model",
        "layer",
        "vocab_states",
        "shortlist",
        "threshold",
        "chunk",
        "max_fallbacks",
        "candidates",
    }
    assert "input_ids" not in inspect.getsource(leakage)


def test_a_given_shortlist_that_holds_the_truth_needs_no_exhaustive_search(public):
    prompts = _prompts(5, rows=1)
    observed = layer_states(public, prompts, [2])[2]
    vocab_states = context_free_states(public, VOCAB, [2])[2]
    decoys = _prompts(9, rows=1, cols=3 * prompts.shape[1]).reshape(prompts.shape[1], 3)
    cands = torch.cat([decoys, prompts[0][:, None]], dim=1)  # (seq, 4): truth last
    r = recover_split_tokens(observed[0], public, 2, vocab_states, candidates=cands)
    assert r.tokens == prompts[0].tolist()
    assert not any(r.fallback)


def test_the_probe_shortlist_ranks_its_top_guess_first(public):
    train_ids = _prompts(1, rows=50, cols=16)
    train = layer_states(public, train_ids, [1])[1].reshape(-1, 64)
    probe = fit_probe(train, train_ids.flatten(), public.get_input_embeddings().weight.detach())
    top = probe_topk(probe, train[:10], 5)
    assert top.shape == (10, 5)
    assert torch.equal(top[:, 0], probe_predict(probe, train[:10]))
