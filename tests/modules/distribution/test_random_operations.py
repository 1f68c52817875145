"""A seeded random mix of delegations, undelegations, redelegations, withdrawals, fee blocks,
absent validators and slashes: after every block the staking and distribution invariants and
total supply hold, and two fresh apps fed the same blocks reach the same app hashes."""

from __future__ import annotations

import random

import chain.pb  # noqa: F401

from infera.distribution.v1 import tx_pb2
from infera.staking.v1 import tx_pb2 as staking_tx
from tendermint.types import validator_pb2
from tests.harness import TestChain, send_msg
from tests.modules.distribution.test_distribution import _consensus, assert_invariants
from tests.modules.staking.helpers import coin
from tests.modules.staking.test_delegation import _double_sign, make_chain

BLOCKS = 40


def _random_msg(rng: random.Random, chain_: TestChain):
    who = rng.choice(chain_.keys)
    val, other = rng.sample(chain_.validators, 2)
    amount = coin(rng.randint(1, 3 * 10**6))
    kind = rng.randrange(5)
    if kind == 0:
        return who, staking_tx.MsgDelegate(
            delegator_address=who.bech32, validator_address=val.bech32, amount=amount
        )
    if kind == 1:
        return who, staking_tx.MsgUndelegate(
            delegator_address=who.bech32, validator_address=val.bech32, amount=amount
        )
    if kind == 2:
        return who, staking_tx.MsgBeginRedelegate(
            delegator_address=who.bech32,
            validator_src_address=val.bech32,
            validator_dst_address=other.bech32,
            amount=amount,
        )
    if kind == 3:
        return who, tx_pb2.MsgWithdrawDelegatorReward(
            delegator_address=who.bech32, validator_address=val.bech32
        )
    return who, send_msg(who, rng.choice(chain_.keys).address, rng.randint(1, 1000))


def _play(chain_: TestChain, seed: int, check: bool) -> tuple[list[bytes], set[str]]:
    """Returns the app hashes and the message types that succeeded at least once."""
    rng = random.Random(seed)
    hashes, succeeded = [], set()
    for _ in range(BLOCKS):
        senders, txs, kinds = set(), [], []
        for _ in range(rng.randint(0, 3)):
            who, msg = _random_msg(rng, chain_)
            if who.name not in senders:  # one tx per account per block (sequences)
                senders.add(who.name)
                txs.append(chain_.tx(who, msg, bump=False))
                kinds.append(type(msg).__name__)
        commit = chain_.last_commit(chain_.height)
        if rng.random() < 0.3:  # a validator absent from the commit
            gone = _consensus(rng.choice(chain_.validators))
            for vote in commit.votes:
                if vote.validator.address == gone:
                    vote.block_id_flag = validator_pb2.BLOCK_ID_FLAG_ABSENT
        evidence = []
        if rng.random() < 0.05:
            target = rng.choice(chain_.validators)
            evidence.append(_double_sign(chain_, target, height=max(chain_.height - 3, 1)))
        response = chain_.block(txs, misbehavior=evidence, last_commit=commit)
        results = response.tx_results[-len(txs) :] if txs else []
        for raw, kind, result in zip(txs, kinds, results, strict=True):
            if result.code == 0 or result.codespace != "sdk":  # ante passed: sequence used
                chain_.sequences[_sender(chain_, raw)] += 1
            if result.code == 0:
                succeeded.add(kind)
        hashes.append(bytes(response.app_hash))
        if check:
            assert_invariants(chain_)
    return hashes, succeeded


def _sender(chain_: TestChain, raw: bytes) -> bytes:
    from chain import crypto
    from cosmos.crypto.secp256k1 import keys_pb2
    from cosmos.tx.v1beta1 import tx_pb2 as cosmos_tx

    auth = cosmos_tx.AuthInfo.FromString(cosmos_tx.TxRaw.FromString(raw).auth_info_bytes)
    pub = keys_pb2.PubKey.FromString(auth.signer_infos[0].public_key.value).key
    return crypto.address_from_secp256k1(pub)


def test_random_operations_keep_invariants_and_are_deterministic(tmp_path):
    first = make_chain(tmp_path / "a", n_validators=3)
    second = make_chain(tmp_path / "b", n_validators=3)
    hashes, succeeded = _play(first, seed=21, check=True)
    assert succeeded == {
        "MsgDelegate",
        "MsgUndelegate",
        "MsgBeginRedelegate",
        "MsgWithdrawDelegatorReward",
        "MsgSend",
    }
    assert _play(second, seed=21, check=False)[0] == hashes
    first.store.close()
    second.store.close()
