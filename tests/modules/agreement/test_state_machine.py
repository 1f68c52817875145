"""A hypothesis state machine over random job messages and blocks.

Rules queue transactions (submit, cancel, commit, reveal, workers stopping, re-serving and
unbonding), have the validator give verdicts on open disputes and audits (half the finalized
jobs are drawn for audit, with a short window) and close blocks; after every block the
invariants must hold:
  - supply is conserved: every balance (escrow, stake pools, fee collector included) sums to the
    supply, and genesis supply == supply + stake burned by slashes;
  - the escrow account holds exactly the open jobs' escrow (and terminal jobs hold none), and a
    terminal job's money is accounted for (refund + charge == max fee);
  - the audit hold account holds exactly what audits still hold; a settlement's payouts sum to
    its charge, except while the job's audit holds the payment (no payout yet), and no hold
    outlives its audit window;
  - every job is terminal once its deadline height has been executed;
  - routes tile [0, num_layers) and no operator appears twice in one job;
  - no worker serves more layers than its declared memory holds.
"""

from __future__ import annotations

import pathlib
import tempfile

import chain.pb  # noqa: F401

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from chain import crypto
from infera.agreement.v1 import types_pb2 as agreement_types
from infera.base.v1 import coin_pb2
from infera.inference.v1 import types_pb2
from infera.workers.v1 import tx_pb2 as workers_tx
from modules.agreement import invariants as agreement_invariants
from modules.agreement import logic as agreement_logic
from modules.agreement import verdicts
from modules.inference import invariants, logic
from tests.harness import DENOM
from tests.modules.jobs import (
    OUTPUT,
    SPANS,
    cancel_msg,
    commit_msg,
    make_job_chain,
    reveal_msg,
    submit_msg,
    worker_keys,
)
from tests.modules.serving import FEE, GAS, keeper, latest_ctx, serve_msg

OTHER = [7, 7]
MAX_PENDING = 40  # txs per block (block gas 100M / 2M per tx = 50)
# Half the finalized jobs are audited, with a window short enough to end within a run; every
# due audit window and round fits in one block's cap.
# Validators are paid 2 % of a verified job's max fee (verifications.py).
AUDITS = {
    "audit_probability": "0.5",
    "audit_window_blocks": 6,
    "max_settlements_per_block": 100,
    "verification_share": "0.02",
}


class JobMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.node = make_job_chain(
            pathlib.Path(self.tmp.name) / "n",
            n_accounts=10,
            vote_extensions_from=1,
            agreement=AUDITS,
        )
        self.extensions: dict[str, bytes] = {}  # verdicts for the next block
        self.workers = worker_keys(self.node)
        self.submitters = self.node.keys[7:10]
        self.genesis_supply = self.node.supply()
        self.pending: list[bytes] = []
        self.submits_pending = 0  # MsgSubmitJob queued in the open block
        self.committed: dict[tuple[int, str], list[int]] = {}  # (job, worker) -> tokens
        self.unbonded: set[str] = set()
        self.stopped: set[str] = set()

    def teardown(self) -> None:
        self.node.store.close()
        self.tmp.cleanup()

    # -- helpers -------------------------------------------------------------------------------

    def _queue(self, signer, msg) -> None:
        self.pending.append(self.node.tx(signer, msg, gas=GAS, fee=FEE))

    def _jobs(self) -> list[types_pb2.Job]:
        return list(keeper(self.node, "inference").iterate_jobs(latest_ctx(self.node)))

    def _job_hops(self, job: types_pb2.Job):
        return [
            (h.worker, r, i) for r, route in enumerate(job.routes) for i, h in enumerate(route.hops)
        ]

    def _key(self, bech32: str):
        return next(k for k in self.node.keys if k.bech32 == bech32)

    # -- rules ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.pending) < MAX_PENDING)
    @rule(
        who=st.integers(0, 2),
        redundancy=st.integers(1, 3),
        fee_ok=st.booleans(),
        deadline=st.integers(8, 20),
        sampling=st.booleans(),
        cancel_too=st.booleans(),
    )
    def submit(self, who, redundancy, fee_ok, deadline, sampling, cancel_too) -> None:
        submitter = self.submitters[who]
        required = 10 * (3 + 10) * redundancy
        decoding = types_pb2.Decoding(mode=types_pb2.DECODING_MODE_GREEDY)
        if sampling:
            decoding = types_pb2.Decoding(
                mode=types_pb2.DECODING_MODE_SAMPLING, temperature_milli=800, top_k=5
            )
        fee = coin_pb2.Coin(denom=DENOM, amount=str(required if fee_ok else required - 1))
        msg = submit_msg(
            submitter,
            redundancy=redundancy,
            max_fee=fee,
            deadline_blocks=deadline,
            decoding=decoding,
        )
        self._queue(submitter, msg)
        if cancel_too:  # in the same block, before assignment (the id is a guess: may miss)
            next_id = keeper(self.node, "inference").get_next_job_id(latest_ctx(self.node))
            self._queue(submitter, cancel_msg(submitter, next_id + self.submits_pending))
        self.submits_pending += 1

    @precondition(lambda self: len(self.pending) < MAX_PENDING)
    @rule(pick=st.integers(0, 50), who=st.integers(0, 2))
    def cancel(self, pick, who) -> None:
        jobs = self._jobs()
        if jobs:
            signer = self.submitters[who]
            self._queue(signer, cancel_msg(signer, jobs[pick % len(jobs)].id))

    @precondition(lambda self: len(self.pending) < MAX_PENDING)
    @rule(pick=st.integers(0, 50), hop=st.integers(0, 10), honest=st.booleans())
    def commit(self, pick, hop, honest) -> None:
        jobs = [j for j in self._jobs() if j.routes]
        if not jobs:
            return
        job = jobs[pick % len(jobs)]
        worker, _, _ = self._job_hops(job)[hop % len(self._job_hops(job))]
        tokens = OUTPUT if honest else OTHER
        self.committed.setdefault((job.id, worker), tokens)
        self._queue(self._key(worker), commit_msg(self._key(worker), job.id, tokens=tokens))

    @precondition(lambda self: len(self.pending) < MAX_PENDING)
    @rule(pick=st.integers(0, 50), hop=st.integers(0, 10), matching=st.booleans())
    def reveal(self, pick, hop, matching) -> None:
        jobs = [j for j in self._jobs() if j.routes]
        if not jobs:
            return
        job = jobs[pick % len(jobs)]
        worker, _, _ = self._job_hops(job)[hop % len(self._job_hops(job))]
        tokens = self.committed.get((job.id, worker), OUTPUT)
        if not matching:
            tokens = [1] + tokens
        self._queue(self._key(worker), reveal_msg(self._key(worker), job.id, tokens=tokens))

    @rule(
        who=st.integers(0, 2),
        redundancy=st.integers(1, 3),
        variant=st.sampled_from(["honest", "deviant", "silent"]),
    )
    def play_a_job(self, who, redundancy, variant) -> None:
        """Submit a job and play its rounds in three blocks: every hop honest, route 0 producing
        another output, or route 0's first hop silent."""
        submitter = self.submitters[who]
        known = len(self._jobs())
        self._queue(submitter, submit_msg(submitter, redundancy=redundancy))
        self.close_block(0)
        jobs = self._jobs()
        if len(jobs) == known:  # rejected: coverage too thin after stops and unbondings
            return
        job = jobs[-1]
        plays = [
            (self._key(worker), OTHER if variant == "deviant" and route == 0 else OUTPUT)
            for worker, route, hop in self._job_hops(job)
            if not (variant == "silent" and (route, hop) == (0, 0))
        ]
        for key, tokens in plays:
            self.committed.setdefault((job.id, key.bech32), tokens)
            self._queue(key, commit_msg(key, job.id, tokens=tokens))
        self.close_block(0)
        for key, tokens in plays:
            self._queue(key, reveal_msg(key, job.id, tokens=tokens))
        self.close_block(0)

    @precondition(lambda self: len(self.pending) < MAX_PENDING - 6)
    @rule(pick=st.integers(0, 50), honest=st.booleans())
    def whole_job_commits(self, pick, honest) -> None:
        """Every hop of one job commits (honest, or one route to another output)."""
        jobs = [j for j in self._jobs() if j.routes]
        if not jobs:
            return
        job = jobs[pick % len(jobs)]
        for worker, route, _ in self._job_hops(job):
            tokens = OUTPUT if honest or route > 0 else OTHER
            self.committed.setdefault((job.id, worker), tokens)
            self._queue(self._key(worker), commit_msg(self._key(worker), job.id, tokens=tokens))

    @precondition(lambda self: len(self.pending) < MAX_PENDING - 6)
    @rule(pick=st.integers(0, 50))
    def whole_job_reveals(self, pick) -> None:
        """Every hop of one job reveals what it committed."""
        jobs = [j for j in self._jobs() if j.routes]
        if not jobs:
            return
        job = jobs[pick % len(jobs)]
        for worker, _, _ in self._job_hops(job):
            tokens = self.committed.get((job.id, worker), OUTPUT)
            self._queue(self._key(worker), reveal_msg(self._key(worker), job.id, tokens=tokens))

    @precondition(lambda self: len(self.pending) < MAX_PENDING)
    @rule(which=st.integers(0, 5), action=st.sampled_from(["stop", "serve", "unbond"]))
    def worker_changes(self, which, action) -> None:
        key = self.workers[which]
        start, end = SPANS[which]
        if action == "stop":
            msg = workers_tx.MsgStopServing(operator=key.bech32, model_id="m", start=start, end=end)
        elif action == "serve":
            msg = serve_msg(key, start, end)
        else:
            msg = workers_tx.MsgUnbondWorker(operator=key.bech32)
        self._queue(key, msg)

    @rule(pick=st.integers(0, 50), passes=st.booleans())
    def verdict(self, pick, passes) -> None:
        """The validator decides one open dispute or audit in the next block: the honest output
        passes, or (``passes`` false) nothing does and route 0's first hop is named."""
        ctx = latest_ctx(self.node)
        agreement = keeper(self.node, "agreement")
        open_ids = verdicts.open_job_ids(ctx, agreement)
        if not open_ids:
            return
        job_id = open_ids[pick % len(open_ids)]
        audit = agreement.get_audit(ctx, job_id)
        passing = [audit.output_hash] if audit is not None and passes else []
        if audit is None and passes:
            passing = [agreement_logic.compute_output_hash(OUTPUT, b"")]
        culprits = [] if passes else [agreement_types.Culprit(route_index=0, hop_index=0)]
        verdict = agreement_types.Verdict(
            job_id=job_id, passing_output_hashes=passing, culprits=culprits
        )
        extension = agreement_types.VoteExtension(verdicts=[verdict])
        self.extensions = {
            self.node.validators[0].name: extension.SerializeToString(deterministic=True)
        }
        self.close_block(0)

    @rule(empty=st.integers(0, 4))
    def close_block(self, empty) -> None:
        results = self.node.block(self.pending, extensions=self.extensions).tx_results
        assert all(r.code != 1 for r in results), [r.log for r in results]  # no internal errors
        self.pending, self.submits_pending, self.extensions = [], 0, {}
        for _ in range(empty):
            self.node.block()
        for job in self._jobs():
            event(f"job state {types_pb2.JobState.Name(job.state)}")
        for audit in keeper(self.node, "agreement").iterate_audits(latest_ctx(self.node)):
            event(f"audit hold {agreement_types.HoldStatus.Name(audit.hold_status)}")

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def supply_is_conserved(self) -> None:
        ctx = latest_ctx(self.node)
        bank = keeper(self.node, "bank")
        total = sum(c.amount for _, c in bank.iterate_balances(ctx) if c.denom == DENOM)
        supply = bank.get_supply(ctx, DENOM)
        burned = keeper(self.node, "workers").get_burned(ctx)
        assert total == supply
        assert supply + burned == self.genesis_supply

    @invariant()
    def escrow_matches_open_jobs(self) -> None:
        ctx = latest_ctx(self.node)
        assert invariants.check_escrow(ctx, keeper(self.node, "inference")) == ""
        agreement = keeper(self.node, "agreement")
        for job in self._jobs():
            if not logic.is_terminal(job.state):
                continue
            settlement = agreement.get_settlement(ctx, job.id)
            charge = int(settlement.charge or "0") if settlement else 0
            audit = agreement.get_audit(ctx, job.id)
            held = audit is not None and audit.hold_status == agreement_types.HOLD_STATUS_HELD
            # held: neither charged nor back yet (the reserve and the validators' fee)
            extra = (
                int(audit.reserve_amount or "0") + int(audit.verification_fee or "0") if held else 0
            )
            assert int(job.refunded) + charge + extra == int(job.max_fee)

    @invariant()
    def audit_holds_match_the_hold_account(self) -> None:
        ctx = latest_ctx(self.node)
        agreement = keeper(self.node, "agreement")
        assert agreement_invariants.check_audit_hold(ctx, agreement) == ""
        for audit in agreement.iterate_audits(ctx):
            # its verdict window's end has run (0: still queued for a slot)
            if 0 < audit.deadline_height <= self.node.height:
                assert audit.hold_status != agreement_types.HOLD_STATUS_HELD, audit.job_id

    @invariant()
    def payouts_sum_to_the_charge_unless_held(self) -> None:
        ctx = latest_ctx(self.node)
        agreement = keeper(self.node, "agreement")
        for job in self._jobs():
            settlement = agreement.get_settlement(ctx, job.id)
            if settlement is None or job.state != types_pb2.JOB_STATE_FINALIZED:
                continue
            audit = agreement.get_audit(ctx, job.id)
            held = audit is not None and audit.hold_status == agreement_types.HOLD_STATUS_HELD
            paid = sum(int(p.amount) for p in settlement.payouts)
            assert paid == (0 if held else int(settlement.charge)), job.id

    @invariant()
    def jobs_are_terminal_by_their_deadline(self) -> None:
        for job in self._jobs():
            if job.deadline_height <= self.node.height:
                assert logic.is_terminal(job.state), (job.id, job.state)

    @invariant()
    def routes_tile_the_model_without_repeating_an_operator(self) -> None:
        for job in self._jobs():
            operators = [h.worker for route in job.routes for h in route.hops]
            assert len(operators) == len(set(operators))
            for route in job.routes:
                edges = [(h.layer_start, h.layer_end) for h in route.hops]
                assert edges[0][0] == 0 and edges[-1][1] == job.num_layers
                assert all(a[1] == b[0] for a, b in zip(edges, edges[1:], strict=False))

    @invariant()
    def workers_serve_within_their_memory(self) -> None:
        ctx = latest_ctx(self.node)
        models = keeper(self.node, "models")
        for _, worker in keeper(self.node, "workers").iterate_workers(ctx):
            used = sum(
                (s.end - s.start) * models.get_model(ctx, s.model_id).bytes_per_layer
                for s in worker.spans
            )
            assert used <= worker.hardware.memory_bytes, crypto.from_bech32(worker.operator)


TestJobMachine = JobMachine.TestCase
TestJobMachine.settings = settings(
    max_examples=30,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
