"""Weight matching: a worker recovers an EE key by comparing the served (transformed) weights
with the PUBLIC base checkpoint (issue 19 item 4). It holds both; it never sees the key.

Served embedding ``E' = P E Q`` (P the vocabulary permutation: row ``P(t)`` holds plain
t; Q the residual transform), layers reading the stream ``W' = Π W Q`` (Π a row permutation of
MLP units or attention heads, absent for q_proj without head permutation), writing it
``W' = Q^T W``. What each attack uses:

* ``match_rows_exact``: a row's bytes are unchanged by a pure vocabulary permutation: hash them.
  ``sorted_abs`` rows (ascending ``|values|``) are also unchanged by a signed permutation Q, so
  hashing those recovers P under a hidden signed permutation too.
* ``signed_perm_from_columns``: a column's multiset of ``|values|`` is unchanged by P and by a
  sign: served column j is matched to the public column with the nearest sorted ``|column|``,
  its sign is the sign ratio of the column sums (``sum_rows`` is P-invariant).
* ``procrustes``: for aligned rows ``B ~ A Q``, the orthogonal Q minimising ``|A Q - B|`` is
  ``U V^T`` of the SVD of ``A^T B`` (exact for q_proj of any layer when heads are not permuted).
* ``rotation_from_norms``: ``|e Q| = |e|``: embedding rows whose norm is matched unambiguously
  give aligned pairs for Procrustes, with no layer weight at all.
* ``rotation_from_gram``: ``W'^T W' = Q^T W^T W Q`` for any row permutation Π (so it survives
  MLP and head permutations): eigenvectors give Q up to one sign each, fixed by the third
  moment of the projected rows; then ``refine_rotation`` matches rows and re-solves Procrustes.
* ``match_rows_nearest``: after un-rotating (``E' Q^T``), nearest rows (L2; shortlist by a
  random projection), for noisy cases (a fine-tune) where hashing fails.
* ``match_heads``: the QK circuit ``W_q,h^T W_k,g(h)`` of each head is invariant under the
  per-RoPE-pair rotations and Q/K rescales an EE key may add; after un-rotating, each served
  head takes the public head with the nearest circuit.

Measurement code: float64 linear algebra, CPU.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import torch


def sorted_abs(rows: torch.Tensor) -> torch.Tensor:
    """(n, d) -> (n, d) each row's ascending |values|: invariant under a signed permutation of
    the columns."""
    return rows.abs().sort(dim=-1).values


def _row_keys(rows: torch.Tensor) -> list[bytes]:
    data = rows.contiguous().float().numpy()
    return [hashlib.blake2b(r.tobytes(), digest_size=16).digest() for r in data]


def match_rows_exact(public: torch.Tensor, served: torch.Tensor) -> torch.Tensor:
    """(n_served,) int64: for each served row, the public row with identical bytes, or -1
    where none or several public rows share them (byte-identical rows are indistinguishable)."""
    index: dict[bytes, int] = {}
    for j, k in enumerate(_row_keys(public)):
        index[k] = -1 if k in index else j
    return torch.tensor([index.get(k, -1) for k in _row_keys(served)], dtype=torch.int64)


def signed_perm_from_columns(
    public: torch.Tensor, served: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(perm, sign) with served column j ~ sign[j] * public column perm[j], from one matrix
    whose rows (and only rows) are permuted otherwise (an embedding). Needs no row matching."""
    pub_cols = public.double().T.abs().sort(dim=-1).values
    srv_cols = served.double().T.abs().sort(dim=-1).values
    perm = torch.cdist(srv_cols, pub_cols).argmin(dim=-1)
    ratio = served.double().sum(0) * public.double().sum(0)[perm]
    cubes = (served.double() ** 3).sum(0) * (public.double() ** 3).sum(0)[perm]
    sign = torch.where(ratio.abs() > 1e-9, torch.sign(ratio), torch.sign(cubes))
    return perm, sign


def signed_perm_matrix(perm: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """The (hidden, hidden) Q with ``x @ Q`` giving column j = sign[j] * x[:, perm[j]]."""
    q = torch.zeros(perm.numel(), perm.numel(), dtype=torch.float64)
    q[perm, torch.arange(perm.numel())] = sign.double()
    return q


def procrustes(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The orthogonal R minimising ``|a @ R - b|_F`` for aligned rows (n, d), (n, d)."""
    u, _, vh = torch.linalg.svd(a.double().T @ b.double())
    return u @ vh


def rotation_from_norms(
    public: torch.Tensor, served: torch.Tensor, *, tol: float = 1e-5, margin: float = 1e-4
) -> tuple[torch.Tensor, int]:
    """(Q, pairs used): rows of `served` = rows of ``public @ Q`` in an unknown order; pairs are
    taken where a served row's norm is within `tol` (relative) of exactly one public norm whose
    public neighbours are all more than `margin` away; Procrustes on those pairs."""
    pn = public.double().norm(dim=-1)
    sn = served.double().norm(dim=-1)
    order = torch.argsort(pn)
    sorted_n = pn[order]
    gap = torch.full_like(sorted_n, float("inf"))
    d = sorted_n[1:] - sorted_n[:-1]
    gap[1:] = torch.minimum(gap[1:], d)
    gap[:-1] = torch.minimum(gap[:-1], d)
    pos = torch.searchsorted(sorted_n, sn).clamp(1, sorted_n.numel() - 1)
    left, right = pos - 1, pos
    pick = torch.where((sn - sorted_n[left]).abs() <= (sorted_n[right] - sn).abs(), left, right)
    close = (sn - sorted_n[pick]).abs() <= tol * sn
    lonely = gap[pick] > margin * sn
    ok = torch.nonzero(close & lonely).flatten()
    if ok.numel() < public.shape[1]:
        raise ValueError(f"only {ok.numel()} unambiguous norms for {public.shape[1]} dimensions")
    return procrustes(public[order[pick[ok]]], served[ok]), int(ok.numel())


def match_rows_nearest(
    public: torch.Tensor,
    served: torch.Tensor,
    *,
    proj_dim: int = 64,
    shortlist: int = 8,
    chunk: int = 4096,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(match, margin): for each served row the nearest public row (L2), shortlisted by the
    nearest ``shortlist`` in a ``proj_dim`` random projection, then exact distances; `margin` is
    (second best - best) / best distance (large = confident)."""
    g = torch.Generator().manual_seed(seed)
    d = public.shape[1]
    proj = torch.randn(d, min(proj_dim, d), generator=g) / (d**0.5)
    pub = public.float()
    pub_p = pub @ proj
    k = min(shortlist, pub.shape[0])
    match, margin = [], []
    for start in range(0, served.shape[0], chunk):
        s = served[start : start + chunk].float()
        cand = torch.cdist(s @ proj, pub_p).topk(k, largest=False).indices  # (c, k)
        dist = (pub[cand] - s[:, None]).norm(dim=-1)  # (c, k)
        best = dist.topk(min(2, k), largest=False)
        match.append(cand.gather(1, best.indices[:, :1]).squeeze(1))
        if k > 1:
            margin.append(
                (best.values[:, 1] - best.values[:, 0]) / best.values[:, 0].clamp_min(1e-12)
            )
        else:
            margin.append(torch.full((s.shape[0],), float("inf")))
    return torch.cat(match), torch.cat(margin)


def _third_moment_signs(rows_pub: torch.Tensor, v_pub: torch.Tensor, rows_srv: torch.Tensor,
                        v_srv: torch.Tensor) -> torch.Tensor:  # fmt: skip
    m_pub = ((rows_pub @ v_pub) ** 3).sum(0)
    m_srv = ((rows_srv @ v_srv) ** 3).sum(0)
    return torch.where(m_pub * m_srv >= 0, 1.0, -1.0).double()


def rotation_from_gram(public: list[torch.Tensor], served: list[torch.Tensor]) -> torch.Tensor:
    """Q from matrices whose served versions are ``Π_i W_i Q`` (rows permuted, any Π_i): the
    eigenvectors of ``sum W_i^T W_i`` in both, each sign fixed by the third moment of the rows
    projected on it. Accurate where eigenvalues are well separated; refine it."""
    gp = sum(w.double().T @ w.double() for w in public)
    gs = sum(w.double().T @ w.double() for w in served)
    _, vp = torch.linalg.eigh(gp)  # type: ignore[arg-type]
    _, vs = torch.linalg.eigh(gs)  # type: ignore[arg-type]
    rows_p = torch.cat([w.double() for w in public])
    rows_s = torch.cat([w.double() for w in served])
    signs = _third_moment_signs(rows_p, vp, rows_s, vs)
    return (vp * signs) @ vs.T  # served v_i = d_i Q^T v_i  =>  Q = V D V'^T


def refine_rotation(
    public: torch.Tensor,
    served: torch.Tensor,
    q: torch.Tensor,
    *,
    rounds: int = 4,
    min_margin: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q, match): alternate nearest-row matching of ``served @ Q^T`` to `public` and
    Procrustes on the confident pairs (margin above `min_margin`); rows of `served` = rows of
    ``public @ Q`` (+ noise) in an unknown order."""
    match = torch.empty(0, dtype=torch.int64)
    for _ in range(rounds):
        match, margin = match_rows_nearest(public, (served.double() @ q.T).float())
        ok = margin > min_margin
        if int(ok.sum()) < public.shape[1]:
            break
        q = procrustes(public[match[ok]], served[ok])
    match, _ = match_rows_nearest(public, (served.double() @ q.T).float())
    return q, match


def match_heads(
    pub_q: torch.Tensor,
    pub_k: torch.Tensor,
    srv_q: torch.Tensor,
    srv_k: torch.Tensor,
    n_heads: int,
    n_kv: int,
    *,
    probes: int = 32,
    seed: int = 0,
) -> torch.Tensor:
    """(n_heads,) public head of each served q head, from un-rotated q/k projections
    ((n_heads*head_dim, hidden), (n_kv*head_dim, hidden)) by the nearest QK circuit
    ``W_q,h^T W_k,g(h)`` (applied to random probes: (hidden, probes))."""
    hd = pub_q.shape[0] // n_heads
    per = n_heads // n_kv
    x = torch.randn(pub_q.shape[1], probes, generator=torch.Generator().manual_seed(seed))

    def circuits(wq: torch.Tensor, wk: torch.Tensor) -> torch.Tensor:
        out = []
        for h in range(n_heads):
            q_h = wq[h * hd : (h + 1) * hd].double()
            k_g = wk[(h // per) * hd : (h // per + 1) * hd].double()
            out.append((q_h.T @ (k_g @ x.double())).flatten())
        return torch.stack(out)

    return torch.cdist(circuits(srv_q, srv_k), circuits(pub_q, pub_k)).argmin(dim=-1)


@dataclass
class RecoveredLlamaKey:
    """What the weight matching recovered (served index -> public index, like ``ee.EEKey``)."""

    rotation: torch.Tensor  # (hidden, hidden) float64: x_enc ~ x @ rotation
    vocab: torch.Tensor  # (vocab,) plain token held by each served embedding row
    mlp: list[torch.Tensor] = field(default_factory=list)  # per layer: public unit of served j
    heads: list[torch.Tensor] = field(default_factory=list)  # per layer: public head of served i
    seconds: dict[str, float] = field(default_factory=dict)


def recover_llama_key(
    public: dict[str, torch.Tensor],
    served: dict[str, torch.Tensor],
    config: Any,
    *,
    refine_rounds: int = 1,
    layers: int | None = None,
) -> RecoveredLlamaKey:
    """The whole key of a served llama from its weights and the public ones: residual transform
    by the Gram of the embedding and gate rows (MLP and head permutations do not change it),
    refined on matched embedding rows; then vocabulary, MLP units (gate rows) and heads (QK
    circuits) of the first `layers` layers (all by default). Gains folded or not, as served."""
    n = int(config.num_hidden_layers) if layers is None else layers
    folded = bool((served["model.layers.0.input_layernorm.weight"] == 1).all())

    def pub(name: str, gain: str) -> torch.Tensor:
        w = public[name].double()
        return w * public[gain].double() if folded else w

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    emb, emb_s = public["model.embed_tokens.weight"], served["model.embed_tokens.weight"]
    gates = [
        pub(
            f"model.layers.{i}.mlp.gate_proj.weight",
            f"model.layers.{i}.post_attention_layernorm.weight",
        )
        for i in range(int(config.num_hidden_layers))
    ]
    srv_gates = [
        served[f"model.layers.{i}.mlp.gate_proj.weight"].double() for i in range(len(gates))
    ]
    q0 = rotation_from_gram([emb.double(), *gates], [emb_s.double(), *srv_gates])
    times["rotation_gram"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    q, vocab = refine_rotation(emb, emb_s, q0, rounds=refine_rounds)
    times["refine_and_vocab"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = RecoveredLlamaKey(q, vocab, seconds=times)
    for i in range(n):
        p = f"model.layers.{i}."
        g_in = p + "input_layernorm.weight"
        unrot = {
            k: (served[p + k].double() @ q.T).float()
            for k in ("mlp.gate_proj.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight")
        }
        found.mlp.append(match_rows_nearest(gates[i].float(), unrot["mlp.gate_proj.weight"])[0])
        found.heads.append(
            match_heads(
                pub(p + "self_attn.q_proj.weight", g_in),
                pub(p + "self_attn.k_proj.weight", g_in),
                unrot["self_attn.q_proj.weight"],
                unrot["self_attn.k_proj.weight"],
                int(config.num_attention_heads),
                int(config.num_key_value_heads),
            )
        )
    times["mlp_and_heads"] = time.perf_counter() - t0
    return found
