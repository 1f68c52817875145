"""Real small models (slow): SmolLM2-135M-Instruct and all-MiniLM-L6-v2, prepared once."""

from __future__ import annotations

import pytest
import torch

from inference_worker.models import read_manifest, verify_shard_weights
from inference_worker.pipeline.generate import (
    embed_sentences,
    generate,
    reference_embed,
    reference_generate,
)
from inference_worker.pipeline.shard import load_shard

pytestmark = pytest.mark.slow

SMOLLM2_ROUTES = {1: [(0, 30)], 2: [(0, 15), (15, 30)], 3: [(0, 10), (10, 21), (21, 30)]}


@pytest.fixture(scope="module")
def smollm2_prompt(smollm2_dir) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir), local_files_only=True)
    messages = [{"role": "user", "content": "What is the capital of France? Answer briefly."}]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(encoded["input_ids"])


def test_smollm2_manifest_and_every_span_verify(smollm2_dir):
    manifest = read_manifest(smollm2_dir)
    assert (manifest.family, manifest.num_layers, manifest.hidden_size) == ("llama", 30, 576)
    for spans in SMOLLM2_ROUTES.values():
        for a, b in spans:
            verify_shard_weights(smollm2_dir, a, b, manifest)


@pytest.fixture(scope="module")
def smollm2_reference(smollm2_dir, smollm2_prompt) -> list[int]:
    return reference_generate(smollm2_dir, smollm2_prompt, 64, eos_ids=set())


def test_converted_smollm2_answers_sensibly(smollm2_dir, smollm2_reference):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir), local_files_only=True)
    assert "Paris" in tokenizer.decode(smollm2_reference, skip_special_tokens=True)


@pytest.mark.parametrize("num_shards", [1, 2, 3])
def test_sharded_smollm2_greedy_matches_transformers_generate(
    smollm2_dir, smollm2_prompt, smollm2_reference, num_shards
):
    shards = [load_shard(smollm2_dir, a, b) for a, b in SMOLLM2_ROUTES[num_shards]]
    result = generate(shards, smollm2_prompt, max_new_tokens=64, eos_ids=set())
    assert len(result.tokens) == 64
    assert result.tokens == smollm2_reference


def test_sharded_smollm2_stops_at_its_eos_like_transformers(smollm2_dir, smollm2_prompt):
    expected = reference_generate(smollm2_dir, smollm2_prompt, 64)
    shards = [load_shard(smollm2_dir, a, b) for a, b in SMOLLM2_ROUTES[2]]
    assert generate(shards, smollm2_prompt, max_new_tokens=64).tokens == expected


@pytest.mark.parametrize("spans", [[(0, 6)], [(0, 3), (3, 6)], [(0, 1), (1, 4), (4, 6)]])
def test_sharded_minilm_embeddings_match_unsharded(minilm_dir, spans):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir), local_files_only=True)
    sentences = ["A man is eating food.", "The weather is lovely today, isn't it?", "Hi"]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    expected = reference_embed(minilm_dir, batch["input_ids"], batch["attention_mask"])
    shards = [load_shard(minilm_dir, a, b) for a, b in spans]
    got = embed_sentences(shards, batch["input_ids"], batch["attention_mask"])
    assert got.shape == (3, 384)
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)
