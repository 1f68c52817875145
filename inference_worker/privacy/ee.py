"""Equivariant encryption (EE), first part: secret permutations baked into the served weights.

The owner's key (never sent to a worker):

* ``vocab_perm`` (vocab,) int64: encrypted id = ``vocab_perm[plain id]`` (embedding rows and the
  LM-head rows move together, so a tied head stays tied);
* ``residual_perm`` (hidden,) int64 and ``residual_sign`` (hidden,) +-1: the residual stream
  the workers see is ``x_enc[:, j] = residual_sign[j] * x[:, residual_perm[j]]`` (``x @ Q``
  with Q a signed permutation matrix). Signs only for RMSNorm (llama): LayerNorm subtracts the
  mean, which a sign flip changes, so gpt2 and bert get a pure permutation.

Norm gains (and LayerNorm biases) are permuted with the stream; linear layers reading the
stream get their input columns permuted (and signed), layers writing into it their output rows.
Not done yet (see docs/equivariant-encryption.md): dense rotations, MLP and head permutations.
EE protects nothing against a worker holding the public base weights (the docs page says why).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from inference_worker.families import family_for_config
from inference_worker.models import Manifest, _load_config, save_canonical, stored_tensors

KEY_FILE = "ee_key.safetensors"
KEY_FORMAT = "infera.ee.v1"


@dataclass(frozen=True)
class EEKey:
    """A secret key of vocabulary and residual-stream permutations (see the module docstring)."""

    family: str
    vocab_perm: torch.Tensor  # (vocab,) int64
    residual_perm: torch.Tensor  # (hidden,) int64
    residual_sign: torch.Tensor  # (hidden,) float32 of +-1

    def encrypt_ids(self, ids: list[int]) -> list[int]:
        return [int(self.vocab_perm[i]) for i in ids]

    def decrypt_ids(self, ids: list[int]) -> list[int]:
        inverse = torch.argsort(self.vocab_perm)
        return [int(inverse[i]) for i in ids]

    def decrypt_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., vocab) logits over encrypted ids -> over plain ids."""
        return logits[..., self.vocab_perm]

    def decrypt_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., hidden) encrypted residual stream -> plain (x = x_enc Q^T)."""
        plain = torch.empty_like(hidden)
        plain[..., self.residual_perm] = hidden * self.residual_sign.to(hidden.dtype)
        return plain

    def save(self, path: Path) -> None:
        tensors = {
            "vocab_perm": self.vocab_perm,
            "residual_perm": self.residual_perm,
            "residual_sign": self.residual_sign,
        }
        save_file(tensors, str(path), metadata={"format": KEY_FORMAT, "family": self.family})

    @classmethod
    def load(cls, path: Path) -> EEKey:
        t = load_file(str(path))
        with open(path, "rb") as f:  # the metadata sits in the JSON header
            size = int.from_bytes(f.read(8), "little")
            meta = json.loads(f.read(size))["__metadata__"]
        if meta.get("format") != KEY_FORMAT:
            raise ValueError(f"{path}: not an {KEY_FORMAT} key")
        return cls(meta["family"], t["vocab_perm"], t["residual_perm"], t["residual_sign"])


def generate_key(
    family: str, vocab: int, hidden: int, *, seed: int | None = None, signs: bool = True
) -> EEKey:
    """A random key; `seed` for tests only (the owner's default draws from the OS)."""
    g = torch.Generator()
    g.manual_seed(seed if seed is not None else int.from_bytes(__import__("os").urandom(8)))
    sign = torch.ones(hidden)
    if signs and family == "llama":  # LayerNorm families: no sign flips (module docstring)
        sign = torch.where(torch.rand(hidden, generator=g) < 0.5, -1.0, 1.0)
    return EEKey(
        family, torch.randperm(vocab, generator=g), torch.randperm(hidden, generator=g), sign
    )


# Which stored tensors read the residual stream (input columns), write it (output rows), or
# live in it (vectors: gains, biases into the stream, position/type embedding columns).
_READS = {
    "llama": ("q_proj.weight", "k_proj.weight", "v_proj.weight", "gate_proj.weight",
              "up_proj.weight"),
    "gpt2": (),
    "bert": ("query.weight", "key.weight", "value.weight", "intermediate.dense.weight"),
}  # fmt: skip
_WRITES = {
    "llama": ("o_proj.weight", "down_proj.weight"),
    "gpt2": (),
    "bert": ("attention.output.dense.weight", "output.dense.weight"),
}
_EMBEDS = {"llama": "model.embed_tokens.weight", "gpt2": "transformer.wte.weight",
           "bert": "embeddings.word_embeddings.weight"}  # fmt: skip


def _transform_tensor(family: str, name: str, w: torch.Tensor, key: EEKey) -> torch.Tensor:
    p, s = key.residual_perm, key.residual_sign.to(w.dtype)
    if name in (_EMBEDS[family], "lm_head.weight"):
        rows = w[torch.argsort(key.vocab_perm)]  # row vocab_perm[t] holds plain token t
        return rows[:, p] * s
    if family == "gpt2":  # Conv1D weights are (in, out)
        if name.endswith(("c_attn.weight", "c_fc.weight")):
            return w[p] * s[:, None]
        if name.endswith("c_proj.weight"):
            return w[:, p] * s
        if name.endswith("c_proj.bias") or ".ln_" in name or name.startswith("transformer.wpe"):
            return w[..., p] * s if w.ndim == 2 else w[p] * s
        return w  # c_attn / c_fc biases live in the attention / MLP space
    if name.endswith(_READS[family]):
        return w[:, p] * s
    if name.endswith(_WRITES[family]):
        return w[p] * s[:, None]
    if family == "bert" and name.endswith(_WRITES["bert"][0].replace("weight", "bias")):
        return w[p]
    if family == "bert" and name.endswith("output.dense.bias") and "attention" not in name:
        return w[p]
    if w.ndim == 1 and ("norm" in name or "LayerNorm" in name):
        return w[p]  # gains (|s| = 1) and LayerNorm biases (s = 1)
    if family == "bert" and name.endswith(("position_embeddings.weight", "type_embeddings.weight")):
        return w[:, p]
    if w.ndim == 1 and family == "bert":
        return w  # q/k/v and intermediate biases
    if family == "llama" and name.endswith(("norm.weight",)):
        return w[p]
    raise ValueError(f"EE does not know how to transform {name!r} of family {family!r}")


def transform_model(src: Path, dst: Path, key: EEKey) -> Manifest:
    """Write the transformed model folder `dst` (config, safetensors, manifest; no tokenizer:
    the tokenizer and `key` stay with the owner). Returns the new manifest."""
    config = _load_config(src)
    family = family_for_config(config)
    if family.name != key.family:
        raise ValueError(f"key is for {key.family!r}, model is {family.name!r}")
    stored = stored_tensors(src)
    state: dict[str, torch.Tensor] = {}
    for file in sorted({t.file for t in stored.values()}):
        state.update(load_file(str(file)))
    out = {n: _transform_tensor(family.name, n, w, key).contiguous() for n, w in state.items()}
    for attr in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(config, attr, None)
        if isinstance(value, int):
            setattr(config, attr, int(key.vocab_perm[value]))
        elif isinstance(value, list):
            setattr(config, attr, [int(key.vocab_perm[v]) for v in value])
    dst = Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    return save_canonical(out, config, dst, name=f"{src.name}-ee", source={"ee": KEY_FORMAT})
