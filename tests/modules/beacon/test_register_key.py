"""MsgRegisterBlsKey (validators created after genesis join the beacon), the Beacon query, and
pruning of old beacon values."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from chain.store.cache import MemStore
from infera.beacon.v1 import query_pb2, tx_pb2, types_pb2
from modules.beacon import keys, logic
from modules.beacon.keeper import BeaconKeeper
from tests.harness import (
    CHAIN_ID,
    Key,
    TestChain,
    send_msg,
    validator_bls_secret,
    validator_pubkey,
)

GAS = 25_000_000  # register_key_gas (20M) + the tx's own
FEE = 1_000_000


def _keeper(c: TestChain) -> BeaconKeeper:
    return next(m for m in c.app.modules if m.name == "beacon").keeper


def _ctx(c: TestChain) -> Context:
    return Context(
        store=c.store.latest(), block=BlockInfo(CHAIN_ID, c.height + 1, 0), mode=ExecMode.QUERY
    )


def _msg(operator: Key, secret: int, proof_secret: int | None = None) -> tx_pb2.MsgRegisterBlsKey:
    return tx_pb2.MsgRegisterBlsKey(
        operator=operator.bech32,
        bls_pubkey=logic.compute_pubkey(secret),
        proof_of_possession=logic.compute_proof_of_possession(
            secret if proof_secret is None else proof_secret
        ),
    )


@pytest.fixture
def chain_(tmp_path):
    # No genesis keys: as for validators created after genesis (MsgCreateValidator).
    c = TestChain(tmp_path / "r", validators=[Key("val0"), Key("val1")])
    c.init()
    c.block()
    user = c.keys[0]
    funding = [c.tx(user, send_msg(user, v.address, 10**8)) for v in c.validators]
    assert all(r.code == 0 for r in c.block(funding).tx_results)  # operators' fee accounts
    yield c
    c.store.close()


def _send(c: TestChain, signer: Key, msg: tx_pb2.MsgRegisterBlsKey):
    return c.block([c.tx(signer, msg, gas=GAS, fee=FEE)]).tx_results[0]


def test_a_validator_registers_its_key_once(chain_):
    val0 = chain_.validators[0]
    secret = validator_bls_secret("val0")
    result = _send(chain_, val0, _msg(val0, secret))
    assert result.code == 0, result.log
    address = crypto.consensus_address(validator_pubkey("val0"))
    assert _keeper(chain_).get_key(_ctx(chain_), address) == logic.compute_pubkey(secret)
    assert result.gas_used > 20_000_000  # the pairing check is paid
    # Twice: keys are never replaced (a replaced key would let a validator pick among two).
    again = _send(chain_, val0, _msg(val0, validator_bls_secret("other")))
    assert (again.codespace, again.code) == ("beacon", 3)


def test_a_bad_proof_of_possession_is_rejected_and_still_paid(chain_):
    val1 = chain_.validators[1]
    result = _send(
        chain_, val1, _msg(val1, validator_bls_secret("val1"), validator_bls_secret("x"))
    )
    assert (result.codespace, result.code) == ("beacon", 4)
    assert result.gas_used > 20_000_000
    address = crypto.consensus_address(validator_pubkey("val1"))
    assert _keeper(chain_).get_key(_ctx(chain_), address) is None


def test_a_non_validator_cannot_register(chain_):
    user = chain_.keys[0]
    result = _send(chain_, user, _msg(user, validator_bls_secret("user0")))
    assert (result.codespace, result.code) == ("beacon", 2)
    assert result.gas_used < 1_000_000  # refused before the pairing check


def test_another_validators_key_cannot_be_copied(chain_):
    val0, val1 = chain_.validators
    secret = validator_bls_secret("val0")
    assert _send(chain_, val0, _msg(val0, secret)).code == 0
    # The proof of possession is a unique signature: val1 can replay it, so copies are refused.
    copied = _send(chain_, val1, _msg(val1, secret))
    assert (copied.codespace, copied.code) == ("beacon", 5)


def test_malformed_key_bytes_are_refused_cheaply(chain_):
    val1 = chain_.validators[1]
    msg = tx_pb2.MsgRegisterBlsKey(
        operator=val1.bech32, bls_pubkey=b"\x00" * 47, proof_of_possession=b"\x01" * 96
    )
    result = _send(chain_, val1, msg)
    assert (result.codespace, result.code) == ("beacon", 4)
    assert result.gas_used < 1_000_000


def test_beacon_query_gives_the_value_and_its_proof_key(tmp_path):
    c = TestChain(tmp_path / "q", validators=[Key("val0")], beacon=True)
    c.init(vote_extensions_from=1)
    for _ in range(3):
        c.block()
    path = "/infera.beacon.v1.Query/Beacon"
    answer = query_pb2.QueryBeaconResponse.FromString(
        c.query(path, query_pb2.QueryBeaconRequest(height=1)).value
    )
    assert len(answer.value) == 32 and answer.store_key == keys.value_key(1)
    # The store key's value, proven, is the same bytes (what a light client checks).
    from chain.queries import STORE_KEY_PATH
    from tendermint.abci import types_pb2 as abci

    proven = c.app.query(abci.RequestQuery(path=STORE_KEY_PATH, data=answer.store_key, prove=True))
    assert proven.value == answer.value and proven.proof_ops.ops
    future = query_pb2.QueryBeaconResponse.FromString(
        c.query(path, query_pb2.QueryBeaconRequest(height=99)).value
    )
    assert future.value == b""
    c.store.close()


def test_pruning_keeps_the_window_with_bounded_work_per_block():
    keeper, store = BeaconKeeper(), MemStore()
    setup = Context(store=store, block=BlockInfo(CHAIN_ID, 1, 0), mode=ExecMode.FINALIZE)
    keeper.set_params(setup, types_pb2.Params(keep_heights=1000, prune_per_block=2))
    for height in range(1, 11):
        keeper.set_beacon(setup, height, bytes([height]) * 32)

    def prune_at(block_height: int) -> int:
        ctx = Context(
            store=store, block=BlockInfo(CHAIN_ID, block_height, 0), mode=ExecMode.FINALIZE
        )
        return keeper.prune(ctx)

    assert prune_at(1000) == 0  # nothing older than the window yet
    assert prune_at(1006) == 2  # heights 1..5 are out of the window: the 2 oldest go
    assert keeper.get_beacon(setup, 1) is None and keeper.get_beacon(setup, 3) is not None
    assert prune_at(1006) == 2 and prune_at(1006) == 1 and prune_at(1006) == 0
    assert [h for h in range(1, 11) if keeper.get_beacon(setup, h)] == [6, 7, 8, 9, 10]
    keeper.set_params(setup, types_pb2.Params(keep_heights=0, prune_per_block=2))
    assert prune_at(10**6) == 0  # 0 keeps everything


def test_a_garbage_operator_address_is_a_typed_error(chain_):
    val1 = chain_.validators[1]
    msg = _msg(val1, validator_bls_secret("val1"))
    msg.operator = "infera1" + "\u00e9" * 38
    check = chain_.check(chain_.tx(val1, msg, gas=GAS, fee=FEE, bump=False))
    assert check.code != 0 and check.codespace  # refused with a code, nothing raised
