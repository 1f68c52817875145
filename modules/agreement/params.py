"""Default agreement params and their validation."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.fixed import ONE, Decimal
from infera.agreement.v1 import types_pb2

MAX_MILLI_BLOCKS_PER_TOKEN = 1_000_000  # 1000 blocks per token: far beyond any real worker
MAX_VERIFICATION_SLOTS = 64  # verdicts one vote extension holds (verdicts.MAX_VERDICTS)


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        # Commit window = 10 + ceil(max_new_tokens x 2000 / 1000) blocks; see the README
        # ("Windows"): SmolLM2-135M on CPU generates 2-3 tokens/s per route, blocks take 0.5-1 s.
        commit_window_blocks=10,  # event delivery, prefill and the commit tx's inclusion
        commit_milli_blocks_per_token=2000,  # 2 blocks per token: 1 token/s at 0.5 s blocks
        reveal_window_blocks=10,  # no compute: poll latency and inclusion, with margin
        quorum_numerator=2,  # 2 of 3: ceil(r x 2 / 3) routes must agree
        quorum_denominator=3,
        protocol_share="0.05",  # 5% of the charge to validators (fee collector)
        reputation_reward="1.05",
        reputation_penalty_absent="0.8",
        reputation_penalty_mismatch="0.95",
        slash_fraction_absent="0.001",
        max_settlements_per_block=100,
        slash_fraction_cheat="0.2",  # a deviating hop loses a fifth of its stake
        reputation_penalty_cheat="0.5",
        audit_probability="0.05",  # see README: chance a colluding quorum goes unnoticed
        # The verdict window of every open verification (audit or dispute), from the block it
        # gets a slot; extended up to verdict_max_windows times, then refunded, nobody paid.
        audit_window_blocks=50,
        verification_slots=64,  # verifications validators answer at once (one extension's max)
        verdict_max_windows=3,  # windows before an undecided verification is refunded
        # Committing, peeking at the others' reveals and withholding costs what being caught
        # cheating costs (README: "What a rational worker can do").
        slash_fraction_withhold="0.2",
        verification_share="0.02",  # of a verified job's max fee, to the validators that decide
        # Agreeing routes whose last hops' fingerprints differ by more are audited regardless of
        # the draw: the verifier's noise bounds (VERIFICATION.md: honest fp32 replicas <= 0.013
        # with an int8 wire codec, bf16 <= 0.071); scale x1.05 or 5 % noise reach 0.046-0.08.
        divergence_full_precision="0.015",
        divergence_half_precision="0.1",
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ValueError when the params cannot work (genesis check)."""
    if params.commit_window_blocks < 1 or params.reveal_window_blocks < 1:
        raise ValueError("commit and reveal windows must be at least one block")
    num, den = params.quorum_numerator, params.quorum_denominator
    if den == 0 or not den < 2 * num or num > den:
        raise ValueError(f"quorum {num}/{den} must be in (1/2, 1]")
    if params.commit_milli_blocks_per_token > MAX_MILLI_BLOCKS_PER_TOKEN:
        raise ValueError(f"commit_milli_blocks_per_token above {MAX_MILLI_BLOCKS_PER_TOKEN}")
    if params.max_settlements_per_block < 1:
        raise ValueError("max_settlements_per_block must be positive")
    if not 1 <= params.verification_slots <= MAX_VERIFICATION_SLOTS:
        raise ValueError(f"verification_slots must be in 1..{MAX_VERIFICATION_SLOTS}")
    if params.audit_window_blocks < 1 or params.verdict_max_windows < 1:
        raise ValueError("audit_window_blocks and verdict_max_windows must be positive")
    fractions = {
        "protocol_share": (0, ONE),
        "reputation_reward": (ONE, 10 * ONE),
        "reputation_penalty_absent": (0, ONE),
        "reputation_penalty_mismatch": (0, ONE),
        "slash_fraction_absent": (0, ONE),
        "slash_fraction_cheat": (0, ONE),
        "reputation_penalty_cheat": (0, ONE),
        "audit_probability": (0, ONE),
        "slash_fraction_withhold": (0, ONE),
        "verification_share": (0, ONE),
        "divergence_full_precision": (0, 1000 * ONE),
        "divergence_half_precision": (0, 1000 * ONE),
    }
    for name, (low, high) in fractions.items():
        value = Decimal.parse(getattr(params, name)).raw
        if not low <= value <= high:
            raise ValueError(f"agreement param {name} out of range")
    withhold = Decimal.parse(params.slash_fraction_withhold).raw
    if withhold < Decimal.parse(params.slash_fraction_cheat).raw:
        raise ValueError("slash_fraction_withhold must not be below slash_fraction_cheat")
