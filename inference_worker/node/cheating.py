"""What a worker configured as an adversary does differently (test-only).

worker.toml's ``[adversary]`` table (refused unless ``INFERA_UNSAFE_ADVERSARY=1``) holds an
`adversary.AdversaryConfig`; `worker.py` calls the three functions here at the three places
where a cheat departs from the honest path, and nowhere else:

* `serve_shard`: the span it serves (compute attacks: skip_layer, scale, noise, wrong_model).
  The cheat is in the hidden states; the worker fingerprints, commits and reveals them as usual.
* `claimed_tokens`: the output it commits to (``collude``: a route listed in
  ``colluding_routes`` claims the shared wrong output; its fingerprint stays the real one).
* `act_after_commit`: what it does instead of revealing (``never_reveal``, ``reveal_late``,
  ``copy_reveal``). It returns a note saying what happened; nothing is retried.

See adversary.py's module docstring for what each mode means and what catches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from chain.client import ClientError
from inference_worker.node.chain import ChainLink
from inference_worker.pipeline.shard import Shard
from inference_worker.verify.adversary import (
    AdversarialShard,
    ComputeAttack,
    ComputeMode,
    ProtocolAttack,
    ProtocolMode,
    collusion_tokens,
    load_adversarial_shard,
)
from inference_worker.verify.commits import JobRecord

POLL_S = 0.3  # pause between chain polls, seconds
INCLUSION_BLOCKS = 10  # blocks a dishonest reveal is waited for before the note says it was lost
INSTEAD_OF_REVEAL = (ProtocolMode.NEVER_REVEAL, ProtocolMode.REVEAL_LATE, ProtocolMode.COPY_REVEAL)


def serve_shard(shard: Shard, attack: ComputeAttack, model_dir: Path) -> Shard:
    """The shard a worker with `attack` serves in place of `shard` (its verified honest span).

    Raises ValueError when the attack does not fit the span (a skipped layer outside it)."""
    if attack.mode is ComputeMode.HONEST:
        return shard
    if attack.mode is ComputeMode.WRONG_MODEL:  # the impostor's weights, unverified on purpose
        return load_adversarial_shard(
            model_dir, shard.span_start, shard.span_end, attack,
            dtype=shard.dtype, device=str(shard.device),
        )  # fmt: skip
    return AdversarialShard(shard, attack)


def claimed_tokens(
    tokens: Sequence[int], route_index: int, attack: ProtocolAttack, vocab_size: int
) -> tuple[int, ...]:
    """The output a worker commits to: the colluders' shared lie on a colluding route, else
    the route's real output."""
    if attack.mode is not ProtocolMode.COLLUDE or route_index not in attack.colluding_routes:
        return tuple(tokens)
    lie = collusion_tokens(
        list(tokens), seed=attack.seed, vocab_size=vocab_size, from_position=attack.from_position
    )
    return tuple(lie)


async def act_after_commit(chain: ChainLink, record: JobRecord, attack: ProtocolAttack) -> str:
    """Instead of the honest reveal: do what `attack` says; returns a note on what happened
    (the chain's verdict on the dishonest reveal, when one was sent)."""
    if attack.mode is ProtocolMode.NEVER_REVEAL:
        return "adversary never_reveal: committed, not revealing"
    job = await asyncio.to_thread(chain.job, record.job_id)
    if job is None:
        return f"adversary {attack.mode}: the chain does not know the job"
    tokens, fingerprint = record.tokens, bytes.fromhex(record.fingerprint)
    if attack.mode is ProtocolMode.REVEAL_LATE:
        await _wait_height(chain, job.reveal_end_height + attack.late_blocks)
    elif attack.mode is ProtocolMode.COPY_REVEAL:
        copied = await _copied_reveal(chain, record, attack.copy_from_route, job.reveal_end_height)
        if copied is None:
            return f"adversary copy_reveal: route {attack.copy_from_route} revealed nothing"
        tokens, fingerprint = copied
    else:
        raise ValueError(f"act_after_commit has nothing to do for {attack.mode}")
    try:
        sent = await asyncio.to_thread(
            chain.reveal, record.job_id, tokens=tokens, fingerprint=fingerprint,
            salt=bytes.fromhex(record.salt),
        )  # fmt: skip
    except ClientError as err:  # simulation or CheckTx refused it: the expected outcome
        return f"adversary {attack.mode}: reveal refused: {err}"
    give_up = await asyncio.to_thread(chain.height) + INCLUSION_BLOCKS
    while (result := await asyncio.to_thread(chain.tx, sent.txhash)) is None:
        if await asyncio.to_thread(chain.height) > give_up:
            return f"adversary {attack.mode}: reveal {sent.txhash} never included"
        await asyncio.sleep(POLL_S)
    outcome = "accepted" if result.ok else f"failed (code {result.code}): {result.log}"
    return f"adversary {attack.mode}: reveal {outcome}"


async def _wait_height(chain: ChainLink, height: int) -> None:
    while await asyncio.to_thread(chain.height) < height:
        await asyncio.sleep(POLL_S)


async def _copied_reveal(
    chain: ChainLink, record: JobRecord, route_index: int, until_height: int
) -> tuple[tuple[int, ...], bytes] | None:
    """(tokens, fingerprint) of route `route_index`'s reveal at this worker's hop index (else
    its highest hop that revealed), once on chain; None if the reveal window ends first."""
    while await asyncio.to_thread(chain.height) <= until_height:
        history = await asyncio.to_thread(chain.job_history, record.job_id)
        reveals = sorted(
            (r for r in history.reveals if r.route_index == route_index),
            key=lambda r: r.hop_index,
        )
        outputs = {o.output_hash: tuple(o.tokens) for o in history.outputs}
        same_hop = [r for r in reveals if r.hop_index == record.hop_index]
        chosen = same_hop[0] if same_hop else (reveals[-1] if reveals else None)
        if chosen is not None and chosen.output_hash in outputs:
            return outputs[chosen.output_hash], bytes(chosen.shard_fingerprint)
        await asyncio.sleep(POLL_S)
    return None
