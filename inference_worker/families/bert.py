"""BERT family: BertModel encoders used for embedding jobs (all-MiniLM-L6-v2 and the like).

Mirrors ``BertModel.forward`` (no pooler) for the layers, then sentence-transformers' pipeline
for all-MiniLM-L6-v2 at the last hop: mean pooling over real tokens, then L2 normalization.
Encoders see the whole input at once, so there is no KV cache.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertModel, Cache, PretrainedConfig
from transformers.masking_utils import create_bidirectional_mask

from inference_worker.families import Family, SpanParts


class BertFamily(Family):
    name = "bert"
    kind = "encoder"
    model_types = ("bert",)
    embed_paths = ("embeddings",)
    head_paths = ()  # mean pooling + normalization have no weights

    def build_skeleton(self, config: PretrainedConfig) -> nn.Module:
        if not isinstance(config, BertConfig):
            raise TypeError(f"bert family needs a BertConfig, got {type(config).__name__}")
        if config.is_decoder:
            raise ValueError("a BERT decoder is not an encoder this family serves")
        return BertModel(config, add_pooling_layer=False)

    def tiny_config(self) -> PretrainedConfig:
        return BertConfig(
            vocab_size=96,
            hidden_size=32,
            num_hidden_layers=3,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=64,
            pad_token_id=0,
        )

    def layer_path(self, index: int) -> str:
        return f"encoder.layer.{index}"

    def embed(
        self, parts: SpanParts, input_ids: torch.Tensor, *, positions: torch.Tensor
    ) -> torch.Tensor:
        # Word + position + token-type (all type 0) embeddings, then LayerNorm.
        return parts.modules["embeddings"](input_ids=input_ids, position_ids=positions)

    def run_layers(
        self,
        parts: SpanParts,
        hidden: torch.Tensor,
        *,
        kv_cache: Cache | None,
        positions: torch.Tensor,
        attention_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        if kv_cache is not None:
            raise ValueError("encoders keep no KV cache")
        # Padding mask (batch, seq) -> what the configured attention needs (or None).
        mask = create_bidirectional_mask(
            config=parts.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for layer in parts.layers:
            hidden = layer(hidden, attention_mask=mask)  # (batch, seq, hidden)
        return hidden

    def pool(
        self, parts: SpanParts, hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        return mean_pool_normalize(hidden, attention_mask)


def mean_pool_normalize(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' mean pooling then L2 normalization.

    hidden (batch, seq, hidden), attention_mask (batch, seq) of 0/1 -> (batch, hidden).
    """
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    summed = (hidden * weights).sum(dim=1)  # (batch, hidden)
    counts = weights.sum(dim=1).clamp(min=1e-9)  # (batch, 1)
    return nn.functional.normalize(summed / counts, p=2, dim=1)


FAMILY = BertFamily()
