"""Run one span of a model's layers: pure compute, no I/O beyond loading the span's tensors.

A hop of a pipeline serves layers [start, end) of a registered model. `load_shard` builds the
transformers model skeleton on the meta device (no memory), materializes only the modules the
span needs, loads exactly their tensors from safetensors with ``safe_open``, and drops the rest:
memory is proportional to the span. The math is transformers' own (its decoder layers, masks and
rotary embedding), wired by the model's family (`inference_worker.families`).

The first hop embeds token ids, every hop runs its layers, the last hop turns hidden states into
logits (causal LMs) or a sentence embedding (encoders). A causal hop keeps one `SessionCache` per
session: a prefill pass of many tokens, then one token at a time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import init_empty_weights
from safetensors import safe_open
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import AutoConfig, Cache, PretrainedConfig

from inference_worker.families import Family, SpanParts, family_for_config
from inference_worker.models import Manifest, StoredTensor, stored_tensors, verify_shard_weights


class ShardError(ValueError):
    """A shard was asked for something its span or family cannot do, or got bad input."""


@dataclass
class SessionCache:
    """KV state of one session on one causal shard (keys/values of the span's layers only)."""

    kv: Cache  # transformers cache, addressed by global layer index
    first_layer: int  # the shard's span start, where the cache length is read

    @property
    def seen_tokens(self) -> int:
        """Tokens this session has already run through the shard."""
        return int(self.kv.get_seq_length(self.first_layer))


class Shard:
    """Layers [span_start, span_end) of one model, ready to run. Create with `load_shard`."""

    def __init__(self, family: Family, parts: SpanParts, *, dtype: torch.dtype, device: str):
        self.family = family
        self.parts = parts
        self.config: PretrainedConfig = parts.config
        self.dtype = dtype
        self.device = torch.device(device)
        self.num_layers = family.num_layers(parts.config)

    @property
    def span_start(self) -> int:
        return self.parts.start

    @property
    def span_end(self) -> int:
        return self.parts.end

    @property
    def is_first(self) -> bool:
        """The first hop holds the embedding."""
        return self.parts.start == 0

    @property
    def is_last(self) -> bool:
        """The last hop holds the head (final norm + LM head, or pooling)."""
        return self.parts.end == self.num_layers

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    def parameter_bytes(self) -> int:
        """Bytes of parameters this shard holds (what loading the span cost in weights)."""
        modules = [*self.parts.layers, *self.parts.modules.values(), *self.parts.helpers.values()]
        seen: set[int] = set()
        total = 0
        for module in modules:
            for param in module.parameters():
                storage = param.untyped_storage().data_ptr()
                if storage not in seen:  # tied parameters share storage: count it once
                    seen.add(storage)
                    total += param.numel() * param.element_size()
        return total

    def new_cache(self) -> SessionCache:
        """An empty per-session KV cache (causal families only)."""
        kv = self.family.new_kv_cache(self.config)
        if kv is None:
            raise ShardError(f"{self.family.name} shards keep no KV cache")
        return SessionCache(kv=kv, first_layer=self.span_start)

    @torch.inference_mode()
    def embed(
        self,
        input_ids: torch.Tensor,
        *,
        cache: SessionCache | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Token ids (batch, seq) -> hidden (batch, seq, hidden). First hop only.

        Positions default to the next `seq` positions after what `cache` has seen (0.. without
        a cache); pass the cache this hop will run `forward` with.
        """
        if not self.is_first:
            raise ShardError(f"span [{self.span_start}, {self.span_end}) holds no embedding")
        if input_ids.ndim != 2 or input_ids.numel() == 0:
            raise ShardError(f"input_ids must be (batch, seq), got shape {tuple(input_ids.shape)}")
        if int(input_ids.min()) < 0 or int(input_ids.max()) >= int(self.config.vocab_size):
            raise ShardError(f"token id out of range 0..{self.config.vocab_size - 1}")
        input_ids = input_ids.to(self.device)
        positions = self._positions(input_ids.shape[1], cache, positions)
        return self.family.embed(self.parts, input_ids, positions=positions)

    @torch.inference_mode()
    def forward(
        self,
        hidden: torch.Tensor,
        *,
        cache: SessionCache | None = None,
        positions: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run the span's layers: hidden (batch, seq, hidden) -> (batch, seq, hidden).

        Causal shards: with `cache` the tokens are appended to the session (prefill many at
        once, then one at a time); without it the pass is stateless (teacher-forced re-scoring
        of a whole sequence). Encoders take no cache. `attention_mask` is the 2-D padding mask
        (batch, past + seq), 1 = real token; None means no padding. Hidden states in another
        dtype (from a wire codec) are cast to the shard's dtype.
        """
        if hidden.ndim != 3 or hidden.shape[-1] != self.hidden_size:
            raise ShardError(
                f"hidden must be (batch, seq, {self.hidden_size}), got {tuple(hidden.shape)}"
            )
        if cache is not None and cache.first_layer != self.span_start:
            raise ShardError("this session cache belongs to a shard of another span")
        if cache is not None and self.family.kind == "encoder":
            raise ShardError("encoder shards keep no KV cache")
        hidden = hidden.to(device=self.device, dtype=self.dtype)
        positions = self._positions(hidden.shape[1], cache, positions)
        if attention_mask is not None:
            attention_mask = attention_mask.to(self.device)
        with attention_kernel(self.device, self.dtype):
            return self.family.run_layers(
                self.parts,
                hidden,
                kv_cache=cache.kv if cache is not None else None,
                positions=positions,
                attention_mask=attention_mask,
            )

    @torch.inference_mode()
    def head(self, hidden: torch.Tensor, *, last_only: bool = True) -> torch.Tensor:
        """Final norm + LM head. Last hop of a causal LM only.

        hidden (batch, seq, hidden) -> logits (batch, vocab) for the last position, or
        (batch, seq, vocab) with ``last_only=False``.
        """
        if not self.is_last or self.family.kind != "causal_lm":
            raise ShardError(f"span [{self.span_start}, {self.span_end}) holds no LM head")
        return self.family.head(self.parts, hidden.to(self.dtype), last_only=last_only)

    @torch.inference_mode()
    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentence embedding (batch, hidden) from hidden (batch, seq, hidden) and the padding
        mask (batch, seq). Last hop of an encoder only."""
        if not self.is_last or self.family.kind != "encoder":
            raise ShardError(f"span [{self.span_start}, {self.span_end}) holds no pooling head")
        return self.family.pool(self.parts, hidden.to(self.dtype), attention_mask.to(self.device))

    def _positions(
        self, seq: int, cache: SessionCache | None, positions: torch.Tensor | None
    ) -> torch.Tensor:
        """Explicit positions, or the next `seq` after the cache: (1, seq) int64."""
        if positions is not None:
            if positions.ndim != 2 or positions.shape[-1] != seq:
                raise ShardError(f"positions must be (batch, {seq}), got {tuple(positions.shape)}")
            return positions.to(self.device)
        past = cache.seen_tokens if cache is not None else 0
        return torch.arange(past, past + seq, device=self.device).unsqueeze(0)


def load_shard(
    model_dir: Path | str,
    span_start: int,
    span_end: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    manifest: Manifest | None = None,
) -> Shard:
    """Load layers [span_start, span_end) of the prepared model in `model_dir`, plus the
    embedding when span_start == 0 and the final norm + head when span_end is the last layer.

    Only those tensors are read. With `manifest`, the span's weights are first checked against
    it (`verify_shard_weights`) and a mismatch raises WeightCommitmentError.
    """
    model_dir = Path(model_dir)
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    family = family_for_config(config)
    num_layers = family.num_layers(config)
    if not 0 <= span_start < span_end <= num_layers:
        raise ShardError(
            f"span [{span_start}, {span_end}) is not a non-empty part of 0..{num_layers}"
        )
    if manifest is not None:
        verify_shard_weights(model_dir, span_start, span_end, manifest)

    # Parameters on the meta device (free), buffers such as rotary frequencies real.
    with init_empty_weights(include_buffers=False):
        skeleton = family.build_skeleton(config)
    paths = [family.layer_path(i) for i in range(span_start, span_end)]
    if span_start == 0:
        paths += family.embed_paths
    if span_end == num_layers:
        paths += family.head_paths
    stored = stored_tensors(model_dir)
    tied = family.tied_weights(config)
    loaded: dict[str, torch.Tensor] = {}  # stored name -> tensor, so tied weights load once
    modules: dict[str, nn.Module] = {}
    for path in paths:
        module = skeleton.get_submodule(path)
        _materialize(module, path, stored, tied, loaded, dtype=dtype, device=device)
        modules[path] = module.to(device).eval()  # .to moves the non-persistent buffers
    helpers = {k: m.to(device).eval() for k, m in family.build_helpers(skeleton, config).items()}
    layers = [modules.pop(family.layer_path(i)) for i in range(span_start, span_end)]
    parts = SpanParts(config, span_start, span_end, layers, modules, helpers)
    return Shard(family, parts, dtype=dtype, device=device)


def _materialize(
    module: nn.Module,
    path: str,
    stored: dict[str, StoredTensor],
    tied: dict[str, str],
    loaded: dict[str, torch.Tensor],
    *,
    dtype: torch.dtype,
    device: str,
) -> None:
    """Replace `module`'s meta parameters with its tensors read from the safetensors files."""
    wanted = {}  # parameter name inside the module -> stored tensor name
    for local in module.state_dict():
        full = f"{path}.{local}"
        source = full if full in stored else tied.get(full)
        if source is None or source not in stored:
            raise ShardError(f"tensor {full!r} is missing from the model files")
        wanted[local] = source
    by_file: dict[Path, list[str]] = {}
    for source in sorted(set(wanted.values()) - set(loaded)):
        by_file.setdefault(stored[source].file, []).append(source)
    for file, sources in sorted(by_file.items()):
        with safe_open(str(file), framework="pt", device="cpu") as f:
            for source in sources:
                tensor = f.get_tensor(source)
                if tensor.is_floating_point():
                    tensor = tensor.to(dtype)
                loaded[source] = tensor.to(device)
    state = {local: loaded[source] for local, source in wanted.items()}
    # strict: every parameter and persistent buffer gets a stored tensor of the right shape.
    module.load_state_dict(state, strict=True, assign=True)


def attention_kernel(
    device: torch.device | str, dtype: torch.dtype
) -> contextlib.AbstractContextManager[None]:
    """Half-precision attention on CPU runs torch's math kernel. The flash kernel chooses an
    AMX/VNNI packing path from what the CPU has, not from the kernel set torch dispatches
    (``ATEN_CPU_CAPABILITY``), and raises "pack_vnni2 is only supported when avx512 is
    supported" when the kernels are pinned below AVX-512 on such a CPU; its blocking also
    differs with the CPU. The math kernel runs the same code path on every CPU."""
    if str(device).startswith("cpu") and dtype in (torch.bfloat16, torch.float16):
        return sdpa_kernel(SDPBackend.MATH)
    return contextlib.nullcontext()
