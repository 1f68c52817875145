"""The workers' side of an on-chain job (bench/onchain_jobs.py): commit and reveal txs as an
honest worker sends them, and as adversary.py's ProtocolMode says for the guilty ones."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import chain.pb  # noqa: F401

from infera.agreement.v1 import tx_pb2 as agreement_tx
from infera.inference.v1 import types_pb2 as inference_types
from inference_worker.verify.adversary import ProtocolMode, collusion_tokens
from inference_worker.verify.commits import compute_commitment
from inference_worker.verify.evidence import RouteClaim, reveal_payload
from tests.harness import Key

if TYPE_CHECKING:
    from bench.onchain_jobs import OnChain


class WorkerPlay:
    """The commit and reveal txs of one job: honest hops as a worker sends them, the guilty
    ones as adversary.py's ProtocolMode says."""

    def __init__(
        self,
        onchain: OnChain,
        job: inference_types.Job,
        claims: list[RouteClaim],
        guilty: set[tuple[int, int]],
        index: int,
    ) -> None:
        self.onchain, self.job, self.claims, self.guilty = onchain, job, claims, guilty
        self.mode = onchain.scenario.protocol
        self.rejected: list[tuple[str, str, int]] = []
        self.hops = [(r, h) for r, route in enumerate(job.routes) for h in range(len(route.hops))]
        self.tokens = {(r, h): list(claims[r].tokens) for r, h in self.hops}
        self.payload = {(r, h): reveal_payload(claims[r], h) for r, h in self.hops}
        if self.mode is ProtocolMode.COLLUDE:
            # the colluders ran the job honestly, then all reveal one lie: their common honest
            # output with its second half replaced (adversary.collusion_tokens)
            first = min(r for r, _ in guilty)
            lie = collusion_tokens(
                list(claims[first].tokens), seed=index, vocab_size=onchain.tokenizer.vocab_size,
                from_position=len(claims[first].tokens) // 2,
            )  # fmt: skip
            for place in guilty:
                self.tokens[place] = lie
        if self.mode is ProtocolMode.COPY_REVEAL:
            # the copier cannot know the output when it commits: it commits to a guess
            for place in guilty:
                self.tokens[place] = [0] * len(claims[place[0]].tokens)
                self.payload[place] = hashlib.sha256(b"guess").digest() * 9

    def worker(self, place: tuple[int, int]) -> Key:
        r, h = place
        return self.onchain.key_of[self.job.routes[r].hops[h].worker]

    def commit(self) -> None:
        msgs = []
        for place in self.hops:
            worker = self.worker(place)
            commitment = compute_commitment(
                self.tokens[place], self.payload[place], salt(worker.bech32, self.job.id),
                worker.address,
            )  # fmt: skip
            msg = agreement_tx.MsgCommitOutput(
                worker=worker.bech32, job_id=self.job.id, commitment=commitment
            )
            msgs.append(self.onchain.tx(worker, msg))
        self.onchain.expect_ok(self.onchain.block(msgs))

    def reveal_msg(self, place: tuple[int, int], tokens: list[int], payload: bytes):
        worker = self.worker(place)
        return worker, agreement_tx.MsgRevealOutput(
            worker=worker.bech32,
            job_id=self.job.id,
            output_tokens=tokens,
            shard_fingerprint=payload,
            salt=salt(worker.bech32, self.job.id),
        )

    def reveal(self) -> None:
        withheld = (ProtocolMode.COPY_REVEAL, ProtocolMode.NEVER_REVEAL, ProtocolMode.REVEAL_LATE)
        holding = self.guilty if self.mode in withheld else set()
        txs = [
            self.onchain.tx(*self.reveal_msg(p, self.tokens[p], self.payload[p]))
            for p in self.hops
            if p not in holding
        ]
        self.onchain.expect_ok(self.onchain.block(txs))
        if self.mode is ProtocolMode.COPY_REVEAL:
            self._copy()
        elif self.mode is ProtocolMode.REVEAL_LATE:
            self._late()

    def _copy(self) -> None:
        """Once the other route's reveals are on chain, send its output and the same hop's
        fingerprint bytes (read from JobHistory) with the copier's own salt."""
        history = self.onchain.history(self.job.id)
        outputs = {o.output_hash: list(o.tokens) for o in history.outputs}
        for r, h in sorted(self.guilty):
            source = next(x for x in history.reveals if x.route_index != r and x.hop_index == h)
            worker, msg = self.reveal_msg(
                (r, h), outputs[source.output_hash], bytes(source.shard_fingerprint)
            )
            self._cheat(worker, msg)

    def _late(self) -> None:
        """Reveal one block after the reveal window (adversary.ProtocolAttack.late_blocks=1)."""
        while self.onchain.chain.height < self.job.reveal_end_height:  # next: reveal_end + 1
            self.onchain.block()
        for place in sorted(self.guilty):
            self._cheat(*self.reveal_msg(place, self.tokens[place], self.payload[place]))

    def _cheat(self, worker: Key, msg: Any) -> None:
        result = self.onchain.block([self.onchain.tx(worker, msg)])[0]
        if result.code != 0:
            self.rejected.append((worker.bech32, result.codespace, result.code))


def salt(worker: str, job_id: int) -> bytes:
    return hashlib.sha256(b"salt/%d/" % job_id + worker.encode()).digest()
