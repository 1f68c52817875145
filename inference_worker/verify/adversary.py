"""Deterministic cheating workers, for tests, benchmarks and adversarial testnets.

Two kinds of misbehaviour:

* **Compute attacks** change the hidden states a hop sends on. `AdversarialShard` is a `Shard`
  (same methods, same advertised span) whose `forward` cheats; a worker serves it like any
  shard, fingerprints what it returns and reveals honestly, so the cheat is visible only in
  the numbers. Modes: skip a layer, scale the hidden states, add seeded noise, serve another
  model's weights (`load_adversarial_shard`), and two that aim at the evidence itself:
  ``lie_fingerprint`` sends noisy (or scaled) states but fingerprints and signs the honest ones
  (`forward_reported` returns both; the sending hop's code fingerprints the second), and
  ``probe_orthogonal`` adds noise orthogonal to the job's public probe directions and keeps
  each position's RMS, so its in-band rows stay honest and its receiver accepts its frames
  (the late rows, with probes derived from the output, name it: VERIFICATION.md); with
  ``late_probe_seed`` (predicted by running the whole model first) orthogonal to the late
  probes too, which no fingerprint can see: only the received frames show it.
  ``clip_shift`` moves magnitude between each position's two largest channels (what a
  fingerprint that clipped h / rms could not see). ``int8_weights`` / ``int5_weights`` serve
  the span with group-wise quantized linear weights (cheaper compute than declared), and
  ``steer`` makes a greedy last hop send the runner-up token at near ties (`choose_token`).
* **Protocol attacks** change what a worker does on chain; they are plain configuration
  (`ProtocolAttack`) the worker's chain client reads. What each mode means for the worker:

  ================  ========================================================================
  mode              worker behaviour
  ================  ========================================================================
  ``honest``        commit, then reveal its own output, fingerprint and salt.
  ``copy_reveal``   compute nothing useful; commit a commitment to a guessed output (the
                    worker cannot know the output yet: commitments bind the worker address),
                    then wait until route ``copy_from_route`` reveals and send that route's
                    output and fingerprint with its own salt (the chain rejects it: reveal
                    mismatch, code 11, and the hop counts as not revealed).
  ``never_reveal``  commit its real output, never reveal (slashed as absent).
  ``reveal_late``   commit; reveal ``late_blocks`` blocks after the job's ``reveal_end_height``
                    (rejected: reveals are over, code 8).
  ``collude``       every worker of the routes in ``colluding_routes`` reveals the same wrong
                    output, `collusion_tokens` of its honest output with the shared ``seed``
                    (two routes of three reach the quorum; only an audit's teacher-forced
                    check catches it). The colluders' fingerprints are those of their real
                    hidden states (they ran the job honestly, then lie about the result).
  ================  ========================================================================

Configuration travels as JSON (`AdversaryConfig.to_dict` / `from_dict`), e.g.
``{"compute": {"mode": "skip_layer", "layer": 3}, "protocol": {"mode": "honest"}}``.
Everything is deterministic: the same config, inputs and thread count give the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference_worker.families import SpanParts
from inference_worker.pipeline.generate import Sampling, select_token
from inference_worker.pipeline.shard import SessionCache, Shard, load_shard


class ComputeMode(StrEnum):
    HONEST = "honest"
    SKIP_LAYER = "skip_layer"  # one layer of the span is left out (its update is dropped)
    SCALE = "scale"  # hidden states sent on are multiplied by `scale`
    NOISE = "noise"  # Gaussian noise of `noise_std` x the position's RMS is added
    WRONG_MODEL = "wrong_model"  # the span is served from `impostor_dir`'s weights
    LIE_FINGERPRINT = "lie_fingerprint"  # sends NOISE (noise_std > 0) or SCALE states, but
    # fingerprints and signs the honest ones
    PROBE_ORTHOGONAL = "probe_orthogonal"  # noise of `noise_std` x RMS orthogonal to the probes
    # of `probe_seed` (and of `late_probe_seed` when set), each position's RMS kept
    CLIP_SHIFT = "clip_shift"  # magnitude moved between the two largest channels of each
    # position, signs, RMS and |u| > `clip` kept (blind to a fingerprint that clips h/rms)
    INT8_WEIGHTS = "int8_weights"  # the span's linear weights rounded to group-wise int8
    INT5_WEIGHTS = "int5_weights"  # ... to group-wise int5 (`group_size` weights per scale)
    STEER = "steer"  # last hop, greedy: the runner-up token whenever the top gap < `steer_gap`


class ProtocolMode(StrEnum):
    HONEST = "honest"
    COPY_REVEAL = "copy_reveal"
    NEVER_REVEAL = "never_reveal"
    REVEAL_LATE = "reveal_late"
    COLLUDE = "collude"


@dataclass(frozen=True)
class ComputeAttack:
    """How a hop corrupts the hidden states it sends on."""

    mode: ComputeMode = ComputeMode.HONEST
    layer: int | None = None  # SKIP_LAYER: global index of the layer left out (None: span's last)
    scale: float = 1.0  # SCALE: factor applied to the span's output (dimensionless)
    noise_std: float = 0.0  # NOISE: noise std as a fraction of each position's RMS
    seed: int = 0  # NOISE: noise at position p is drawn from a generator seeded with (seed, p)
    from_position: int = 0  # SCALE/NOISE: only positions >= this are perturbed
    impostor_dir: str | None = None  # WRONG_MODEL: prepared model folder served instead
    probe_seed: int = 0  # PROBE_ORTHOGONAL: the job's probe seed (derive_probe_seed(job id))
    late_probe_seed: int | None = None  # PROBE_ORTHOGONAL: also orthogonal to these (late)
    # probes, e.g. predicted by running the whole model before sending (None: public only)
    shift: float = 0.2  # CLIP_SHIFT: relative L2 change aimed at per position (dimensionless)
    clip: float = 4.0  # CLIP_SHIFT: both moved channels keep |h / rms| >= this
    group_size: int = 32  # INT8/INT5_WEIGHTS: weights per quantization scale (input dim)
    steer_gap: float = 0.6  # STEER: logits; below this top-1 - top-2 gap the runner-up is sent


@dataclass(frozen=True)
class ProtocolAttack:
    """How a worker misbehaves on chain (see the module docstring for each mode)."""

    mode: ProtocolMode = ProtocolMode.HONEST
    copy_from_route: int = 0  # COPY_REVEAL: route index whose reveal is copied
    late_blocks: int = 1  # REVEAL_LATE: blocks after reveal_end_height the reveal is sent
    colluding_routes: tuple[int, ...] = ()  # COLLUDE: route indexes that reveal the same lie
    seed: int = 0  # COLLUDE: shared secret the wrong output derives from
    from_position: int = 0  # COLLUDE: first output position that is changed


@dataclass(frozen=True)
class AdversaryConfig:
    """A worker's adversary settings (both parts honest by default)."""

    compute: ComputeAttack = field(default_factory=ComputeAttack)
    protocol: ProtocolAttack = field(default_factory=ProtocolAttack)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["compute"]["mode"] = self.compute.mode.value
        out["protocol"]["mode"] = self.protocol.mode.value
        out["protocol"]["colluding_routes"] = list(self.protocol.colluding_routes)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdversaryConfig:
        compute = dict(data.get("compute", {}))
        protocol = dict(data.get("protocol", {}))
        compute["mode"] = ComputeMode(compute.get("mode", "honest"))
        protocol["mode"] = ProtocolMode(protocol.get("mode", "honest"))
        protocol["colluding_routes"] = tuple(protocol.get("colluding_routes", ()))
        return cls(ComputeAttack(**compute), ProtocolAttack(**protocol))


class _SkippedLayer(nn.Module):
    """Runs the wrapped layer (so the span's KV cache and positions stay consistent) and
    returns its input: the outputs are exactly those of a worker that leaves the layer out."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, hidden: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.layer(hidden, *args, **kwargs)
        return hidden


class AdversarialShard(Shard):
    """A shard that cheats in `forward` as `attack` says; embed and head are honest."""

    def __init__(self, shard: Shard, attack: ComputeAttack):
        parts = shard.parts
        if attack.mode is ComputeMode.SKIP_LAYER:
            parts = _skip_layer(parts, shard.span_end - 1 if attack.layer is None else attack.layer)
        if attack.noise_std < 0:
            raise ValueError("noise_std must be >= 0")
        if attack.mode in _WEIGHT_BITS:
            _quantize_weights(parts, bits=_WEIGHT_BITS[attack.mode], group=attack.group_size)
        super().__init__(shard.family, parts, dtype=shard.dtype, device=str(shard.device))
        self.attack = attack

    @torch.inference_mode()
    def forward(
        self,
        hidden: torch.Tensor,
        *,
        cache: SessionCache | None = None,
        positions: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.forward_reported(
            hidden, cache=cache, positions=positions, attention_mask=attention_mask
        )[0]

    @torch.inference_mode()
    def forward_reported(
        self,
        hidden: torch.Tensor,
        *,
        cache: SessionCache | None = None,
        positions: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(states sent on, states fingerprinted and signed): the same tensor unless the
        attack is LIE_FINGERPRINT, whose second item is the honest output."""
        first = cache.seen_tokens if cache is not None else 0  # position of hidden[:, 0]
        if positions is not None:
            first = int(positions[0, 0])
        out = super().forward(
            hidden, cache=cache, positions=positions, attention_mask=attention_mask
        )
        sent = perturb(out, self.attack, first_position=first)
        return sent, (out if self.attack.mode is ComputeMode.LIE_FINGERPRINT else sent)


def choose_token(
    shard: Shard,
    logits: torch.Tensor,
    sampling: Sampling | None,
    generator: torch.Generator | None,
) -> int:
    """The token a last hop sends for `logits` (vocab,): `generate.select_token`, except a
    STEER shard on a greedy job, which sends the runner-up whenever it trails the arg-max by
    less than `steer_gap` logits (a near tie that a margin check may let through)."""
    attack = shard.attack if isinstance(shard, AdversarialShard) else None
    if attack is None or attack.mode is not ComputeMode.STEER or sampling is not None:
        return select_token(logits, sampling, generator)
    top = torch.topk(logits.float(), 2)
    gap = float(top.values[0] - top.values[1])
    return int(top.indices[1] if gap < attack.steer_gap else top.indices[0])


def forward_reported(
    shard: Shard, hidden: torch.Tensor, *, cache: SessionCache | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a span as a worker serves it: (hidden states sent on, hidden states the hop
    fingerprints and signs). Honest shards and every attack but LIE_FINGERPRINT report what
    they send."""
    if isinstance(shard, AdversarialShard):
        return shard.forward_reported(hidden, cache=cache)
    out = shard.forward(hidden, cache=cache)
    return out, out


def perturb(hidden: torch.Tensor, attack: ComputeAttack, *, first_position: int) -> torch.Tensor:
    """Apply a SCALE, NOISE, LIE_FINGERPRINT (noise if noise_std > 0, else scale) or
    PROBE_ORTHOGONAL attack to hidden (batch, seq, hidden) whose position 0 is
    `first_position`; other modes return `hidden` unchanged."""
    mode = attack.mode
    if mode is ComputeMode.LIE_FINGERPRINT:
        mode = ComputeMode.NOISE if attack.noise_std > 0 else ComputeMode.SCALE
    if mode is ComputeMode.CLIP_SHIFT:
        return _clip_shift(hidden, attack)
    if mode not in (ComputeMode.SCALE, ComputeMode.NOISE, ComputeMode.PROBE_ORTHOGONAL):
        return hidden
    out = hidden.clone()
    for offset in range(hidden.shape[1]):
        position = first_position + offset
        if position < attack.from_position:
            continue
        row = out[:, offset, :].float()  # (batch, hidden)
        rms = row.pow(2).mean(dim=-1, keepdim=True).sqrt()
        noise = _position_noise(attack.seed, position, row.shape)
        if mode is ComputeMode.SCALE:
            row = row * attack.scale
        elif mode is ComputeMode.NOISE:
            row = row + attack.noise_std * rms * noise
        else:
            row = _probe_orthogonal(row, rms, noise, attack)
        out[:, offset, :] = row.to(hidden.dtype)
    return out


def _probe_orthogonal(
    row: torch.Tensor, rms: torch.Tensor, noise: torch.Tensor, attack: ComputeAttack
) -> torch.Tensor:
    """row (batch, hidden) plus noise of noise_std x RMS with every component along the probe
    directions and along the row itself removed, rescaled to the row's RMS: the fingerprint
    (probe projections of row / rms, and the RMS) stays the same up to rounding."""
    from inference_worker.verify.fingerprint import probe_directions  # the public probes of the job

    probes = probe_directions(attack.probe_seed, row.shape[-1])  # (hidden, P)
    if attack.late_probe_seed is not None:  # the late probes too, from a predicted output
        probes = torch.cat([probes, probe_directions(attack.late_probe_seed, row.shape[-1])], 1)
    basis = torch.cat([probes, (row / rms.clamp_min(1e-30)).T / row.shape[-1] ** 0.5], dim=1)
    q, _ = torch.linalg.qr(basis)  # (hidden, P + batch) orthonormal
    noise = noise - (noise @ q) @ q.T  # (batch, hidden), orthogonal to the probes and the row
    noise = noise / noise.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-30)
    moved = row + attack.noise_std * rms * noise
    return moved * rms / moved.pow(2).mean(dim=-1, keepdim=True).sqrt()


def _clip_shift(hidden: torch.Tensor, attack: ComputeAttack) -> torch.Tensor:
    """hidden (batch, seq, hidden) with, at every position whose two largest |h / rms|
    channels both exceed `attack.clip`, magnitude moved between them: a rotation in their
    plane that keeps both signs, the sum of their squares (so the RMS) and both |h / rms| >=
    `clip`, as far as `attack.shift` x |h| allows. A fingerprint that clips h / rms to
    +-clip before projecting sees the same bytes (the issue-14 framing)."""
    out = hidden.clone()
    rows = out.float()  # (batch, seq, hidden)
    rms = rows.pow(2).mean(dim=-1).sqrt().clamp_min(1e-30)  # (batch, seq)
    top = rows.abs().topk(2, dim=-1)
    for b in range(rows.shape[0]):
        for p in range(rows.shape[1]):
            (x, y), (i, j), r = top.values[b, p] / rms[b, p], top.indices[b, p], rms[b, p]
            if float(y) < attack.clip:
                continue
            radius = float(torch.hypot(x, y))
            angle = float(torch.atan2(y, x))  # in (0, pi/4]: x >= y
            lowest = float(torch.asin(torch.tensor(attack.clip / radius)))  # keeps y >= clip
            wanted = attack.shift * float(rows[b, p].norm()) / float(r)  # |delta u| aimed at
            step = min(2 * math.asin(min(1.0, wanted / (2 * radius))), angle - lowest)
            new = angle - step
            signs = rows[b, p, i].sign(), rows[b, p, j].sign()
            out[b, p, i] = (signs[0] * radius * math.cos(new) * r).to(out.dtype)
            out[b, p, j] = (signs[1] * radius * math.sin(new) * r).to(out.dtype)
    return out


_WEIGHT_BITS = {ComputeMode.INT8_WEIGHTS: 8, ComputeMode.INT5_WEIGHTS: 5}


def quantize_groupwise(weight: torch.Tensor, *, bits: int, group: int) -> torch.Tensor:
    """`weight` (out, in) rounded to symmetric `bits`-bit integers with one scale per `group`
    consecutive input weights (scale = max |w| of the group / (2^(bits-1) - 1)), returned
    dequantized in the weight's dtype: what a worker serving cheaper int8/int5 kernels
    computes with."""
    levels = 2 ** (bits - 1) - 1
    w = weight.float()
    pad = (-w.shape[-1]) % group
    padded = torch.nn.functional.pad(w, (0, pad)).view(w.shape[0], -1, group)
    scale = padded.abs().amax(dim=-1, keepdim=True).clamp_min(1e-30) / levels
    rounded = (padded / scale).round().clamp(-levels, levels) * scale
    return rounded.view(w.shape[0], -1)[:, : w.shape[-1]].to(weight.dtype)


def _quantize_weights(parts: SpanParts, *, bits: int, group: int) -> None:
    """Every nn.Linear weight of the span's layers, in place (`quantize_groupwise`)."""
    for layer in parts.layers:
        for module in layer.modules():
            if isinstance(module, nn.Linear):
                module.weight.data = quantize_groupwise(module.weight.data, bits=bits, group=group)


def _position_noise(seed: int, position: int, shape: torch.Size) -> torch.Tensor:
    """N(0, 1) noise of `shape` for one position, independent of how steps are batched."""
    digest = hashlib.sha256(struct.pack(">QQ", seed % 2**64, position)).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") >> 1)
    return torch.randn(shape, generator=generator)


def _skip_layer(parts: SpanParts, layer: int) -> SpanParts:
    if not parts.start <= layer < parts.end:
        raise ValueError(f"layer {layer} is not in the span [{parts.start}, {parts.end})")
    layers = list(parts.layers)
    layers[layer - parts.start] = _SkippedLayer(layers[layer - parts.start])
    return SpanParts(parts.config, parts.start, parts.end, layers, parts.modules, parts.helpers)


def load_adversarial_shard(
    model_dir: Path | str,
    span_start: int,
    span_end: int,
    attack: ComputeAttack,
    *,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
) -> Shard:
    """The span as a cheating worker would serve it: WRONG_MODEL loads the same span from
    `attack.impostor_dir` (which must have the same layer count and hidden size); every other
    mode wraps the honest shard in an AdversarialShard (HONEST returns the plain shard)."""
    if attack.mode is ComputeMode.HONEST:
        return load_shard(model_dir, span_start, span_end, dtype=dtype, device=device)
    if attack.mode is ComputeMode.WRONG_MODEL:
        if attack.impostor_dir is None:
            raise ValueError("wrong_model needs impostor_dir")
        return load_shard(attack.impostor_dir, span_start, span_end, dtype=dtype, device=device)
    shard = load_shard(model_dir, span_start, span_end, dtype=dtype, device=device)
    return AdversarialShard(shard, attack)


def collusion_tokens(
    tokens: list[int], *, seed: int, vocab_size: int, from_position: int = 0
) -> list[int]:
    """The wrong output colluders agree on: `tokens` with every token from `from_position` on
    replaced by SHA-256(u64 seed || u32 position) mod vocab_size, moved by one where that would
    equal the honest token (so each changed position really differs)."""
    out = list(tokens)
    for position in range(from_position, len(out)):
        digest = hashlib.sha256(struct.pack(">QI", seed % 2**64, position)).digest()
        wrong = int.from_bytes(digest[:8], "big") % vocab_size
        out[position] = wrong if wrong != tokens[position] else (wrong + 1) % vocab_size
    return out
