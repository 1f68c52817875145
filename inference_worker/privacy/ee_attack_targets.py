"""Owner-side EE keys the attacks are measured against, beyond today's ``ee.py`` (issue 19).

Measurement only: this builds, in memory, the transformed llama state dicts that the key kinds
of issue 19 item 1 produce (a dense orthogonal residual rotation with the RMSNorm gains folded,
a SwiGLU intermediate permutation with up/down rescale, an attention-head permutation that keeps
GQA groups and head_dim blocks, hence RoPE pairs, together), so that the attacks of
``ee_attacks_weights`` can be run on them before ``ee.transform_model`` supports them. The
secret returned is for scoring the attacks only; the attack modules never import this one.

Conventions match ``ee.EEKey``: encrypted id = ``vocab_perm[plain id]`` (served embedding row
``vocab_perm[t]`` holds plain token t) and the served residual stream is ``x_enc = x @ Q``.
Linear layers reading the stream: ``W' = W diag(g) Q`` (g the RMSNorm gain before them, then
set to ones: ``rms(x Q) = rms(x)`` for orthogonal Q); layers writing it: ``W' = Q^T W``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TargetSecret:
    """What the owner knows (scoring only)."""

    vocab_perm: torch.Tensor  # (vocab,) encrypted id of each plain id
    rotation: torch.Tensor  # (hidden, hidden) Q, x_enc = x @ Q
    mlp_perms: list[torch.Tensor] = field(default_factory=list)  # per layer: served row j = pub row
    head_orders: list[torch.Tensor] = field(default_factory=list)  # per layer: served q head -> pub


def random_rotation(hidden: int, generator: torch.Generator, kind: str) -> torch.Tensor:
    """(hidden, hidden) float64 orthogonal: kind "none" (identity), "signed_perm" or "dense"."""
    if kind == "none":
        return torch.eye(hidden, dtype=torch.float64)
    if kind == "signed_perm":
        q = torch.zeros(hidden, hidden, dtype=torch.float64)
        perm = torch.randperm(hidden, generator=generator)
        sign = torch.where(torch.rand(hidden, generator=generator) < 0.5, -1.0, 1.0)
        q[perm, torch.arange(hidden)] = sign.double()  # x_enc[:, j] = sign[j] * x[:, perm[j]]
        return q
    if kind == "dense":
        a = torch.randn(hidden, hidden, generator=generator, dtype=torch.float64)
        q, r = torch.linalg.qr(a)
        return q * torch.sign(torch.diagonal(r))[None]
    raise ValueError(f"unknown rotation kind {kind!r}")


def transform_llama_state(
    state: dict[str, torch.Tensor],
    config: object,
    *,
    seed: int,
    rotation: str = "dense",
    mlp: bool = False,
    heads: bool = False,
) -> tuple[dict[str, torch.Tensor], TargetSecret]:
    """A transformed copy of a llama state dict (untied head: the final norm gain is folded
    into it). Returns (served state, secret). fp32 out, the algebra in float64."""
    g = torch.Generator().manual_seed(seed)
    hidden = int(config.hidden_size)  # type: ignore[attr-defined]
    n_layers = int(config.num_hidden_layers)  # type: ignore[attr-defined]
    n_heads = int(config.num_attention_heads)  # type: ignore[attr-defined]
    n_kv = int(config.num_key_value_heads)  # type: ignore[attr-defined]
    head_dim = hidden // n_heads
    emb = state["model.embed_tokens.weight"].double()
    vocab = emb.shape[0]
    vocab_perm = torch.randperm(vocab, generator=g)
    q = random_rotation(hidden, g, rotation)
    inv = torch.argsort(vocab_perm)
    out: dict[str, torch.Tensor] = {}
    head = state.get("lm_head.weight", state["model.embed_tokens.weight"]).double()
    out["model.embed_tokens.weight"] = emb[inv] @ q
    out["lm_head.weight"] = (head * state["model.norm.weight"].double())[inv] @ q
    out["model.norm.weight"] = torch.ones(hidden, dtype=torch.float64)
    secret = TargetSecret(vocab_perm, q)
    for i in range(n_layers):
        p = f"model.layers.{i}."
        g_in = state[p + "input_layernorm.weight"].double()
        g_post = state[p + "post_attention_layernorm.weight"].double()
        wq = state[p + "self_attn.q_proj.weight"].double() * g_in
        wk = state[p + "self_attn.k_proj.weight"].double() * g_in
        wv = state[p + "self_attn.v_proj.weight"].double() * g_in
        wo = state[p + "self_attn.o_proj.weight"].double()
        gate = state[p + "mlp.gate_proj.weight"].double() * g_post
        up = state[p + "mlp.up_proj.weight"].double() * g_post
        down = state[p + "mlp.down_proj.weight"].double()
        if heads:  # permute the KV groups, and the query heads inside each group
            per = n_heads // n_kv
            kv_order = torch.randperm(n_kv, generator=g)
            order = torch.cat(
                [kv_order[j] * per + torch.randperm(per, generator=g) for j in range(n_kv)]
            )
            rows_q = (order[:, None] * head_dim + torch.arange(head_dim)).flatten()
            rows_kv = (kv_order[:, None] * head_dim + torch.arange(head_dim)).flatten()
            wq, wk, wv, wo = wq[rows_q], wk[rows_kv], wv[rows_kv], wo[:, rows_q]
            secret.head_orders.append(order)
        if mlp:  # SwiGLU: permute units, rescale up by s > 0 and down by 1/s
            perm = torch.randperm(gate.shape[0], generator=g)
            s = torch.exp(torch.randn(gate.shape[0], generator=g, dtype=torch.float64) * 0.5)
            gate, up, down = gate[perm], up[perm] * s[:, None], down[:, perm] / s
            secret.mlp_perms.append(perm)
        for name, w in (("q_proj", wq), ("k_proj", wk), ("v_proj", wv)):
            out[p + f"self_attn.{name}.weight"] = w @ q
        out[p + "self_attn.o_proj.weight"] = q.T @ wo
        out[p + "mlp.gate_proj.weight"] = gate @ q
        out[p + "mlp.up_proj.weight"] = up @ q
        out[p + "mlp.down_proj.weight"] = q.T @ down
        out[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.float64)
        out[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.float64)
    return {k: v.float().contiguous() for k, v in out.items()}, secret


def served_llama(state: dict[str, torch.Tensor], config: object) -> torch.nn.Module:
    """A LlamaForCausalLM (untied head) holding a transformed state, for the owner's side of
    a measurement (what the workers compute)."""
    import copy

    from transformers import LlamaForCausalLM

    cfg = copy.deepcopy(config)
    cfg.tie_word_embeddings = False  # type: ignore[attr-defined]
    model = LlamaForCausalLM(cfg)  # type: ignore[arg-type]
    model.load_state_dict(state, strict=True)
    return model.eval()
