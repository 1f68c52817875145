"""LOSSY weight methods: bf16 weights, and int8 weights with LLM.int8()-style mixed decomposition.

Mixed decomposition (Dettmers et al., LLM.int8()): a few input channels of a linear layer carry
activations far larger than the rest (SmolLM2: about 10^4 x the median); rounding their weights
to int8 costs most of the error. A calibration pass over real text records each linear layer's
per-input-channel activation magnitude; channels at or above `OUTLIER_THRESHOLD` (LLM.int8's
6.0), at most `MAX_OUTLIER_FRACTION` of them, keep their weight columns in fp32, every other
column is int8 with one absmax scale per output row. The layer computes
``x @ int8.T * scale + x[:, outliers] @ w_outliers.T + bias``.

Plain torch has no fast int8 GEMM on CPU (``torch._int_mm`` is about 10x slower than the fp32
GEMM here for one token), so this saves weight memory, not time: the int8 columns are widened to
fp32 in every call. For production, weight quantization belongs to torchao (int8 weight-only and
dynamic int8 kernels); ``torch.ao.quantization`` is deprecated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from inference_worker.accel.methods import Method
from inference_worker.pipeline.shard import Shard, load_shard

OUTLIER_THRESHOLD = 6.0  # activation magnitude of an outlier input channel (LLM.int8())
MAX_OUTLIER_FRACTION_DEN = 20  # at most 1/20 (5 %) of a layer's input channels stay fp32


class Int8MixedLinear(nn.Module):
    """A linear layer whose weight is int8 except the fp32 outlier input columns."""

    q: torch.Tensor  # (out, in) int8, outlier columns zero
    scale: torch.Tensor  # (out,) fp32: weight = q * scale outside the outlier columns
    outliers: torch.Tensor  # (k,) int64 input channels kept in fp32
    w_outliers: torch.Tensor  # (out, k) fp32
    bias: torch.Tensor | None  # (out,) fp32

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, outliers: torch.Tensor):
        super().__init__()
        weight = weight.detach().float()  # (out, in)
        rest = weight.clone()
        rest[:, outliers] = 0.0
        scale = rest.abs().amax(dim=1).clamp(min=1e-12) / 127.0  # (out,)
        self.register_buffer("q", torch.round(rest / scale[:, None]).to(torch.int8))  # (out, in)
        self.register_buffer("scale", scale)
        self.register_buffer("outliers", outliers.to(torch.long))  # (k,) input channels
        self.register_buffer("w_outliers", weight[:, outliers].contiguous())  # (out, k)
        self.register_buffer("bias", None if bias is None else bias.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        y = nn.functional.linear(x, self.q.to(x.dtype)) * self.scale
        if self.outliers.numel():
            y = y + nn.functional.linear(x.index_select(-1, self.outliers), self.w_outliers)
        return y if self.bias is None else y + self.bias


def load_method_shards(
    model_dir: Path | str,
    spans: Sequence[tuple[int, int]],
    method: Method,
    *,
    calibration_ids: Sequence[int] = (),
) -> list[Shard]:
    """The route's shards loaded for `method`'s weights (fp32, bf16 or int8mix)."""
    if method.weights == "bf16":
        return [load_shard(model_dir, a, b, dtype=torch.bfloat16) for a, b in spans]
    shards = [load_shard(model_dir, a, b) for a, b in spans]
    if method.weights == "int8mix":
        quantize_int8_mixed(shards, calibration_ids)
    return shards


def _linears(shard: Shard) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, attribute, layer) of every linear / GPT-2 Conv1D inside the span's layers."""
    found: list[tuple[nn.Module, str, nn.Module]] = []
    for layer in shard.parts.layers:
        for _, parent in layer.named_modules():
            for attr, child in parent.named_children():
                if isinstance(child, nn.Linear | Conv1D):
                    found.append((parent, attr, child))
    return found


@torch.inference_mode()
def quantize_int8_mixed(shards: Sequence[Shard], calibration_ids: Sequence[int]) -> int:
    """Replace every linear in the shards' layers by an Int8MixedLinear, in place; returns the
    number of fp32 outlier columns kept. Outliers come from one pass of `calibration_ids`."""
    absmax: dict[int, torch.Tensor] = {}
    handles = []
    for shard in shards:
        for _, _, linear in _linears(shard):

            def record(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
                seen = inputs[0].detach().abs().float().flatten(0, -2).amax(dim=0)  # (in,)
                old = absmax.get(id(module))
                absmax[id(module)] = seen if old is None else torch.maximum(old, seen)

            handles.append(linear.register_forward_pre_hook(record))
    try:
        if calibration_ids:
            ids = torch.tensor([list(calibration_ids)], dtype=torch.long)
            hidden = shards[0].embed(ids)
            for shard in shards:
                hidden = shard.forward(hidden)
    finally:
        for handle in handles:
            handle.remove()
    kept = 0
    for shard in shards:
        for parent, attr, linear in _linears(shard):
            stored: torch.Tensor = linear.weight  # type: ignore[assignment]
            weight = stored.T if isinstance(linear, Conv1D) else stored  # (out, in)
            bias: torch.Tensor | None = linear.bias  # type: ignore[assignment]
            mags = absmax.get(id(linear), torch.zeros(int(weight.shape[1])))
            limit = int(weight.shape[1]) // MAX_OUTLIER_FRACTION_DEN
            order = torch.argsort(mags, descending=True, stable=True)[:limit]
            outliers = torch.sort(order[mags[order] >= OUTLIER_THRESHOLD]).values
            kept += int(outliers.numel())
            setattr(parent, attr, Int8MixedLinear(weight, bias, outliers))
    return kept


def layer_bytes(shard: Shard) -> list[int]:
    """Bytes of parameters and buffers of each layer of the span (weights as stored)."""
    sizes = []
    for layer in shard.parts.layers:
        tensors = [*layer.parameters(), *(b for b in layer.buffers() if b is not None)]
        sizes.append(sum(t.numel() * t.element_size() for t in tensors))
    return sizes
