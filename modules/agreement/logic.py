"""Pure output-agreement rules: canonical outputs, commitments, route claims, quorum, payouts.

Canonical output bytes (what output_hash is the sha256 of):
    b"infera.output.v1\\x00" || kind || payload
kind is 0x01 for token ids (payload: each id as 4 big-endian bytes) and 0x02 for raw bytes
(payload: the bytes). Commitment: sha256(output_hash (32) || sha256(shard_fingerprint) (32) ||
salt (32) || worker address (20 raw bytes)); binding the worker's address means a copied
commitment cannot be opened by the copier. The shard fingerprint is variable-length evidence
(a reveal bundle: the hop's own fingerprint and the signed fingerprint rows it received, 16
bytes a position plus 158; MAX_FINGERPRINT_BYTES in all) that verifiers compare when a
route's output is disputed or audited.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import chain.pb  # noqa: F401

from chain.fixed import Decimal
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2

OUTPUT_DOMAIN = b"infera.output.v1\x00"
KIND_TOKENS = b"\x01"
KIND_BYTES = b"\x02"
HASH_LENGTH = 32  # output hash, commitment and salt are all 32 bytes
# A reveal bundle, revealed in full (inference_worker/pipeline/frames.py: 178 + 16 bytes per position):
# 96 KiB holds 6132 positions, a 16 KiB prompt (max_prompt_bytes) at >= 3.25 bytes a token plus
# 1024 new tokens (max_new_tokens). It was 32 KiB (4093 positions) for bare fingerprints.
MAX_FINGERPRINT_BYTES = 96 * 1024
BYTES_PER_TOKEN = 4  # raw-byte outputs are billed as ceil(bytes / 4) tokens
MAX_TOKEN_ID = 2**32 - 1

Position = tuple[int, int]  # (route index, hop index)


def compute_canonical_output(tokens: Sequence[int], text: bytes) -> bytes:
    """The bytes an output hash covers: token ids when given, else the raw bytes."""
    if tokens:
        return OUTPUT_DOMAIN + KIND_TOKENS + b"".join(t.to_bytes(4, "big") for t in tokens)
    return OUTPUT_DOMAIN + KIND_BYTES + text


def compute_output_hash(tokens: Sequence[int], text: bytes) -> bytes:
    return hashlib.sha256(compute_canonical_output(tokens, text)).digest()


def compute_billable_tokens(tokens: Sequence[int], text: bytes) -> int:
    return len(tokens) if tokens else -(-len(text) // BYTES_PER_TOKEN)


def compute_commitment(
    output_hash: bytes, shard_fingerprint: bytes, salt: bytes, worker: bytes
) -> bytes:
    fingerprint_hash = hashlib.sha256(shard_fingerprint).digest()
    return hashlib.sha256(output_hash + fingerprint_hash + salt + worker).digest()


def find_hop(job: inference_pb2.Job, worker: str) -> Position | None:
    """Where ``worker`` (canonical bech32) sits on the job's routes; a worker appears at most
    once per job (sharding never repeats an operator), so the first match is the only one."""
    for route_index, route in enumerate(job.routes):
        for hop_index, hop in enumerate(route.hops):
            if hop.worker == worker:
                return route_index, hop_index
    return None


def compute_round_windows(params: types_pb2.Params, max_new_tokens: int) -> tuple[int, int]:
    """(commit window, reveal window) in blocks for a job generating up to ``max_new_tokens``:
    the commit window grows with the generation it must cover,
    commit_window_blocks + ceil(max_new_tokens x commit_milli_blocks_per_token / 1000)."""
    per_token = -(-max_new_tokens * params.commit_milli_blocks_per_token // 1000)
    return params.commit_window_blocks + per_token, params.reveal_window_blocks


def compute_quorum(redundancy: int, numerator: int, denominator: int) -> int:
    """Routes that must agree: ceil(r x numerator / denominator) (2 of 3 by default)."""
    return -(-redundancy * numerator // denominator)


def compute_route_claims(
    job: inference_pb2.Job, revealed: Mapping[Position, bytes]
) -> list[types_pb2.RouteClaim]:
    """Each route's claim from the hops' revealed output hashes.

    A route is COMPLETE when every hop revealed the same output hash, INCONSISTENT when every hop
    revealed but not the same hash, INCOMPLETE otherwise; its output is what its last hop revealed.
    """
    claims = []
    for route_index, route in enumerate(job.routes):
        hashes = [revealed.get((route_index, h)) for h in range(len(route.hops))]
        if any(h is None for h in hashes):
            status = types_pb2.ROUTE_STATUS_INCOMPLETE
        elif len(set(hashes)) == 1:
            status = types_pb2.ROUTE_STATUS_COMPLETE
        else:
            status = types_pb2.ROUTE_STATUS_INCONSISTENT
        last = hashes[-1] if hashes else None
        claims.append(
            types_pb2.RouteClaim(route_index=route_index, status=status, output_hash=last or b"")
        )
    return claims


def compute_winner(claims: Iterable[types_pb2.RouteClaim], quorum: int) -> bytes | None:
    """The output hash at least ``quorum`` complete routes claim, if any (at most one can, since
    the quorum is more than half of r)."""
    counts = Counter(c.output_hash for c in claims if c.status == types_pb2.ROUTE_STATUS_COMPLETE)
    winners = sorted(h for h, n in counts.items() if n >= quorum)
    return winners[0] if winners else None


def complete_routes_by_output(claims: Iterable[types_pb2.RouteClaim]) -> dict[bytes, list[int]]:
    """The COMPLETE routes' indexes by the output they claim, in claim order."""
    groups: dict[bytes, list[int]] = {}
    for claim in claims:
        if claim.status == types_pb2.ROUTE_STATUS_COMPLETE:
            groups.setdefault(claim.output_hash, []).append(claim.route_index)
    return groups


def has_complete_route(claims: Iterable[types_pb2.RouteClaim]) -> bool:
    """Some route is COMPLETE (every hop revealed, all the same output)."""
    return any(c.status == types_pb2.ROUTE_STATUS_COMPLETE for c in claims)


def is_disagreement(revealed: Mapping[Position, bytes]) -> bool:
    """Hops revealed at least two different outputs."""
    return len(set(revealed.values())) >= 2


def compute_charge(job: inference_pb2.Job, billable_tokens: int, winning_routes: int) -> int:
    """ceil(price x (prompt estimate + billable output tokens) x winning routes), capped at the
    escrow (it never binds: the max fee covered max_new_tokens on all r routes)."""
    return min(int(job.escrow), compute_price(job, billable_tokens, winning_routes))


def compute_price(job: inference_pb2.Job, billable_tokens: int, winning_routes: int) -> int:
    """ceil(price x (prompt estimate + billable output tokens) x winning routes), uncapped."""
    tokens = (job.prompt_tokens_estimate + billable_tokens) * winning_routes
    return Decimal.parse(job.price_per_token).mul_int_ceil(tokens)


@dataclass(frozen=True)
class HopPay:
    """One winning hop's share of the fee."""

    route_index: int
    hop_index: int
    worker: str  # bech32
    layers: int  # layers served
    amount: int


def compute_payouts(
    job: inference_pb2.Job, winning_routes: Sequence[int], charge: int, protocol_share: str
) -> tuple[int, list[HopPay]]:
    """Split the charge: floor(charge x protocol_share) to the protocol, the rest to the winning
    hops in proportion to layers served (each winning route serves num_layers layers), rounded
    down; rounding dust goes to the protocol. Returns (protocol amount, hop payouts)."""
    pool = charge - Decimal.parse(protocol_share).mul_int_floor(charge)
    total_layers = len(winning_routes) * job.num_layers
    pays = []
    for route_index in winning_routes:
        for hop_index, hop in enumerate(job.routes[route_index].hops):
            layers = hop.layer_end - hop.layer_start
            amount = pool * layers // total_layers if total_layers else 0
            pays.append(HopPay(route_index, hop_index, hop.worker, layers, amount))
    return charge - sum(p.amount for p in pays), pays


def compute_delivered(claimed: Mapping[bytes, int], selected: bytes) -> bytes | None:
    """Which passing output to deliver: the one the validators' recomputation selected when a
    route claimed it, else the one most complete routes claimed, ties by hash. ``claimed``:
    passing output hash -> complete routes claiming it."""
    if selected in claimed:
        return selected
    ranked = sorted(claimed.items(), key=lambda item: (-item[1], item[0]))
    return ranked[0][0] if ranked else None


def compute_vote_winner(votes: Iterable[types_pb2.DisputeVote], total_power: int) -> bytes | None:
    """The output hash holding more than 2/3 of ``total_power`` in votes, if any."""
    power: Counter[bytes] = Counter()
    for vote in votes:
        power[vote.output_hash] += vote.power
    for output_hash, votes_power in sorted(power.items()):
        if 3 * votes_power > 2 * total_power:
            return output_hash
    return None


def decimal_ratio(value: str) -> tuple[int, int]:
    """A decimal param as (numerator, denominator) for WorkersKeeper.adjust_reputation."""
    return Decimal.parse(value).raw, Decimal.from_int(1).raw


def is_audited(block_hash: bytes, job_id: int, probability: str) -> bool:
    """Whether a finalized job is drawn for audit: sha256("audit" || block hash || job id),
    read as a 64-bit integer, falls below probability x 2^64. Unknowable before the block."""
    draw = hashlib.sha256(b"audit" + block_hash + job_id.to_bytes(8, "big")).digest()
    threshold = Decimal.parse(probability).mul_int_floor(2**64)
    return int.from_bytes(draw[:8], "big") < threshold


def is_contested(job: inference_pb2.Job, route_index: int, hop_index: int) -> bool:
    """Whether that hop of a sealed job said its box does not open (MsgContestSeal)."""
    return any((c.route, c.hop) == (route_index, hop_index) for c in job.sealed.contested)


def compute_excused(job: inference_pb2.Job) -> frozenset[Position]:
    """Hops of a sealed job not penalized for absence: every contesting hop, and every hop of
    a route whose first hop contested (without the prompt, none of them could work)."""
    out = {(c.route, c.hop) for c in job.sealed.contested}
    for contest in job.sealed.contested:
        if contest.hop == 0 and contest.route < len(job.routes):
            out |= {(contest.route, h) for h in range(len(job.routes[contest.route].hops))}
    return frozenset(out)
