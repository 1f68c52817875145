"""Acceleration methods: EXACT methods give the plain path's tokens (greedy and seeded sampling,
tiny models split in two hops, and SmolLM2); LOSSY ones are refused on EXACT jobs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from inference_worker.accel.methods import (  # noqa: E402
    METHODS,
    MethodRefusedError,
    NotApplicableError,
    PrecisionClass,
    UnknownMethodError,
    check_allowed,
    get_method,
    parse_option,
)
from inference_worker.accel.run import (  # noqa: E402
    PrefixStore,
    find_draft,
    generate_accelerated,
)
from inference_worker.accel.weights import (  # noqa: E402
    Int8MixedLinear,
    layer_bytes,
    load_method_shards,
)
from inference_worker.pipeline.generate import Sampling, generate  # noqa: E402
from inference_worker.pipeline.shard import load_shard  # noqa: E402

EXACT = [name for name, m in METHODS.items() if m.precision is PrecisionClass.EXACT]
LOSSY = [name for name, m in METHODS.items() if m.precision is PrecisionClass.LOSSY]
# Repetitive on purpose, so that prompt lookup finds drafts and the prefix store is hit.
PROMPT = [5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 5, 6, 7, 10, 11, 12] * 2


def two_hops(model_dir, family):
    last = 4 if family == "gpt2" else 5
    return [load_shard(model_dir, 0, 2), load_shard(model_dir, 2, last)]


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("sampling", [None, Sampling(seed=7, temperature=0.8, top_k=20)])
def test_exact_methods_give_the_plain_tokens(tiny_models, family, sampling):
    shards = two_hops(tiny_models[family], family)
    plain = generate(shards, PROMPT, max_new_tokens=24, sampling=sampling).tokens
    store = PrefixStore()
    for name in EXACT:
        for _ in range(2 if METHODS[name].prefix_cache else 1):  # the 2nd run reuses the prefix
            result = generate_accelerated(
                shards, PROMPT, METHODS[name], max_new_tokens=24, sampling=sampling,
                prefix_store=store, threads=1,
            )  # fmt: skip
            assert result.tokens == plain, name
    assert store.hits >= 3  # prefix: 1 hit; prefix_pld10: 2 (the entry prefix stored)


def test_prompt_lookup_really_drafts_and_accepts(tiny_models):
    """A draft path that never accepted anything would also give the plain tokens: check that
    the tiny GPT-2 (which falls into repeating "4") makes verify passes accept drafts."""
    shards = two_hops(tiny_models["gpt2"], "gpt2")
    calls = []
    original = shards[-1].head
    shards[-1].head = lambda h, **kw: calls.append(h.shape[1]) or original(h, **kw)
    try:
        result = generate_accelerated(shards, [40], METHODS["pld10"], max_new_tokens=60)
    finally:
        shards[-1].head = original
    assert result.tokens == generate(shards, [40], max_new_tokens=60).tokens
    assert max(calls[1:]) > 1  # verify passes over several positions happened
    assert len(calls) <= 55  # ... and they accepted drafts (plain: 60 passes; here 52)


def test_find_draft_follows_the_latest_match():
    assert find_draft([1, 2, 3, 9, 1, 2, 3, 7, 1, 2, 3], 2) == [7, 1]
    assert find_draft([4, 5, 6], 3) == []
    assert find_draft([1, 2, 1], 5) == [2, 1]


def test_prefix_store_misses_a_short_shared_prefix(tiny_models):
    shards = two_hops(tiny_models["llama"], "llama")
    store = PrefixStore()
    method = METHODS["prefix"]
    generate_accelerated(
        shards, [3, 4, 5, 6, 7, 8, 9], method, max_new_tokens=2, prefix_store=store
    )
    generate_accelerated(
        shards, [3, 4, 5, 6, 7, 8, 10], method, max_new_tokens=2, prefix_store=store
    )
    assert store.hits == 0  # 6 shared tokens < MIN_SHARED_PREFIX


def test_prefix_store_result_matches_plain_on_a_different_suffix(tiny_models):
    shards = two_hops(tiny_models["gpt2"], "gpt2")
    store = PrefixStore()
    first, second = PROMPT + [20, 21], PROMPT + [30, 31, 32]
    generate_accelerated(shards, first, METHODS["prefix"], max_new_tokens=8, prefix_store=store)
    got = generate_accelerated(
        shards, second, METHODS["prefix"], max_new_tokens=8, prefix_store=store
    ).tokens
    assert store.hits == 1 and store.reused_tokens == len(PROMPT)
    assert got == generate(shards, second, max_new_tokens=8).tokens


def test_lossy_method_is_refused_on_an_exact_job():
    for name in LOSSY:
        with pytest.raises(MethodRefusedError) as err:
            check_allowed(METHODS[name], PrecisionClass.EXACT)
        assert err.value.code == 2
        check_allowed(METHODS[name], PrecisionClass.LOSSY)  # allowed where declared
    for name in EXACT:
        check_allowed(METHODS[name], PrecisionClass.EXACT)


def test_unknown_and_inapplicable_methods_are_typed_errors(tiny_models):
    with pytest.raises(UnknownMethodError):
        get_method("turbo")
    with pytest.raises(UnknownMethodError):
        parse_option("turbo/t2")
    assert parse_option("pld10/t2") == (METHODS["pld10"], 2)
    shards = two_hops(tiny_models["llama"], "llama")
    with pytest.raises(NotApplicableError):  # tiny llama: 256 positions
        generate_accelerated(shards, PROMPT, METHODS["static"], max_new_tokens=400)


def test_int8_mixed_keeps_outlier_columns_in_fp32():
    torch.manual_seed(0)
    weight = torch.randn(16, 32)
    outliers = torch.tensor([3, 17])
    layer = Int8MixedLinear(weight, None, outliers)
    assert layer.q.dtype == torch.int8 and torch.equal(layer.w_outliers, weight[:, outliers])
    x = torch.randn(4, 32)
    x[:, outliers] *= 100.0  # outlier activations, as in real LLMs
    exact = x @ weight.T
    mixed_err = (layer(x) - exact).abs().max()
    plain_err = Int8MixedLinear(weight, None, torch.tensor([], dtype=torch.long))(x) - exact
    assert mixed_err < plain_err.abs().max() / 10  # the decomposition is what keeps it close


def test_lossy_weights_shrink_layers_and_still_generate(tiny_models):
    spans = [(0, 2), (2, 5)]
    fp32 = load_method_shards(tiny_models["llama"], spans, METHODS["plain"])
    for name in ("bf16", "int8mix"):
        shards = load_method_shards(
            tiny_models["llama"], spans, METHODS[name], calibration_ids=PROMPT
        )
        assert sum(layer_bytes(shards[1])) < 0.6 * sum(layer_bytes(fp32[1])), name
        result = generate_accelerated(shards, PROMPT, METHODS[name], max_new_tokens=8)
        assert len(result.tokens) == 8


@pytest.mark.slow
def test_exact_methods_on_smollm2_short_prompt(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    text = "The cat sat on the mat. The dog sat on the log. The cat sat on the"
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": f"Repeat exactly: {text}"}], add_generation_prompt=True
    )
    prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    shards = [load_shard(smollm2_dir, 0, 30)]
    plain = generate(shards, prompt, max_new_tokens=16).tokens
    store = PrefixStore()
    for name in EXACT:
        got = generate_accelerated(
            shards, prompt, METHODS[name], max_new_tokens=16, prefix_store=store
        )
        assert got.tokens == plain, name
