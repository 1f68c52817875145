"""GPT-2 family: GPT2LMHeadModel (learned absolute positions, tied LM head by default).

Mirrors ``GPT2Model.forward`` / ``GPT2LMHeadModel.forward`` of transformers. Layer indices stay
global because GPT-2 attention may scale by the inverse layer index.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import Cache, DynamicCache, GPT2Config, GPT2LMHeadModel, PretrainedConfig
from transformers.masking_utils import create_causal_mask

from inference_worker.families import Family, SpanParts


class GPT2Family(Family):
    name = "gpt2"
    kind = "causal_lm"
    model_types = ("gpt2",)
    embed_paths = ("transformer.wte", "transformer.wpe")
    head_paths = ("transformer.ln_f", "lm_head")

    def build_skeleton(self, config: PretrainedConfig) -> nn.Module:
        if not isinstance(config, GPT2Config):
            raise TypeError(f"gpt2 family needs a GPT2Config, got {type(config).__name__}")
        if config.add_cross_attention:
            raise ValueError("GPT-2 with cross-attention is not a causal LM this family serves")
        return GPT2LMHeadModel(config)

    def tiny_config(self) -> PretrainedConfig:
        # Tied head (GPT-2's default) and absolute positions.
        return GPT2Config(
            vocab_size=96,
            n_positions=256,
            n_embd=48,
            n_layer=4,
            n_head=4,
            tie_word_embeddings=True,
            bos_token_id=0,
            eos_token_id=None,
        )

    def layer_path(self, index: int) -> str:
        return f"transformer.h.{index}"

    def tied_weights(self, config: PretrainedConfig) -> dict[str, str]:
        if config.tie_word_embeddings:
            return {"lm_head.weight": "transformer.wte.weight"}
        return {}

    def new_kv_cache(self, config: PretrainedConfig) -> Cache:
        return DynamicCache(config=config)

    def embed(
        self, parts: SpanParts, input_ids: torch.Tensor, *, positions: torch.Tensor
    ) -> torch.Tensor:
        tokens = parts.modules["transformer.wte"](input_ids)  # (batch, seq, hidden)
        where = parts.modules["transformer.wpe"](positions)  # (batch|1, seq, hidden)
        return tokens + where  # dropout is the identity in eval mode

    def run_layers(
        self,
        parts: SpanParts,
        hidden: torch.Tensor,
        *,
        kv_cache: Cache | None,
        positions: torch.Tensor,
        attention_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        mask = create_causal_mask(
            config=parts.config,
            inputs_embeds=hidden,
            attention_mask=attention_mask,
            past_key_values=kv_cache,
            position_ids=positions,
            layer_idx=parts.start if kv_cache is not None else None,
        )
        for block in parts.layers:
            hidden = block(
                hidden,
                kv_cache,
                mask,
                None,  # encoder_hidden_states: none, GPT-2 here is decoder-only
                use_cache=kv_cache is not None,
                position_ids=positions,
            )  # (batch, seq, hidden)
        return hidden

    def head(self, parts: SpanParts, hidden: torch.Tensor, *, last_only: bool) -> torch.Tensor:
        hidden = parts.modules["transformer.ln_f"](hidden)  # (batch, seq, hidden)
        if last_only:
            return parts.modules["lm_head"](hidden[:, -1:, :])[:, -1, :]  # (batch, vocab)
        return parts.modules["lm_head"](hidden)  # (batch, seq, vocab)


FAMILY = GPT2Family()
