"""Sharded execution equals unsharded execution (tiny seeded models, fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference_worker.models import read_manifest, stored_tensors
from inference_worker.pipeline.generate import (
    Sampling,
    embed_sentences,
    generate,
    reference_embed,
    reference_generate,
)
from inference_worker.pipeline.shard import Shard, ShardError, load_shard

PROMPTS = ([1, 5, 9, 22, 7, 3], [4], [10, 20, 30, 40, 50, 60, 70, 80, 90, 11, 12])
# Cut points (exclusive ends, the last one implied) for 1, 2 and 3 shards.
SPLITS = {1: (), 2: (2,), 3: (1, 3)}


def load_route(model_dir: Path, cuts: tuple[int, ...]) -> list[Shard]:
    num_layers = read_manifest(model_dir).num_layers
    bounds = [0, *cuts, num_layers]
    return [load_shard(model_dir, a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


@pytest.fixture(scope="module")
def references(tiny_models) -> dict[str, list[list[int]]]:
    """family -> transformers generate's 64 greedy tokens for each of PROMPTS."""
    from transformers import AutoModelForCausalLM

    out = {}
    for family in ("llama", "gpt2"):
        model = AutoModelForCausalLM.from_pretrained(tiny_models[family], dtype=torch.float32)
        out[family] = [reference_generate("", p, 64, model=model.eval()) for p in PROMPTS]
    return out


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("num_shards", [1, 2, 3])
def test_sharded_greedy_matches_transformers_generate(tiny_models, references, family, num_shards):
    shards = load_route(tiny_models[family], SPLITS[num_shards])
    for prompt, expected in zip(PROMPTS, references[family], strict=True):
        result = generate(shards, prompt, max_new_tokens=64)
        assert len(expected) == 64
        assert result.tokens == expected
        assert len(set(expected)) > 5  # the tiny model's text varies: the KV cache matters


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_sharded_logits_are_bit_identical_to_unsharded(tiny_models, family):
    one, three = load_route(tiny_models[family], ()), load_route(tiny_models[family], (1, 3))
    caches_one, caches_three = [s.new_cache() for s in one], [s.new_cache() for s in three]
    ids = torch.tensor([PROMPTS[0]])
    for _ in range(16):  # prefill, then 15 single-token steps
        logits = []
        for shards, caches in ((one, caches_one), (three, caches_three)):
            hidden = shards[0].embed(ids, cache=caches[0])
            for shard, cache in zip(shards, caches, strict=True):
                hidden = shard.forward(hidden, cache=cache)
            logits.append(shards[-1].head(hidden))
        assert torch.equal(logits[0], logits[1])
        ids = logits[0].argmax(-1, keepdim=True)  # (1, 1)


def test_generation_stops_at_eos_like_transformers(tiny_models, references):
    model_dir = tiny_models["llama"]
    eos = references["llama"][0][10]
    expected = reference_generate(model_dir, PROMPTS[0], 64, eos_ids={eos})
    result = generate(load_route(model_dir, (2,)), PROMPTS[0], max_new_tokens=64, eos_ids={eos})
    assert result.tokens == expected
    assert result.stopped_at_eos and result.tokens[-1] == eos and len(result.tokens) <= 11


def test_generation_without_stop_token_runs_to_max_new_tokens(tiny_models):
    result = generate(load_route(tiny_models["gpt2"], (2,)), [3, 4], max_new_tokens=7)
    assert len(result.tokens) == 7 and not result.stopped_at_eos


def test_stateless_forward_matches_transformers_teacher_forcing(tiny_models):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_models["llama"], dtype=torch.float32)
    ids = torch.tensor([PROMPTS[2]])
    expected = model.eval()(ids).logits  # (1, seq, vocab)
    shards = load_route(tiny_models["llama"], (2, 3))
    hidden = shards[0].embed(ids)
    for shard in shards:
        hidden = shard.forward(hidden)  # no cache: one parallel pass over the sequence
    assert torch.allclose(shards[-1].head(hidden, last_only=False), expected, atol=1e-5)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_seeded_sampling_is_reproducible_and_independent_of_sharding(tiny_models, family):
    sampling = Sampling(seed=7, temperature=0.8, top_k=20)
    one = generate(
        load_route(tiny_models[family], ()), PROMPTS[0], max_new_tokens=32, sampling=sampling
    )
    three = generate(
        load_route(tiny_models[family], (1, 3)), PROMPTS[0], max_new_tokens=32, sampling=sampling
    )
    other = generate(
        load_route(tiny_models[family], ()),
        PROMPTS[0],
        max_new_tokens=32,
        sampling=Sampling(seed=8),
    )
    assert one.tokens == three.tokens
    assert one.tokens != other.tokens


def test_top_k_one_sampling_is_greedy(tiny_models):
    shards = load_route(tiny_models["llama"], ())
    greedy = generate(shards, PROMPTS[0], max_new_tokens=16)
    top1 = generate(shards, PROMPTS[0], max_new_tokens=16, sampling=Sampling(seed=3, top_k=1))
    assert top1.tokens == greedy.tokens


@pytest.mark.parametrize("num_shards", [1, 2, 3])
def test_sharded_bert_embeddings_match_unsharded(tiny_models, num_shards):
    model_dir = tiny_models["bert"]
    # Two sentences of different lengths: the second is padded, padding must not count.
    input_ids = torch.tensor([[2, 17, 33, 41, 9, 3], [2, 50, 61, 3, 0, 0]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    expected = reference_embed(model_dir, input_ids, attention_mask)
    cuts = {1: (), 2: (1,), 3: (1, 2)}[num_shards]
    got = embed_sentences(load_route(model_dir, cuts), input_ids, attention_mask)
    assert got.shape == (2, 32)
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)
    assert torch.allclose(got.norm(dim=1), torch.ones(2), atol=1e-6)


def test_span_loading_memory_is_proportional_to_the_span(tiny_models):
    model_dir = tiny_models["llama"]
    stored = stored_tensors(model_dir)

    def file_bytes(prefixes: tuple[str, ...]) -> int:
        return sum(t.end - t.begin for n, t in stored.items() if n.startswith(prefixes))

    layer_bytes = [file_bytes((f"model.layers.{i}.",)) for i in range(5)]
    embed_bytes = file_bytes(("model.embed_tokens.",))
    head_bytes = file_bytes(("model.norm.", "lm_head."))
    total = sum(t.end - t.begin for t in stored.values())

    assert load_shard(model_dir, 2, 3).parameter_bytes() == layer_bytes[2]
    assert load_shard(model_dir, 1, 4).parameter_bytes() == sum(layer_bytes[1:4])
    assert load_shard(model_dir, 0, 1).parameter_bytes() == embed_bytes + layer_bytes[0]
    assert load_shard(model_dir, 4, 5).parameter_bytes() == layer_bytes[4] + head_bytes
    assert load_shard(model_dir, 0, 5).parameter_bytes() == total
    assert layer_bytes[2] < total / 5


def test_tied_head_loads_the_embedding_once_and_counts_once(tiny_models):
    model_dir = tiny_models["gpt2"]
    stored = stored_tensors(model_dir)
    assert "lm_head.weight" not in stored  # tied: stored once, as transformer.wte.weight
    whole = load_shard(model_dir, 0, 4)
    assert whole.parameter_bytes() == sum(t.end - t.begin for t in stored.values())
    last = load_shard(model_dir, 3, 4)
    wte = stored["transformer.wte.weight"]
    assert torch.equal(
        last.parts.modules["lm_head"].weight, whole.parts.modules["transformer.wte"].weight
    )
    assert last.parameter_bytes() > wte.end - wte.begin


def test_load_shard_rejects_empty_or_out_of_range_spans(tiny_models):
    for start, end in ((2, 2), (3, 1), (-1, 2), (0, 6)):
        with pytest.raises(ShardError, match="not a non-empty part"):
            load_shard(tiny_models["llama"], start, end)


def test_middle_shard_refuses_embed_and_head(tiny_models):
    middle = load_shard(tiny_models["llama"], 1, 3)
    with pytest.raises(ShardError, match="no embedding"):
        middle.embed(torch.tensor([[1, 2]]))
    with pytest.raises(ShardError, match="no LM head"):
        middle.head(torch.zeros(1, 1, 64))
    with pytest.raises(ShardError, match="no pooling head"):
        middle.pool(torch.zeros(1, 1, 64), torch.ones(1, 1))


def test_shard_rejects_bad_inputs(tiny_models):
    first = load_shard(tiny_models["llama"], 0, 2)
    other = load_shard(tiny_models["llama"], 2, 5)
    with pytest.raises(ShardError, match="hidden must be"):
        first.forward(torch.zeros(1, 3, 63), cache=first.new_cache())
    with pytest.raises(ShardError, match="another span"):
        first.forward(torch.zeros(1, 3, 64), cache=other.new_cache())
    with pytest.raises(ShardError, match="token id out of range"):
        first.embed(torch.tensor([[1, 96]]))
    with pytest.raises(ShardError, match="input_ids must be"):
        first.embed(torch.tensor([1, 2]))
    with pytest.raises(ShardError, match="input_ids must be"):
        first.embed(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ShardError, match="positions must be"):
        first.forward(torch.zeros(1, 3, 64), positions=torch.arange(2).unsqueeze(0))


def test_encoder_shards_keep_no_cache(tiny_models):
    shard = load_shard(tiny_models["bert"], 0, 3)
    with pytest.raises(ShardError, match="no KV cache"):
        shard.new_cache()
    with pytest.raises(ShardError, match="no LM head"):
        shard.head(torch.zeros(1, 2, 32))


def test_generate_rejects_a_route_with_a_gap(tiny_models):
    shards = [load_shard(tiny_models["llama"], 0, 2), load_shard(tiny_models["llama"], 3, 5)]
    with pytest.raises(ShardError, match="not adjacent"):
        generate(shards, [1, 2], max_new_tokens=2)
    with pytest.raises(ShardError, match="start at layer 0"):
        generate(shards[1:], [1, 2], max_new_tokens=2)


def test_sessions_are_independent(tiny_models):
    shards = load_route(tiny_models["llama"], (2,))
    alone = generate(shards, PROMPTS[1], max_new_tokens=12).tokens
    # Interleave two sessions step by step on the same shards: each keeps its own caches.
    sessions = [[s.new_cache() for s in shards] for _ in range(2)]
    ids = [torch.tensor([PROMPTS[0]]), torch.tensor([PROMPTS[1]])]
    tokens: list[list[int]] = [[], []]
    for _ in range(12):
        for k in (0, 1):
            hidden = shards[0].embed(ids[k], cache=sessions[k][0])
            for shard, cache in zip(shards, sessions[k], strict=True):
                hidden = shard.forward(hidden, cache=cache)
            tokens[k].append(int(shards[-1].head(hidden).argmax()))
            ids[k] = torch.tensor([[tokens[k][-1]]])
    assert tokens[1] == alone
