"""Equivariant encryption (EE): secret transforms baked into the served weights (issue 19).

The owner's key (never sent to a worker), every part but the first optional:

* ``vocab_perm`` (vocab,) int64: encrypted id = ``vocab_perm[plain id]`` (embedding and LM-head
  rows move together);
* ``residual_perm`` (hidden,) int64, ``residual_sign`` (hidden,) +-1 and ``rotation``
  (hidden, hidden) float64 orthogonal R: the residual stream the workers see is
  ``x_enc = x @ Q``, ``Q = P_s @ R`` with ``x_enc[:, j] = s[j] * x[:, p[j]]`` before R;
* ``mlp_perm`` (layers, intermediate) int64 (served unit j = plain unit ``mlp_perm[l, j]``) and,
  SwiGLU only, ``mlp_scale`` (layers, intermediate) float64 > 0;
* ``head_order`` (layers, heads) int64: served query head i = plain head ``head_order[l, i]``,
  keeping each GQA group together (it permutes the KV heads and, inside, their query heads);
* ``qk_mix`` / ``vo_mix`` (layers, kv_heads, head_dim, head_dim) float64, per served KV head:
  ``q' = A q, k' = A^{-T} k`` and ``v' = M v`` with M orthogonal (``ee_transform``).

What each family can take, and why the rest would change the model's function:

* llama (RMSNorm, SwiGLU, RoPE, GQA): everything. Signs and any orthogonal R, because
  ``rms(x Q) = rms(x)`` once the gains are folded (a non-orthogonal map changes the norm);
  ``qk_mix`` only as a scaled 2x2 rotation per RoPE pair (i, i + head_dim/2), the same rotation
  on Q and K (it commutes with the position rotations; a general head-dim rotation or a
  permutation of dims does not); MLP units may be permuted and scaled, not rotated (silu acts
  per unit).
* gpt2 (pre-LayerNorm, GELU): no signs; R only with ``R 1 = 1`` (LayerNorm subtracts the mean:
  ``mean(x Q) = mean(x)`` iff Q fixes the all-ones vector), gains and biases folded; any
  orthogonal ``qk_mix`` (no RoPE); MLP permutation without scale (GELU is not homogeneous).
* bert (post-LayerNorm, GELU): a permutation of the stream only (the norm's output is the
  stream, so its gain cannot be folded away and only a permutation commutes with a diagonal
  gain); heads, Q/K and V/O mixing, MLP permutation as gpt2.

EE protects nothing against a worker holding the public base weights (docs/ee-attacks.md).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from inference_worker.families import family_for_config
from inference_worker.models import Manifest, _load_config, save_canonical, stored_tensors
from inference_worker.privacy import ee_transform

KEY_FILE = "ee_key.safetensors"
KEY_FORMAT = "infera.ee.v1"
F64 = torch.float64
# The optional parts, in file order. "vocab" and "residual_perm" are always present.
KINDS = ("rotation", "mlp_perm", "mlp_scale", "head_order", "qk_mix", "vo_mix")
FAMILY_KINDS = {
    "llama": frozenset(KINDS),
    "gpt2": frozenset(KINDS) - {"mlp_scale"},
    "bert": frozenset(KINDS) - {"mlp_scale", "rotation"},
}


@dataclass(frozen=True)
class EEKey:
    """A secret EE key (see the module docstring for each field's meaning)."""

    family: str
    vocab_perm: torch.Tensor  # (vocab,) int64
    residual_perm: torch.Tensor  # (hidden,) int64
    residual_sign: torch.Tensor  # (hidden,) float32 of +-1
    rotation: torch.Tensor | None = None  # (hidden, hidden) float64 orthogonal
    mlp_perm: torch.Tensor | None = None  # (layers, intermediate) int64
    mlp_scale: torch.Tensor | None = None  # (layers, intermediate) float64 > 0
    head_order: torch.Tensor | None = None  # (layers, heads) int64
    qk_mix: torch.Tensor | None = None  # (layers, kv_heads, head_dim, head_dim) float64
    vo_mix: torch.Tensor | None = None  # (layers, kv_heads, head_dim, head_dim) float64

    @property
    def kinds(self) -> list[str]:
        """The optional parts this key has."""
        return [k for k in KINDS if getattr(self, k) is not None]

    def encrypt_ids(self, ids: list[int]) -> list[int]:
        return [int(self.vocab_perm[i]) for i in ids]

    def decrypt_ids(self, ids: list[int]) -> list[int]:
        inverse = torch.argsort(self.vocab_perm)
        return [int(inverse[i]) for i in ids]

    def decrypt_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., vocab) logits over encrypted ids -> over plain ids."""
        return logits[..., self.vocab_perm]

    def decrypt_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., hidden) encrypted residual stream -> plain (x = x_enc Q^{-1})."""
        if self.rotation is not None:
            hidden = (hidden.to(F64) @ self.rotation.T).to(hidden.dtype)
        plain = torch.empty_like(hidden)
        plain[..., self.residual_perm] = hidden * self.residual_sign.to(hidden.dtype)
        return plain

    def save(self, path: Path) -> None:
        tensors = {
            "vocab_perm": self.vocab_perm,
            "residual_perm": self.residual_perm,
            "residual_sign": self.residual_sign,
        }
        tensors |= {k: getattr(self, k).contiguous() for k in self.kinds}
        save_file(tensors, str(path), metadata={"format": KEY_FORMAT, "family": self.family})

    @classmethod
    def load(cls, path: Path) -> EEKey:
        t = load_file(str(path))
        with open(path, "rb") as f:  # the metadata sits in the JSON header
            size = int.from_bytes(f.read(8), "little")
            meta = json.loads(f.read(size))["__metadata__"]
        if meta.get("format") != KEY_FORMAT:
            raise ValueError(f"{path}: not an {KEY_FORMAT} key")
        extra = {k: t[k] for k in KINDS if k in t}
        return cls(meta["family"], t["vocab_perm"], t["residual_perm"], t["residual_sign"], **extra)


def _generator(seed: int | None) -> torch.Generator:
    """`seed` for tests only: the owner's default draws from the OS."""
    return torch.Generator().manual_seed(
        seed if seed is not None else int.from_bytes(os.urandom(8), "little")
    )


def generate_key(
    family: str, vocab: int, hidden: int, *, seed: int | None = None, signs: bool = True
) -> EEKey:
    """A random key of the vocabulary and residual permutations only (signs for llama)."""
    g = _generator(seed)
    sign = torch.ones(hidden)
    if signs and family == "llama":  # LayerNorm families: no sign flips (module docstring)
        sign = torch.where(torch.rand(hidden, generator=g) < 0.5, -1.0, 1.0)
    return EEKey(
        family, torch.randperm(vocab, generator=g), torch.randperm(hidden, generator=g), sign
    )


@dataclass(frozen=True)
class Dims:
    """The shapes a key must fit, from a model config."""

    family: str
    vocab: int
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int

    @classmethod
    def of(cls, config: Any) -> Dims:
        family = family_for_config(config).name
        if family == "gpt2":
            h, n = int(config.n_embd), int(config.n_head)
            inner = int(config.n_inner or 4 * h)
            return cls(family, int(config.vocab_size), h, int(config.n_layer), inner, n, n, h // n)
        h, n = int(config.hidden_size), int(config.num_attention_heads)
        kv = int(getattr(config, "num_key_value_heads", None) or n)
        hd = int(getattr(config, "head_dim", None) or h // n)
        layers, inner = int(config.num_hidden_layers), int(config.intermediate_size)
        return cls(family, int(config.vocab_size), h, layers, inner, n, kv, hd)


def random_orthogonal(n: int, g: torch.Generator) -> torch.Tensor:
    """(n, n) float64 Haar-random orthogonal matrix."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    return q * torch.sign(torch.diagonal(r))[None]


def rotation_fixing_ones(n: int, g: torch.Generator) -> torch.Tensor:
    """(n, n) orthogonal R with R 1 = 1: a random rotation of the mean-free subspace."""
    u = torch.full((n,), n**-0.5, dtype=F64)
    v = torch.zeros(n, dtype=F64)
    v[0] = 1.0
    v = v - u  # Householder H = I - 2 v v^T / v^T v maps e1 <-> u
    h = torch.eye(n, dtype=F64) - 2 * torch.outer(v, v) / (v @ v)
    inner = torch.eye(n, dtype=F64)
    inner[1:, 1:] = random_orthogonal(n - 1, g)
    return h @ inner @ h.T


def rope_pair_rotation(head_dim: int, g: torch.Generator, *, scale: bool) -> torch.Tensor:
    """(head_dim, head_dim) s * R(phi) on each RoPE pair (i, i + head_dim/2): commutes with
    every position rotation, so q' = A q, k' = A^{-T} k keep q.k at every position pair."""
    half = head_dim // 2
    phi = torch.rand(half, generator=g, dtype=F64) * 2 * torch.pi
    s = torch.exp(0.25 * torch.randn(half, generator=g, dtype=F64)) if scale else torch.ones(half)
    a = torch.zeros(head_dim, head_dim, dtype=F64)
    i = torch.arange(half)
    a[i, i] = a[i + half, i + half] = s * torch.cos(phi)
    a[i, i + half], a[i + half, i] = -s * torch.sin(phi), s * torch.sin(phi)
    return a


def _head_order(d: Dims, g: torch.Generator) -> torch.Tensor:
    per = d.heads // d.kv_heads
    kv_order = torch.randperm(d.kv_heads, generator=g)
    return torch.cat(
        [kv_order[j] * per + torch.randperm(per, generator=g) for j in range(d.kv_heads)]
    )


def generate_full_key(
    config: Any, *, kinds: frozenset[str] | set[str] | None = None, seed: int | None = None
) -> EEKey:
    """A random key with the vocabulary and residual permutations (signed for llama) and the
    optional `kinds` (default: every kind the family takes, ``FAMILY_KINDS``)."""
    d = Dims.of(config)
    kinds = FAMILY_KINDS[d.family] if kinds is None else frozenset(kinds)
    if kinds - FAMILY_KINDS[d.family]:
        raise ValueError(f"EE: {d.family} cannot take {sorted(kinds - FAMILY_KINDS[d.family])}")
    g = _generator(seed)
    base = generate_key(
        d.family, d.vocab, d.hidden, seed=int(torch.randint(2**62, (1,), generator=g))
    )
    parts: dict[str, Any] = {}
    if "rotation" in kinds:
        fixing = d.family != "llama"
        parts["rotation"] = (rotation_fixing_ones if fixing else random_orthogonal)(d.hidden, g)
    if "mlp_perm" in kinds:
        parts["mlp_perm"] = torch.stack(
            [torch.randperm(d.intermediate, generator=g) for _ in range(d.layers)]
        )
    if "mlp_scale" in kinds:
        parts["mlp_scale"] = torch.exp(
            0.5 * torch.randn(d.layers, d.intermediate, generator=g, dtype=F64)
        )
    if "head_order" in kinds:
        parts["head_order"] = torch.stack([_head_order(d, g) for _ in range(d.layers)])
    n = d.layers * d.kv_heads
    if "qk_mix" in kinds:
        if d.family == "llama":
            mats = [rope_pair_rotation(d.head_dim, g, scale=True) for _ in range(n)]
        else:
            mats = [random_orthogonal(d.head_dim, g) for _ in range(n)]
        parts["qk_mix"] = torch.stack(mats).reshape(d.layers, d.kv_heads, d.head_dim, d.head_dim)
    if "vo_mix" in kinds:
        mats = [random_orthogonal(d.head_dim, g) for _ in range(n)]
        parts["vo_mix"] = torch.stack(mats).reshape(d.layers, d.kv_heads, d.head_dim, d.head_dim)
    if d.family != "llama":
        base = replace(base, residual_sign=torch.ones(d.hidden))
    return replace(base, **parts)


def _is_perm(t: torch.Tensor, n: int) -> bool:
    return (
        t.dtype == torch.int64 and t.shape == (n,) and torch.equal(t.sort().values, torch.arange(n))
    )


def _is_orthogonal(m: torch.Tensor) -> bool:
    eye = torch.eye(m.shape[-1], dtype=F64).expand(m.shape)
    return bool(((m.transpose(-1, -2) @ m - eye).abs().max() < 1e-9).all())


def _is_rope_pair_rotation(a: torch.Tensor) -> bool:
    """Every (head_dim, head_dim) matrix of `a` is s * R(phi) on RoPE pairs, zero elsewhere."""
    half = a.shape[-1] // 2
    i = torch.arange(half)
    want = torch.zeros_like(a)
    c, s = a[..., i, i], a[..., i + half, i]
    want[..., i, i] = want[..., i + half, i + half] = c
    want[..., i + half, i], want[..., i, i + half] = s, -s
    return bool(torch.equal(a, want)) and bool(((c * c + s * s) > 0).all())


def check_key(key: EEKey, config: Any) -> None:
    """Raise ValueError unless `key` fits `config` and keeps the model's function (the rules
    in the module docstring)."""
    d = Dims.of(config)
    bad = [k for k in key.kinds if k not in FAMILY_KINDS[d.family]]
    if key.family != d.family or bad:
        raise ValueError(f"EE: key for {key.family} with {bad or 'its kinds'}, model is {d.family}")
    if not (_is_perm(key.vocab_perm, d.vocab) and _is_perm(key.residual_perm, d.hidden)):
        raise ValueError("EE: vocab_perm / residual_perm are not permutations of the model's sizes")
    allowed_signs = (-1.0, 1.0) if d.family == "llama" else (1.0,)
    if key.residual_sign.shape != (d.hidden,) or not all(
        float(v) in allowed_signs for v in key.residual_sign.unique()
    ):
        raise ValueError(f"EE: residual_sign must be {allowed_signs} for {d.family}")
    r = key.rotation
    if r is not None:
        ones = torch.ones(d.hidden, dtype=F64)
        if r.shape != (d.hidden, d.hidden) or r.dtype != F64 or not _is_orthogonal(r):
            raise ValueError("EE: rotation must be (hidden, hidden) float64 orthogonal")
        if d.family != "llama" and float((r @ ones - ones).abs().max()) > 1e-9:
            raise ValueError("EE: a LayerNorm model's rotation must fix the all-ones vector")
    per_layer = {"mlp_perm": d.intermediate, "mlp_scale": d.intermediate, "head_order": d.heads}
    for name, n in per_layer.items():
        t = getattr(key, name)
        if t is not None and t.shape != (d.layers, n):
            raise ValueError(f"EE: {name} must be ({d.layers}, {n})")
    if key.mlp_perm is not None and not all(_is_perm(row, d.intermediate) for row in key.mlp_perm):
        raise ValueError("EE: mlp_perm rows must be permutations")
    if key.mlp_scale is not None and not bool((key.mlp_scale > 0).all()):
        raise ValueError(
            "EE: mlp_scale must be positive (silu(gate) * up is linear in up only for s > 0)"
        )
    if key.head_order is not None:
        per = d.heads // d.kv_heads
        for row in key.head_order:
            groups = row.reshape(d.kv_heads, per) // per
            if not _is_perm(row, d.heads) or not bool((groups == groups[:, :1]).all()):
                raise ValueError("EE: head_order must keep each GQA group together")
    shape = (d.layers, d.kv_heads, d.head_dim, d.head_dim)
    for name in ("qk_mix", "vo_mix"):
        t = getattr(key, name)
        if t is not None and (t.shape != shape or t.dtype != F64):
            raise ValueError(f"EE: {name} must be float64 {shape}")
    if key.vo_mix is not None and not _is_orthogonal(key.vo_mix):
        raise ValueError("EE: vo_mix must be orthogonal")
    if key.qk_mix is not None:
        ok = (
            _is_rope_pair_rotation(key.qk_mix)
            if d.family == "llama"
            else _is_orthogonal(key.qk_mix)
        )
        if not ok:
            raise ValueError(
                "EE: qk_mix must be a per-RoPE-pair scaled rotation (llama) or orthogonal"
            )


def transform_state(
    family: str, state: dict[str, torch.Tensor], config: Any, key: EEKey
) -> tuple[dict[str, torch.Tensor], bool]:
    """The served state (float64 where dense algebra ran) and whether the head was untied.
    No check that the key keeps the model's function (``check_key``)."""
    if family == "llama":
        return ee_transform.transform_llama(state, config, key)
    if family == "gpt2":
        return ee_transform.transform_gpt2(state, config, key)
    if family == "bert":
        return ee_transform.transform_bert(state, config, key), False
    raise ValueError(f"EE does not know the family {family!r}")


def transform_model(src: Path, dst: Path, key: EEKey) -> Manifest:
    """Write the transformed model folder `dst` (config, safetensors, manifest; no tokenizer:
    the tokenizer and `key` stay with the owner). Returns the new manifest. Weights keep the
    source dtype (the algebra of dense parts runs in float64, rounded once)."""
    config = _load_config(src)
    family = family_for_config(config)
    if family.name != key.family:
        raise ValueError(f"key is for {key.family!r}, model is {family.name!r}")
    check_key(key, config)
    stored = stored_tensors(src)
    state: dict[str, torch.Tensor] = {}
    for file in sorted({t.file for t in stored.values()}):
        state.update(load_file(str(file)))
    dtype = next(iter(state.values())).dtype
    served, untie = transform_state(family.name, state, config, key)
    unknown = sorted(set(state) - set(served) - set(family.tied_weights(config)))
    if unknown:
        raise ValueError(f"EE does not know how to transform {unknown} of {family.name!r}")
    out = {
        n: w.to(state.get(n, w).dtype if n in state else dtype).contiguous()
        for n, w in served.items()
    }
    if untie:
        config.tie_word_embeddings = False  # the final gain is folded into the head only
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
