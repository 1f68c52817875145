"""Llama family: LlamaForCausalLM and models that share its layout (SmolLM2, TinyLlama, ...).

Mirrors ``LlamaModel.forward`` / ``LlamaForCausalLM.forward`` of transformers: the same mask
builder, rotary embedding and decoder layers, called for the span's layers only.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import Cache, DynamicCache, LlamaConfig, LlamaForCausalLM, PretrainedConfig
from transformers.masking_utils import create_causal_mask

from inference_worker.families import Family, SpanParts


class LlamaFamily(Family):
    name = "llama"
    kind = "causal_lm"
    model_types = ("llama",)
    embed_paths = ("model.embed_tokens",)
    head_paths = ("model.norm", "lm_head")

    def build_skeleton(self, config: PretrainedConfig) -> nn.Module:
        if not isinstance(config, LlamaConfig):
            raise TypeError(f"llama family needs a LlamaConfig, got {type(config).__name__}")
        return LlamaForCausalLM(config)

    def tiny_config(self) -> PretrainedConfig:
        # Untied head and grouped-query attention (2 KV heads for 4 query heads) on purpose.
        return LlamaConfig(
            vocab_size=96,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=5,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
            rms_norm_eps=1e-6,
            tie_word_embeddings=False,
            bos_token_id=1,
            eos_token_id=None,  # tests choose their own stop token
            pad_token_id=None,
        )

    def layer_path(self, index: int) -> str:
        return f"model.layers.{index}"

    def tied_weights(self, config: PretrainedConfig) -> dict[str, str]:
        if config.tie_word_embeddings:
            return {"lm_head.weight": "model.embed_tokens.weight"}
        return {}

    def build_helpers(self, skeleton: nn.Module, config: PretrainedConfig) -> dict[str, nn.Module]:
        # Rotary embedding: only buffers (inverse frequencies), computed from the config.
        return {"rotary_emb": skeleton.get_submodule("model.rotary_emb")}

    def new_kv_cache(self, config: PretrainedConfig) -> Cache:
        # One (empty, lazily grown) cache layer per model layer: a span fills only its own
        # layers, addressed by their global index like the full model does.
        return DynamicCache(config=config)

    def embed(
        self, parts: SpanParts, input_ids: torch.Tensor, *, positions: torch.Tensor
    ) -> torch.Tensor:
        return parts.modules["model.embed_tokens"](input_ids)  # (batch, seq, hidden)

    def run_layers(
        self,
        parts: SpanParts,
        hidden: torch.Tensor,
        *,
        kv_cache: Cache | None,
        positions: torch.Tensor,
        attention_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        # Size the mask against the span's first layer: earlier layers live on other hops.
        mask = create_causal_mask(
            config=parts.config,
            inputs_embeds=hidden,
            attention_mask=attention_mask,
            past_key_values=kv_cache,
            position_ids=positions,
            layer_idx=parts.start if kv_cache is not None else None,
        )
        # (cos, sin), each (batch|1, seq, head_dim)
        rotary = parts.helpers["rotary_emb"](hidden, position_ids=positions)
        for layer in parts.layers:
            hidden = layer(
                hidden,
                attention_mask=mask,
                position_embeddings=rotary,
                position_ids=positions,
                past_key_values=kv_cache,
                use_cache=kv_cache is not None,
            )  # (batch, seq, hidden)
        return hidden

    def head(self, parts: SpanParts, hidden: torch.Tensor, *, last_only: bool) -> torch.Tensor:
        # As LlamaForCausalLM: norm over every position, then keep the last, then the LM head.
        hidden = parts.modules["model.norm"](hidden)  # (batch, seq, hidden)
        if last_only:
            return parts.modules["lm_head"](hidden[:, -1:, :])[:, -1, :]  # (batch, vocab)
        return parts.modules["lm_head"](hidden)  # (batch, seq, vocab)


FAMILY = LlamaFamily()
