"""The algebra of equivariant encryption: a key applied to a plain state dict (issue 19 item 1).

Conventions (every weight in ``nn.Linear`` form, (out, in); GPT-2's Conv1D weights are
transposed in and out). The served residual stream is ``x_enc = x @ Q`` with
``Q = P_s @ R``: P_s the key's signed permutation (``x_enc[:, j] = s[j] * x[:, p[j]]``) and R
its optional dense rotation. A linear layer reading the stream becomes ``W' = W Q^{-T}``
(= ``W Q`` for orthogonal Q), one writing it ``W' = Q^T W`` (bias ``b Q``). Norm gains:

* without R they move with the stream (``g[p]``; a sign is absorbed by the weights around it),
  so nothing is rounded and a tied head stays tied;
* with R they are folded into the next linear layers (SliceGPT / QuaRot computational
  invariance: ``rms(x Q) = rms(x)``), the served gains become ones and a tied head is untied
  (the final gain differs between embedding and head). LayerNorm also subtracts the mean: it
  commutes with Q only when ``Q 1 = 1`` (no signs, R fixing the all-ones vector); its bias is
  folded into the next layer's bias, or for GPT-2's bias-free head kept as ``(b / g) Q``.

Head-space transforms, per layer and served KV head g (after the head permutation): queries
``q' = A_g q`` and keys ``k' = A_g^{-T} k`` (``q'.k' = q.k``; for RoPE, A_g must commute with
the position rotations: a scaled 2x2 rotation per RoPE pair), values ``v' = M_g v`` and the
output projection's columns ``O' = O M_g^{-1}``. MLP units: a permutation, and for SwiGLU a
positive scale on ``up`` undone on ``down`` (``silu(gate) * up`` is linear in ``up``).

These functions do not check that the key keeps the model's function (``ee.check_key`` does):
tests feed them the transforms that break it, to show they break.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from inference_worker.privacy.ee import EEKey

F64 = torch.float64
State = dict[str, torch.Tensor]


class Residual:
    """The key's residual map Q = P_s R applied to weights (float64 when R is dense)."""

    def __init__(self, key: EEKey) -> None:
        self.p, self.s = key.residual_perm, key.residual_sign.to(F64)
        self.r = key.rotation
        self.r_inv_t = None if self.r is None else torch.linalg.inv(self.r).T

    @property
    def dense(self) -> bool:
        return self.r is not None

    def read(self, w: torch.Tensor) -> torch.Tensor:
        """(out, hidden) weight reading the stream: W Q^{-T} (signs are their own inverse)."""
        w = w[:, self.p] * self.s.to(w.dtype)
        return w if self.r_inv_t is None else w.to(F64) @ self.r_inv_t

    def write(self, w: torch.Tensor) -> torch.Tensor:
        """(hidden, in) weight, or (hidden,) bias, writing the stream: Q^T W."""
        s = self.s.to(w.dtype)
        w = w[self.p] * (s[:, None] if w.ndim == 2 else s)
        return w if self.r is None else self.r.T @ w.to(F64)

    def rows(self, w: torch.Tensor) -> torch.Tensor:
        """(n, hidden) table of stream vectors (embeddings): W Q."""
        return self.write(w.T).T


def _heads(w: torch.Tensor, order: torch.Tensor, size: int) -> torch.Tensor:
    """Rows of `w` regrouped by head: served head i = plain head order[i] (head_dim rows)."""
    rows = (order[:, None] * size + torch.arange(size)).flatten()
    return w[rows]


def _per_head(w: torch.Tensor, mats: list[torch.Tensor], size: int) -> torch.Tensor:
    """Multiply each head's rows (or bias) by its (head_dim, head_dim) matrix."""
    parts = [m @ w[i * size : (i + 1) * size].to(F64) for i, m in enumerate(mats)]
    return torch.cat(parts)


def transform_attention(
    ws: dict[str, torch.Tensor], key: EEKey, layer: int, n_heads: int, n_kv: int, hd: int
) -> dict[str, torch.Tensor]:
    """Head permutation and Q/K, V/O mixing of one layer's attention, in head space.

    ws: "q", "k", "v" weights (rows = heads x head_dim) with optional "q_bias", "k_bias",
    "v_bias", and "o" (hidden, n_heads * head_dim)."""
    per = n_heads // n_kv
    ws = dict(ws)
    if key.head_order is not None:
        order = key.head_order[layer]
        kv_order = order[::per] // per
        for name in ("q", "q_bias"):
            if name in ws:
                ws[name] = _heads(ws[name], order, hd)
        for name in ("k", "v", "k_bias", "v_bias"):
            if name in ws:
                ws[name] = _heads(ws[name], kv_order, hd)
        ws["o"] = _heads(ws["o"].T, order, hd).T
    if key.qk_mix is not None:
        a = [key.qk_mix[layer, g] for g in range(n_kv)]
        a_q = [a[i // per] for i in range(n_heads)]
        a_k = [torch.linalg.inv(m).T for m in a]
        for name, mats in (("q", a_q), ("q_bias", a_q), ("k", a_k), ("k_bias", a_k)):
            if name in ws:
                ws[name] = _per_head(ws[name], mats, hd)
    if key.vo_mix is not None:
        m = [key.vo_mix[layer, g] for g in range(n_kv)]
        for name in ("v", "v_bias"):
            if name in ws:
                ws[name] = _per_head(ws[name], m, hd)
        m_inv_t = [torch.linalg.inv(m[i // per]).T for i in range(n_heads)]
        ws["o"] = _per_head(ws["o"].T, m_inv_t, hd).T
    return ws


def transform_mlp(
    ws: dict[str, torch.Tensor], key: EEKey, layer: int, scaled: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """Unit permutation (rows of every input weight/bias, columns of "down"); the key's
    positive scale multiplies the rows named in `scaled` and divides down's columns (exact for
    SwiGLU's up; GPT-2 / BERT name their GELU input, which ``check_key`` refuses to scale)."""
    ws = dict(ws)
    if key.mlp_perm is not None:
        perm = key.mlp_perm[layer]
        for name in ws:
            ws[name] = ws[name][:, perm] if name == "down" else ws[name][perm]
    if key.mlp_scale is not None:
        s = key.mlp_scale[layer]
        for name in scaled:
            ws[name] = ws[name].to(F64) * (s[:, None] if ws[name].ndim == 2 else s)
        ws["down"] = ws["down"].to(F64) / s
    return ws


def _fold(w: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    return w.to(F64) * gain.to(F64)


def _ones(like: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(like, dtype=F64)


def _vocab_rows(w: torch.Tensor, key: EEKey) -> torch.Tensor:
    return w[torch.argsort(key.vocab_perm)]  # served row vocab_perm[t] holds plain token t


def transform_llama(state: State, config: Any, key: EEKey) -> tuple[State, bool]:
    """Returns (served state, untie): untie when the final gain was folded into the head."""
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ValueError("EE: llama with attention or MLP biases is not supported")
    res, out = Residual(key), {}
    n_heads, n_kv = int(config.num_attention_heads), int(config.num_key_value_heads)
    hd = int(getattr(config, "head_dim", None) or config.hidden_size // n_heads)
    norm_out = (lambda g: _ones(g)) if res.dense else (lambda g: g[res.p])
    norm_in: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = (
        _fold if res.dense else (lambda w, g: w)
    )
    emb = state["model.embed_tokens.weight"]
    head = state.get("lm_head.weight", emb)
    g_final = state["model.norm.weight"]
    out["model.embed_tokens.weight"] = res.rows(_vocab_rows(emb, key))
    out["lm_head.weight"] = res.read(_vocab_rows(norm_in(head, g_final), key))
    out["model.norm.weight"] = norm_out(g_final)
    for i in range(int(config.num_hidden_layers)):
        p = f"model.layers.{i}."
        g1, g2 = state[p + "input_layernorm.weight"], state[p + "post_attention_layernorm.weight"]
        attn = {n: state[p + f"self_attn.{n}_proj.weight"] for n in ("q", "k", "v", "o")}
        attn = transform_attention(attn, key, i, n_heads, n_kv, hd)
        for n in ("q", "k", "v"):
            out[p + f"self_attn.{n}_proj.weight"] = res.read(norm_in(attn[n], g1))
        out[p + "self_attn.o_proj.weight"] = res.write(attn["o"])
        mlp = {n: state[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up", "down")}
        mlp = transform_mlp(mlp, key, i, scaled=("up",))
        out[p + "mlp.gate_proj.weight"] = res.read(norm_in(mlp["gate"], g2))
        out[p + "mlp.up_proj.weight"] = res.read(norm_in(mlp["up"], g2))
        out[p + "mlp.down_proj.weight"] = res.write(mlp["down"])
        out[p + "input_layernorm.weight"] = norm_out(g1)
        out[p + "post_attention_layernorm.weight"] = norm_out(g2)
    untie = bool(getattr(config, "tie_word_embeddings", False)) and res.dense
    if getattr(config, "tie_word_embeddings", False) and not untie:
        del out["lm_head.weight"]  # still tied: the head is the (transformed) embedding
    return out, untie


def _read_after_ln(
    res: Residual, w: torch.Tensor, b: torch.Tensor, g: torch.Tensor, beta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear (w, b) reading LayerNorm(g, beta): fold when the map is dense."""
    if not res.dense:
        return res.read(w), b
    return res.read(_fold(w, g)), b.to(F64) + w.to(F64) @ beta.to(F64)


def _ln_out(res: Residual, g: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return (_ones(g), torch.zeros_like(b, dtype=F64)) if res.dense else (g[res.p], b[res.p])


def transform_gpt2(state: State, config: Any, key: EEKey) -> tuple[State, bool]:
    """GPT-2 (pre-LayerNorm). Returns (served state, untie)."""
    res, out, hidden = Residual(key), {}, int(config.n_embd)
    n_heads = int(config.n_head)
    hd = hidden // n_heads
    t = "transformer."
    wte = state[t + "wte.weight"]
    out[t + "wte.weight"] = res.rows(_vocab_rows(wte, key))
    out[t + "wpe.weight"] = res.rows(state[t + "wpe.weight"])
    for i in range(int(config.n_layer)):
        p = f"{t}h.{i}."
        w, b = state[p + "attn.c_attn.weight"].T, state[p + "attn.c_attn.bias"]
        attn = {"q": w[:hidden], "k": w[hidden : 2 * hidden], "v": w[2 * hidden :]}
        attn |= {"q_bias": b[:hidden], "k_bias": b[hidden : 2 * hidden], "v_bias": b[2 * hidden :]}
        attn["o"] = state[p + "attn.c_proj.weight"].T
        attn = transform_attention(attn, key, i, n_heads, n_heads, hd)
        qkv = torch.cat([attn[n].to(F64) for n in ("q", "k", "v")])
        qkv_b = torch.cat([attn[n + "_bias"].to(F64) for n in ("q", "k", "v")])
        g1, beta1 = state[p + "ln_1.weight"], state[p + "ln_1.bias"]
        w, b = _read_after_ln(res, qkv, qkv_b, g1, beta1)
        out[p + "attn.c_attn.weight"], out[p + "attn.c_attn.bias"] = w.T, b
        out[p + "attn.c_proj.weight"] = res.write(attn["o"]).T
        out[p + "attn.c_proj.bias"] = res.write(state[p + "attn.c_proj.bias"])
        out[p + "ln_1.weight"], out[p + "ln_1.bias"] = _ln_out(res, g1, beta1)
        mlp = {"fc": state[p + "mlp.c_fc.weight"].T, "fc_bias": state[p + "mlp.c_fc.bias"]}
        mlp = transform_mlp(
            mlp | {"down": state[p + "mlp.c_proj.weight"].T}, key, i, ("fc", "fc_bias")
        )
        g2, beta2 = state[p + "ln_2.weight"], state[p + "ln_2.bias"]
        w, b = _read_after_ln(res, mlp["fc"], mlp["fc_bias"], g2, beta2)
        out[p + "mlp.c_fc.weight"], out[p + "mlp.c_fc.bias"] = w.T, b
        out[p + "mlp.c_proj.weight"] = res.write(mlp["down"]).T
        out[p + "mlp.c_proj.bias"] = res.write(state[p + "mlp.c_proj.bias"])
        out[p + "ln_2.weight"], out[p + "ln_2.bias"] = _ln_out(res, g2, beta2)
    g_f, beta_f = state[t + "ln_f.weight"], state[t + "ln_f.bias"]
    head = state.get("lm_head.weight", wte)
    if res.dense:  # the head has no bias: keep the LayerNorm bias as (beta / g) Q
        if bool((g_f == 0).any()):
            raise ValueError("EE: a zero ln_f gain cannot be folded into the LM head")
        out["lm_head.weight"] = res.read(_vocab_rows(_fold(head, g_f), key))
        out[t + "ln_f.weight"] = _ones(g_f)
        out[t + "ln_f.bias"] = res.rows((beta_f.to(F64) / g_f.to(F64))[None])[0]
    else:
        out["lm_head.weight"] = res.read(_vocab_rows(head, key))
        out[t + "ln_f.weight"], out[t + "ln_f.bias"] = g_f[res.p], beta_f[res.p]
    untie = bool(getattr(config, "tie_word_embeddings", True)) and res.dense
    if getattr(config, "tie_word_embeddings", True) and not untie:
        del out["lm_head.weight"]
    return out, untie


def transform_bert(state: State, config: Any, key: EEKey) -> State:
    """BERT (post-LayerNorm: the norm's output is the stream, so its gain stays in it and only
    a permutation of the stream commutes with it)."""
    if key.rotation is not None:
        raise ValueError("EE: bert (post-LayerNorm) cannot take a dense residual rotation")
    res, out = Residual(key), {}
    hidden, n_heads = int(config.hidden_size), int(config.num_attention_heads)
    e = "embeddings."
    out[e + "word_embeddings.weight"] = res.rows(
        _vocab_rows(state[e + "word_embeddings.weight"], key)
    )
    for name in ("position_embeddings.weight", "token_type_embeddings.weight"):
        out[e + name] = res.rows(state[e + name])
    out[e + "LayerNorm.weight"], out[e + "LayerNorm.bias"] = _ln_out(
        res, state[e + "LayerNorm.weight"], state[e + "LayerNorm.bias"]
    )
    for i in range(int(config.num_hidden_layers)):
        p = f"encoder.layer.{i}."
        s = p + "attention.self."
        attn = {n[0]: state[s + f"{n}.weight"] for n in ("query", "key", "value")}
        attn |= {n[0] + "_bias": state[s + f"{n}.bias"] for n in ("query", "key", "value")}
        attn["o"] = state[p + "attention.output.dense.weight"]
        attn = transform_attention(attn, key, i, n_heads, n_heads, hidden // n_heads)
        for n in ("query", "key", "value"):
            out[s + f"{n}.weight"], out[s + f"{n}.bias"] = (
                res.read(attn[n[0]]),
                attn[n[0] + "_bias"],
            )
        out[p + "attention.output.dense.weight"] = res.write(attn["o"])
        mlp = {
            "fc": state[p + "intermediate.dense.weight"],
            "fc_bias": state[p + "intermediate.dense.bias"],
        }
        mlp = transform_mlp(
            mlp | {"down": state[p + "output.dense.weight"]}, key, i, ("fc", "fc_bias")
        )
        out[p + "intermediate.dense.weight"], out[p + "intermediate.dense.bias"] = (
            res.read(mlp["fc"]),
            mlp["fc_bias"],
        )
        out[p + "output.dense.weight"] = res.write(mlp["down"])
        for sub in ("attention.output.", "output."):
            out[p + sub + "dense.bias"] = res.write(state[p + sub + "dense.bias"])
            out[p + sub + "LayerNorm.weight"], out[p + sub + "LayerNorm.bias"] = _ln_out(
                res, state[p + sub + "LayerNorm.weight"], state[p + sub + "LayerNorm.bias"]
            )
    return out
