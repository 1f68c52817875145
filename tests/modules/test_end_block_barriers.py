"""End-block work an outsider can load (issue 12, item 9): the staking power update reads only
the validators that can matter, a job whose settlement fails is closed with a refund instead of
stopping FinalizeBlock, and a job's fee is stored as the canonical integer."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.context import BlockInfo, Context, ExecMode
from chain.store import MemStore
from infera.base.v1 import coin_pb2
from infera.inference.v1 import types_pb2
from infera.staking.v1 import types_pb2 as staking_pb2
from modules.agreement import settlement
from modules.staking import abci as staking_abci
from modules.staking import keys as staking_keys
from modules.staking import logic as staking_logic
from modules.staking.keeper import StakingKeeper
from modules.staking.params import default_params
from tests.harness import DENOM, INITIAL_BALANCE, TestChain, genesis_app_state, init_chain_request
from tests.modules import jobs
from tests.modules.jobs import advance_to, escrow_balance, job, ok, submit_msg
from tests.modules.serving import FEE

POWER = 1_000_000  # tokens per unit of power (default power_reduction)


class CountingStore(MemStore):
    """A MemStore that counts the validator records read (by get or by iteration)."""

    reads = 0

    def get(self, key: bytes) -> bytes | None:
        if key.startswith(staking_keys.VALIDATOR):
            self.reads += 1
        return super().get(key)

    def iterate(self, start, end, reverse=False):
        for key, value in super().iterate(start, end, reverse):
            if key.startswith(staking_keys.VALIDATOR):
                self.reads += 1
            yield key, value


def _staking(max_validators: int) -> tuple[Context, StakingKeeper, CountingStore]:
    store = CountingStore()
    ctx = Context(store=store, block=BlockInfo("c", 2, 0), mode=ExecMode.FINALIZE)
    keeper = StakingKeeper(bank=None)  # type: ignore[arg-type]  # power updates move no coins
    params = default_params()
    params.max_validators = max_validators
    keeper.set_params(ctx, params)
    return ctx, keeper, store


def _add(ctx, keeper, index: int, tokens: int, jailed: bool = False) -> bytes:
    operator = hashlib.sha256(b"op%d" % index).digest()[:20]
    validator = staking_pb2.Validator(
        operator_address=f"op{index}",
        consensus_pubkey=hashlib.sha256(b"key%d" % index).digest(),
        tokens=str(tokens),
        jailed=jailed,
    )
    keeper.set_validator(ctx, operator, validator)
    return operator


def test_power_update_reads_only_candidates_and_current_validators():
    ctx, keeper, store = _staking(max_validators=3)
    for i in range(5):
        _add(ctx, keeper, i, (10 + i) * POWER)
    for i in range(5, 205):  # validators created once, then jailed or emptied: never matter
        _add(ctx, keeper, i, POWER if i % 2 else 0, jailed=bool(i % 2))
    staking_abci.process_power_updates(ctx, keeper)
    assert sorted(u.power for u in ctx.validator_updates) == [12, 13, 14]
    store.reads, ctx.validator_updates = 0, []
    staking_abci.process_power_updates(ctx, keeper)
    assert ctx.validator_updates == []
    assert store.reads <= 10, store.reads  # was 205: every validator ever created


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=12),
    st.integers(1, 5),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 6), st.booleans()), max_size=8),
)
def test_power_updates_match_ranking_every_validator(initial, max_validators, changes):
    """The indexed update sends exactly what ranking all validators would send."""
    ctx, keeper, _ = _staking(max_validators)
    operators = [_add(ctx, keeper, i, p * POWER, j) for i, (p, j) in enumerate(initial)]
    staking_abci.process_power_updates(ctx, keeper)
    for index, power, jailed in changes:
        operator = operators[index % len(operators)]
        validator = keeper.get_validator(ctx, operator)
        validator.tokens, validator.jailed = str(power * POWER), jailed
        keeper.set_validator(ctx, operator, validator)
    ctx.validator_updates = []
    everyone = list(keeper.iterate_validators(ctx))
    expected = staking_logic.compute_active_powers(everyone, keeper.get_params(ctx))
    changed = {op for op, p in expected.items() if p != keeper.get_last_power(ctx, op)}
    staking_abci.process_power_updates(ctx, keeper)
    sent = {u.pubkey_ed25519: u.power for u in ctx.validator_updates}
    by_key = {bytes(v.consensus_pubkey): op for op, v in everyone}
    assert {by_key[k] for k in sent} == changed
    assert all(expected[by_key[k]] == power for k, power in sent.items())


# -- fault barrier around settlement ---------------------------------------------------------


def test_a_job_whose_settlement_fails_is_refunded_and_blocks_go_on(tmp_path, monkeypatch):
    node = jobs.make_job_chain(tmp_path / "node")
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    submitted = job(node, 1)

    def broken(ctx, keeper, job_):
        raise RuntimeError("a bug in settlement")

    monkeypatch.setattr(settlement, "settle_job", broken)
    advance_to(node, submitted.deadline_height + 1)  # raised out of FinalizeBlock before
    closed = job(node, 1)
    assert closed.state == types_pb2.JOB_STATE_EXPIRED
    assert "internal error" in closed.reason
    assert escrow_balance(node) == 0
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE
    node.store.close()


def test_job_fee_with_leading_zeros_is_stored_as_the_canonical_integer(tmp_path):
    node = jobs.make_job_chain(tmp_path / "node")
    submitter = node.keys[7]
    fee = coin_pb2.Coin(denom=DENOM, amount="000" + str(jobs.MAX_FEE))
    ok(node, (submitter, submit_msg(submitter, max_fee=fee)))
    stored = job(node, 1)
    assert (stored.max_fee, stored.escrow) == (str(jobs.MAX_FEE), str(jobs.MAX_FEE))
    node.store.close()


def test_submit_job_with_a_model_id_over_64_bytes_fails_cleanly(tmp_path):
    node = jobs.make_job_chain(tmp_path / "node")
    submitter = node.keys[7]
    (result,) = jobs.run(node, (submitter, submit_msg(submitter, model_id="m" * 300)))
    assert (result.codespace, result.code) == ("sdk", 18), result.log
    assert escrow_balance(node) == 0
    node.store.close()


def test_staking_genesis_refuses_a_min_self_bond_in_non_ascii_digits(tmp_path):
    node = TestChain(tmp_path / "node")
    state = genesis_app_state(node.keys, node.validators)
    state["staking"]["params"] = {**_staking_params(), "min_self_bond": "１０"}
    with pytest.raises(ValueError, match="ASCII digits"):
        node.app.init_chain(init_chain_request(state))
    node.store.close()


def _staking_params() -> dict:
    return json_format.MessageToDict(default_params())
