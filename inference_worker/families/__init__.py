"""Model families: how one architecture is cut into layer spans and run one span at a time.

A *family* (Llama, GPT-2, BERT, ...) knows three things about a transformers architecture:

1. which module of the transformers model skeleton holds the embeddings, each layer, and the
   head (module paths such as ``"model.layers.3"``); tensor names in the safetensors file are
   these paths plus the parameter name, so the same paths decide which tensors a span loads and
   which tensors each weight commitment covers;
2. which weightless helper modules a span needs (Llama's rotary embedding);
3. how to call the transformers modules it keeps: ``embed``, ``run_layers``, ``head``/``pool``.

All the math runs in the transformers classes' own modules (decoder layers, mask builders,
rotary embedding): a family only wires them together the way the model's own ``forward`` does.

Registry: every module of this package that defines a module-level ``FAMILY`` is registered
under ``FAMILY.name`` the first time the registry is used, so adding a family is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:  # torch and transformers are heavy; import them only where they run
    import torch
    from torch import nn
    from transformers import Cache, PretrainedConfig

FamilyKind = Literal["causal_lm", "encoder"]


class UnknownFamilyError(KeyError):
    """No registered family serves this family name or ``config.model_type``."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0])


@dataclass
class SpanParts:
    """The materialized modules of one span, handed to a family's compute functions."""

    config: PretrainedConfig  # the model's transformers config (whole model, not the span)
    start: int  # first layer of the span (global index)
    end: int  # one past the last layer of the span
    layers: list[nn.Module]  # the span's layers, layer `start` first
    modules: dict[str, nn.Module]  # embedding and head modules by skeleton path (first/last hop)
    helpers: dict[str, nn.Module] = field(default_factory=dict)  # weightless modules (rotary)


class Family(ABC):
    """One architecture family. Subclasses are stateless; one instance each is registered."""

    name: ClassVar[str]  # registry key, also written into manifests ("llama")
    kind: ClassVar[FamilyKind]  # "causal_lm" (KV cache, logits) or "encoder" (pooling)
    model_types: ClassVar[tuple[str, ...]]  # transformers `config.model_type` values served
    embed_paths: ClassVar[tuple[str, ...]]  # skeleton modules of the first hop's embedding
    head_paths: ClassVar[tuple[str, ...]]  # skeleton modules of the last hop's head (may be ())

    # --- structure -------------------------------------------------------------------------

    @abstractmethod
    def build_skeleton(self, config: PretrainedConfig) -> nn.Module:
        """The full transformers model for `config`; called under ``init_empty_weights`` so its
        parameters live on the meta device and cost no memory."""

    @abstractmethod
    def layer_path(self, index: int) -> str:
        """Skeleton module path of layer `index` (``"model.layers.3"``)."""

    @abstractmethod
    def tiny_config(self) -> PretrainedConfig:
        """A config for a tiny model of this family (a few layers, hidden 32-64): fast tests."""

    def num_layers(self, config: PretrainedConfig) -> int:
        """Number of layers a route must cover."""
        return int(config.num_hidden_layers)

    def tied_weights(self, config: PretrainedConfig) -> dict[str, str]:
        """Tensor name -> stored tensor it is tied to, for tensors a checkpoint may omit."""
        return {}

    def build_helpers(self, skeleton: nn.Module, config: PretrainedConfig) -> dict[str, nn.Module]:
        """Weightless modules every hop needs, taken from the skeleton (buffers are real)."""
        return {}

    def new_kv_cache(self, config: PretrainedConfig) -> Cache | None:
        """An empty KV cache for one session (None for encoders, which keep no state)."""
        return None

    # --- compute (shapes: batch, seq, hidden) ---------------------------------------------

    @abstractmethod
    def embed(
        self, parts: SpanParts, input_ids: torch.Tensor, *, positions: torch.Tensor
    ) -> torch.Tensor:
        """Token ids (batch, seq) at `positions` (batch|1, seq) -> hidden (batch, seq, hidden)."""

    @abstractmethod
    def run_layers(
        self,
        parts: SpanParts,
        hidden: torch.Tensor,
        *,
        kv_cache: Cache | None,
        positions: torch.Tensor,
        attention_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Run the span's layers: hidden (batch, seq, hidden) -> (batch, seq, hidden).

        `kv_cache` grows by `seq` tokens for every layer of the span; `attention_mask` is the
        transformers 2-D padding mask (batch, past + seq), 1 = attend, or None for no padding.
        """

    def head(self, parts: SpanParts, hidden: torch.Tensor, *, last_only: bool) -> torch.Tensor:
        """Final norm + LM head: (batch, seq, hidden) -> logits (batch, vocab) at the last
        position when `last_only`, else (batch, seq, vocab)."""
        raise NotImplementedError(f"family {self.name!r} has no language-model head")

    def pool(
        self, parts: SpanParts, hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Sentence embedding (batch, hidden) from the last layer's output (encoders)."""
        raise NotImplementedError(f"family {self.name!r} has no pooling head")

    # --- which stored tensors belong to which part (used by loading and commitments) -------

    def layer_tensors(self, stored: Sequence[str], index: int) -> list[str]:
        """Stored tensor names of layer `index`, sorted."""
        return _under(stored, (self.layer_path(index),))

    def embed_tensors(self, stored: Sequence[str]) -> list[str]:
        """Stored tensor names of the embedding part, sorted."""
        return _under(stored, self.embed_paths)

    def head_tensors(self, stored: Sequence[str], config: PretrainedConfig) -> list[str]:
        """Stored tensor names the last hop reads, sorted: the head modules' tensors and, for
        tied weights the checkpoint omits, the stored tensor they are tied to."""
        names = set(_under(stored, self.head_paths))
        present = set(stored)
        for target, source in self.tied_weights(config).items():
            if target not in present and _is_under(target, self.head_paths):
                names.add(source)
        return sorted(names)


def _is_under(name: str, paths: Sequence[str]) -> bool:
    return any(name.startswith(path + ".") for path in paths)


def _under(names: Sequence[str], paths: Sequence[str]) -> list[str]:
    return sorted(name for name in names if _is_under(name, paths))


# --- registry ------------------------------------------------------------------------------

_REGISTRY: dict[str, Family] = {}


def _load_registry() -> dict[str, Family]:
    """Import every module of this package once and register its ``FAMILY``."""
    if not _REGISTRY:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            family = getattr(module, "FAMILY", None)
            if isinstance(family, Family):
                if family.name in _REGISTRY:
                    raise RuntimeError(f"two families are named {family.name!r}")
                _REGISTRY[family.name] = family
    return _REGISTRY


def family_names() -> list[str]:
    """Names of all registered families, sorted."""
    return sorted(_load_registry())


def get_family(name: str) -> Family:
    """The family registered as `name`; raises UnknownFamilyError."""
    registry = _load_registry()
    if name not in registry:
        raise UnknownFamilyError(f"unknown model family {name!r}; known: {sorted(registry)}")
    return registry[name]


def family_for_config(config: PretrainedConfig) -> Family:
    """The family that serves ``config.model_type``; raises UnknownFamilyError."""
    for name in family_names():
        family = _REGISTRY[name]
        if config.model_type in family.model_types:
            return family
    raise UnknownFamilyError(
        f"no model family serves model_type {config.model_type!r}; known: {family_names()}"
    )
