"""Adversaries against the real chain with real compute (bench/onchain_jobs.py; the measured
table is bench/bench_onchain_adversaries.py): the hop the chain slashes is the guilty one, the
cheating txs are refused, honest replicas that differ in precision or threads are never slashed,
and what the harness calls a payment is what the chain's settlement paid."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")  # validators install no torch: these need the worker extra

from bench.onchain_jobs import (  # noqa: E402
    OTHER_SPANS,
    SPANS,
    OnChain,
    Scenario,
    pool,
    tiny_model_dirs,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, ProtocolMode  # noqa: E402
from modules.agreement.errors import ErrCommitmentMismatch, ErrRevealWindowClosed  # noqa: E402

JOBS = 3  # per scenario: the guilty hop moves over hops 0, 1, 2 of route 0
TOKENS = 12


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tiny_model_dirs(tmp_path_factory.mktemp("onchain-models"))


def _run(tmp_path, models, scenario, jobs=JOBS):
    torch.set_num_threads(1)
    onchain = OnChain(tmp_path / "run", scenario, *models)
    rng = random.Random(scenario.name)
    try:
        return [onchain.run_job(index, rng) for index in range(jobs)], onchain
    finally:
        onchain.chain.store.close()


def _only_guilty_slashed(outcomes):
    for o in outcomes:
        assert o.slashed_guilty, (o.job_id, o.state, o.guilty_positions)
        assert not o.honest_slashed, (o.job_id, o.slashed_positions, o.guilty_positions)


@pytest.mark.parametrize(
    "attack",
    [ComputeAttack(ComputeMode.SKIP_LAYER), "wrong_model"],
    ids=["skip_layer", "wrong_model"],
)
def test_chain_slashes_exactly_the_hop_that_computed_wrong(tmp_path, models, attack):
    if attack == "wrong_model":
        attack = ComputeAttack(ComputeMode.WRONG_MODEL, impostor_dir=str(models[1]))
    scenario = Scenario("compute", pool(SPANS, 3), attack=attack, new_tokens=TOKENS)
    outcomes, _ = _run(tmp_path, models, scenario)
    _only_guilty_slashed(outcomes)
    for o in outcomes:
        assert o.disputed and o.slashed_positions == o.guilty_positions
        assert o.honest_routes_paid and o.honest_output_delivered


def test_an_audit_catches_a_cheat_that_left_the_output_unchanged(tmp_path, models):
    attack = ComputeAttack(ComputeMode.SCALE, scale=1.05)
    scenario = Scenario(
        "scale", pool(SPANS, 3), attack=attack, audit_probability="1", new_tokens=TOKENS
    )
    outcomes, _ = _run(tmp_path, models, scenario, jobs=4)
    _only_guilty_slashed(outcomes)
    assert any(o.audited and not o.outputs_differ for o in outcomes)


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        (ProtocolMode.COPY_REVEAL, ErrCommitmentMismatch),
        (ProtocolMode.REVEAL_LATE, ErrRevealWindowClosed),
        (ProtocolMode.NEVER_REVEAL, None),
    ],
)
def test_protocol_cheats_are_refused_and_slashed_as_absent(tmp_path, models, mode, error):
    scenario = Scenario(mode.value, pool(SPANS, 3), protocol=mode, new_tokens=TOKENS)
    outcomes, _ = _run(tmp_path, models, scenario)
    _only_guilty_slashed(outcomes)
    for o in outcomes:
        expected = [] if error is None else [(w, error.codespace, error.code) for w in o.guilty]
        assert o.rejected == expected


def test_an_audit_slashes_only_colluders(tmp_path, models):
    scenario = Scenario(
        "collude",
        pool(SPANS, 4),
        redundancy=3,
        protocol=ProtocolMode.COLLUDE,
        audit_probability="1",
        new_tokens=TOKENS,
    )
    outcomes, _ = _run(tmp_path, models, scenario)
    _only_guilty_slashed(outcomes)
    for o in outcomes:
        assert o.audited and o.audit_failed and o.state == "JOB_STATE_FINALIZED"
        assert {r for r, _ in o.slashed_positions} == {r for r, _ in o.guilty_positions}


def test_a_mixed_fp32_bf16_pool_gives_each_job_one_precision_and_slashes_nobody(tmp_path, models):
    workers = pool(SPANS, 2) + pool(OTHER_SPANS, 2, "bfloat16")
    scenario = Scenario("fp32-bf16", workers, honest=True, new_tokens=TOKENS)
    outcomes, _ = _run(tmp_path, models, scenario, jobs=4)
    for o in outcomes:
        assert not o.slashed and not o.reputation_dropped
        assert len({dtype for route in o.route_dtypes for dtype in route}) == 1  # never mixed
        assert o.honest_routes_paid and o.honest_output_delivered


def test_honest_thread_replicas_are_paid_what_the_settlement_says(tmp_path, models):
    scenario = Scenario(
        "threads", pool(SPANS, 3), route_threads=(1, 2), honest=True, new_tokens=TOKENS
    )
    torch.set_num_threads(1)
    onchain = OnChain(tmp_path / "run", scenario, *models)
    try:
        outcome = onchain.run_job(0, random.Random(0))
        settlement = onchain.history(outcome.job_id).settlement
    finally:
        onchain.chain.store.close()
    assert not outcome.slashed
    paid = {p.recipient: int(p.amount) for p in settlement.payouts}
    workers = [w for route in outcome.route_workers for w in route]
    assert {w: outcome.paid[w] for w in workers} == {w: paid[w] for w in workers}
    assert all(paid[w] > 0 for w in workers)
