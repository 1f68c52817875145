"""The workers' side of an on-chain job (bench/onchain_jobs.py): commit and reveal txs as an
honest worker sends them, and as adversary.py's ProtocolMode says for the guilty ones."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import chain.pb  # noqa: F401

from infera.agreement.v1 import tx_pb2 as agreement_tx
from infera.inference.v1 import types_pb2 as inference_types
from inference_worker.verify.adversary import ProtocolMode, collusion_tokens
from inference_worker.verify.commits import compute_commitment, compute_output_hash
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
        self.play = onchain.scenario.play
        if self.play in (INCONSISTENT, SHORT_DEADLINE):
            # the guilty hops computed honestly and reveal another output: a lie of the same
            # form as collusion's (their first route's honest output, second half replaced)
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
        held = self.mode in withheld or self.play in (PEEK_WITHHOLD, SHORT_DEADLINE)
        holding = self.guilty if held else set()
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
        if self.play == PEEK_WITHHOLD:
            self._peek()
        elif self.play == SHORT_DEADLINE:
            self._last_reveal_block()

    def _peek(self) -> None:
        """Withholding after peeking: the guilty hop has committed; it reads the others'
        reveals (and so what the divergence rule will do) and reveals only when its output is
        the one every other hop revealed, i.e. when revealing cannot get it caught."""
        history = self.onchain.history(self.job.id)
        others = {bytes(x.output_hash) for x in history.reveals}
        for place in sorted(self.guilty):
            mine = compute_output_hash(self.tokens[place])
            if others == {mine}:
                self._cheat(*self.reveal_msg(place, self.tokens[place], self.payload[place]))

    def _last_reveal_block(self) -> None:
        """The short-deadline attack: the submitter's own workers (the guilty route) reveal
        their other output in block reveal_end, the last one the reveal window allows, so that
        the dispute opens when only the deadline (reveal_end + 1) is left."""
        while self.onchain.chain.height < self.job.reveal_end_height - 1:
            self.onchain.block()
        msgs = [self.reveal_msg(p, self.tokens[p], self.payload[p]) for p in sorted(self.guilty)]
        results = self.onchain.block([self.onchain.tx(*m) for m in msgs])
        for (worker, _), result in zip(msgs, results, strict=True):
            if result.code != 0:
                self.rejected.append((worker.bech32, result.codespace, result.code))

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


# Protocol variants (Scenario.play) beyond adversary.ProtocolMode, played by WorkerPlay:
PEEK_WITHHOLD = "peek_withhold"  # commit, read the others' reveals, reveal only if agreeing
INCONSISTENT = "inconsistent"  # the guilty hop reveals another output than its route made
SHORT_DEADLINE = "short_deadline"  # the guilty route reveals another output in block reveal_end
PLAYS = ("", PEEK_WITHHOLD, INCONSISTENT, SHORT_DEADLINE)


def salt(worker: str, job_id: int) -> bytes:
    return hashlib.sha256(b"salt/%d/" % job_id + worker.encode()).digest()


class Decoys:
    """The starvation attack (issue 14, item 1): an attacker registers a price-0 model served
    by two workers of its own and keeps `count` decoy jobs on it disputed (its two hops reveal
    different outputs), each with the largest deadline the chain allows, so that they hold
    the chain's verification slots. The validators' sidecar verifies only model "m": it
    abstains on every decoy, as it would on work it cannot check, so each decoy holds its slot
    for every verdict window until it is refunded undecided; `top_up` (before each job) opens
    new ones as old ones close. The decoy txs pay their gas like any other: PrepareProposal
    keeps them all (OnChain.block asserts the proposal dropped nothing), so what protects the
    honest job is the agreement module's fair queue, not the proposer."""

    MODEL = "decoy"

    def __init__(self, onchain: OnChain, attacker: Key, first: Key, second: Key) -> None:
        from tests.modules.serving import register_model_msg, register_worker_msg, serve_msg

        self.onchain, self.attacker, self.hops = onchain, attacker, (first, second)
        self.ids: list[int] = []
        self.submitted = self.txs_sent = 0  # decoy jobs submitted; their commit/reveal txs
        model = register_model_msg(
            attacker, model_id=self.MODEL, num_layers=2, price_per_token="0",
            precision_classes=["float32"],
        )  # fmt: skip
        onchain.expect_ok(onchain.block([onchain.tx(attacker, model)]))
        workers = [
            onchain.tx(key, register_worker_msg(key, stake=10**8), serve_msg(key, i, i + 1, self.MODEL))
            for i, key in enumerate(self.hops)
        ]  # fmt: skip
        onchain.expect_ok(onchain.block(workers))

    def open_ids(self) -> list[int]:
        terminal = (inference_types.JOB_STATE_FINALIZED, inference_types.JOB_STATE_EXPIRED)
        return [j for j in self.ids if self.onchain.history(j).job.state not in terminal]

    def top_up(self, count: int) -> int:
        """Submit, commit and reveal decoys until `count` are open (older ones close undecided
        while new ones are assigned, so this takes rounds); returns how many were added."""
        added = 0
        for _ in range(8):
            more = self._top_up_once(count)
            if not more:
                return added
            added += more
        raise AssertionError(f"could not keep {count} decoys open")

    def _top_up_once(self, count: int) -> int:
        from infera.base.v1 import coin_pb2
        from infera.inference.v1 import tx_pb2 as inference_tx
        from tests.harness import DENOM

        onchain = self.onchain
        missing = count - len(self.open_ids())
        if missing <= 0:
            return 0
        submit = inference_tx.MsgSubmitJob(
            submitter=self.attacker.bech32, model_id=self.MODEL, prompt=b"decoy",
            decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
            max_new_tokens=1, redundancy=1, max_fee=coin_pb2.Coin(denom=DENOM, amount="1"),  # 0 is not a coin
            deadline_blocks=MAX_DEADLINE_BLOCKS,
        )  # fmt: skip
        from bench.onchain_jobs import _msg_response

        added: list[int] = []
        for start in range(0, missing, 40):  # a block holds 50 txs of 2M gas
            txs = [onchain.tx(self.attacker, submit) for _ in range(min(40, missing - start))]
            results = onchain.block(txs)
            onchain.expect_ok(results)
            added += [_msg_response(r, inference_tx.MsgSubmitJobResponse).job_id for r in results]
        self.ids += added
        self.submitted += len(added)
        # The chain assigns an operator at most max_operator_routes_per_block routes of a model
        # per block (sharding), so the decoys are assigned over several blocks: each block
        # commits those assigned since the last one and reveals those committed in it.
        waiting, committed = list(added), []
        for _ in range(4 * len(added) + 8):
            if not waiting and not committed:
                break
            assigned = [j for j in waiting if self._assigned(j)]
            waiting = [j for j in waiting if j not in assigned]
            txs = self._commits(assigned) + self._reveals(committed)
            self.txs_sent += len(txs)
            onchain.expect_ok(onchain.block(txs))  # block() asserts the proposal kept them all
            committed = assigned
        else:
            raise AssertionError(f"decoys never assigned: {waiting}")
        return missing

    def _assigned(self, job_id: int) -> bool:
        state = self.onchain.history(job_id).job.state
        return state == inference_types.JOB_STATE_ASSIGNED

    def _signed(self, key: Key, msgs: list[Any]) -> list[bytes]:
        from tests.modules.serving import FEE, GAS

        onchain = self.onchain
        out = []
        for start in range(0, len(msgs), 16):  # one tx of 16 msgs fits 8 x GAS
            onchain.fees[key.bech32] = onchain.fees.get(key.bech32, 0) + 8 * FEE
            out.append(onchain.chain.tx(key, *msgs[start : start + 16], gas=8 * GAS, fee=8 * FEE))
        return out

    def _commits(self, ids: list[int]) -> list[bytes]:
        return [
            tx
            for h, key in enumerate(self.hops)
            for tx in self._signed(key, [
                agreement_tx.MsgCommitOutput(
                    worker=key.bech32, job_id=j,
                    commitment=compute_commitment([h], DECOY_BUNDLE, salt(key.bech32, j), key.address),
                )
                for j in ids
            ])
        ]  # fmt: skip

    def _reveals(self, ids: list[int]) -> list[bytes]:
        return [
            tx
            for h, key in enumerate(self.hops)
            for tx in self._signed(key, [
                agreement_tx.MsgRevealOutput(
                    worker=key.bech32, job_id=j, output_tokens=[h],
                    shard_fingerprint=DECOY_BUNDLE, salt=salt(key.bech32, j),
                )
                for j in ids
            ])
        ]  # fmt: skip


MAX_DEADLINE_BLOCKS = 100  # bench/onchain_jobs.py's inference genesis: max_deadline_blocks
DECOY_BUNDLE = b"\x00" * 32  # what the decoy hops reveal as their fingerprint (never checked)
