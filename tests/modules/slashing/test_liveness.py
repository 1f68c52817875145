"""Liveness (issue 21 item 2): a validator that misses more than allowed of the signed-blocks
window is slashed and jailed (power 0), may unjail after the jail duration, and never after a
double sign."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format

from chain import crypto
from infera.slashing.v1 import query_pb2, tx_pb2
from infera.slashing.v1 import types_pb2 as slashing_types
from infera.staking.v1 import tx_pb2 as staking_tx
from modules.slashing import errors, logic
from modules.staking.params import default_params
from tendermint.types import validator_pb2
from tests.harness import (
    VALIDATOR_BOND,
    Key,
    TestChain,
    genesis_app_state,
    init_chain_request,
    validator_pubkey,
)
from tests.modules.staking.helpers import delegate, pool, run, undelegate, validator
from tests.modules.staking.test_delegation import _double_sign

WINDOW, JAIL_S = 10, 5
PARAMS = slashing_types.Params(
    signed_blocks_window=WINDOW,
    min_signed_per_window="0.5",
    downtime_jail_duration_ns=JAIL_S * 10**9,
    slash_fraction_downtime="0.01",
)


@pytest.fixture
def chain_(tmp_path):
    c = TestChain(tmp_path, validators=[Key(f"val{i}") for i in range(3)])
    state = genesis_app_state(c.keys + c.validators, c.validators)
    state["slashing"] = {"params": json_format.MessageToDict(PARAMS)}
    staking = default_params()
    staking.unbonding_time_ns = 100 * 10**9
    state["staking"]["params"] = json_format.MessageToDict(
        staking, preserving_proto_field_name=True
    )
    c.app.init_chain(init_chain_request(state))
    c.block()
    yield c
    c.store.close()


def _address(val: Key) -> bytes:
    return crypto.consensus_address(validator_pubkey(val.name))


def block_without(chain_: TestChain, absent: list[Key], txs=()):
    """The next block, its decided last commit missing the votes of ``absent``."""
    commit = chain_.last_commit(chain_.height)
    gone = {_address(v) for v in absent}
    for vote in commit.votes:
        if vote.validator.address in gone:
            vote.block_id_flag = validator_pb2.BLOCK_ID_FLAG_ABSENT
    return chain_.block(list(txs), last_commit=commit)


def unjail(chain_: TestChain, val: Key):
    return run(chain_, val, tx_pb2.MsgUnjail(validator_address=val.bech32))


def power_updates(response) -> dict[bytes, int]:
    return {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates}


def test_max_missed_is_window_minus_min_signed():
    assert logic.compute_max_missed(PARAMS) == 5
    assert logic.compute_infraction_height(10) == 8


def test_a_stopped_validator_is_jailed_slashed_and_unjails_after_the_wait(chain_):
    val2 = chain_.validators[2]
    jailed_at = None
    for _ in range(3 * WINDOW):
        response = block_without(chain_, [val2])
        if validator(chain_, val2).jailed:
            jailed_at = chain_.height
            break
    # counted from height 2; judged after a whole window, then > 5 misses: height 13
    assert jailed_at == 2 + WINDOW + 1
    assert power_updates(response) == {validator_pubkey(val2.name): 0}
    v = validator(chain_, val2)
    assert int(v.tokens) == VALIDATOR_BOND - VALIDATOR_BOND // 100 and not v.tombstoned
    info = _signing_info(chain_, val2)
    assert info.missed_blocks_counter == 0  # a fresh window after the jail
    assert unjail(chain_, val2).code == errors.ErrJailPeriod.code
    for _ in range(JAIL_S):
        chain_.block()
    response = chain_.block([chain_.tx(val2, tx_pb2.MsgUnjail(validator_address=val2.bech32))])
    assert response.tx_results[0].code == 0, response.tx_results[0].log
    assert not validator(chain_, val2).jailed
    assert power_updates(response) == {validator_pubkey(val2.name): int(v.tokens) // 10**6}


def test_missing_up_to_the_allowed_fraction_is_not_punished(chain_):
    val2 = chain_.validators[2]
    for i in range(3 * WINDOW):
        if i % 2:
            block_without(chain_, [val2])
        else:
            chain_.block()
    assert not validator(chain_, val2).jailed
    assert _signing_info(chain_, val2).missed_blocks_counter == 5


def test_unjail_refuses_tombstoned_and_unjailed_validators(chain_):
    val0, val1 = chain_.validators[0], chain_.validators[1]
    assert unjail(chain_, val0).code == errors.ErrNotJailed.code
    chain_.block(misbehavior=[_double_sign(chain_, val1, height=chain_.height)])
    assert validator(chain_, val1).tombstoned
    for _ in range(JAIL_S + 1):
        chain_.block()
    assert unjail(chain_, val1).code == errors.ErrTombstoned.code
    assert validator(chain_, val1).jailed


def test_a_self_bond_below_the_minimum_must_be_topped_up_before_unjailing(chain_):
    val0, alice = chain_.validators[0], chain_.keys[0]
    assert undelegate(chain_, val0, val0, VALIDATOR_BOND - 10).code == 0
    assert validator(chain_, val0).jailed
    assert unjail(chain_, val0).code == errors.ErrSelfBondTooLow.code
    assert delegate(chain_, alice, val0, 10**6).code != 0  # others may not delegate to it
    assert delegate(chain_, val0, val0, 10**6).code == 0  # its operator may top up
    assert unjail(chain_, val0).code == 0
    assert not validator(chain_, val0).jailed


def test_downtime_slash_reaches_undelegations_started_after_the_infraction(chain_):
    val2, alice = chain_.validators[2], chain_.keys[0]
    assert delegate(chain_, alice, val2, 10**6).code == 0
    for _ in range(WINDOW - 1):
        block_without(chain_, [val2])
    # leave just before the jail: the entry starts after the infraction height
    response = block_without(
        chain_,
        [val2],
        [
            chain_.tx(
                alice,
                staking_tx.MsgUndelegate(
                    delegator_address=alice.bech32,
                    validator_address=val2.bech32,
                    amount={"denom": "uinfera", "amount": str(10**6)},
                ),
            )
        ],
    )
    assert response.tx_results[0].code == 0
    while not validator(chain_, val2).jailed:
        block_without(chain_, [val2])
    assert chain_.balance(pool("staking_unbonding_pool")) == 10**6 - 10**4  # 1 % of it burned


def _signing_info(chain_: TestChain, val: Key) -> slashing_types.ValidatorSigningInfo:
    res = chain_.query(
        "/infera.slashing.v1.Query/SigningInfo",
        query_pb2.QuerySigningInfoRequest(validator_address=val.bech32),
    )
    assert res.code == 0, res.log
    return query_pb2.QuerySigningInfoResponse.FromString(res.value).info
