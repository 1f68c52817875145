"""What a flood of bad attestations costs (issue 17 item 3), on the wired app.

CheckTx runs the ante checks only (chain/runner.py), so a MsgAttest is never verified at
mempool admission: each node verifies it once, in FinalizeBlock, after the ante has taken the
fee (kept when the message fails). MsgAttest charges its verification gas before it reads
anything, so a gas limit too low for it stops before the verifier; a fee below the consensus
minimum gas price is refused before anything runs; a signer without a worker never reaches the
verifier. The verifier is wrapped to count its calls."""

from __future__ import annotations

from collections.abc import Callable

import chain.pb  # noqa: F401

import pytest

from infera.tee.v1 import tx_pb2 as tee_tx
from infera.tee.v1 import types_pb2 as T
from modules.tee.verifiers.registry import VERIFIERS
from tests.harness import Key
from tests.modules.jobs import make_job_chain
from tests.modules.serving import FEE, GAS
from tests.modules.tee.fixtures import vector

MIN_GAS_PRICE_MILLI = 25  # the presets' min_gas_price 0.025, per 1000 gas


@pytest.fixture
def node(tmp_path):
    chain_ = make_job_chain(tmp_path / "node")  # default tee params: TDX at 700,000 gas
    yield chain_
    chain_.store.close()


@pytest.fixture
def calls(monkeypatch) -> list[int]:
    """Count the TDX verifier's calls (the registry is the dict msg_server reads)."""
    seen: list[int] = []
    original: Callable = VERIFIERS[T.TEE_TYPE_INTEL_TDX]

    def counting(evidence, roots, now_s):  # type: ignore[no-untyped-def]
        seen.append(now_s)
        return original(evidence, roots, now_s)

    monkeypatch.setitem(VERIFIERS, T.TEE_TYPE_INTEL_TDX, counting)
    return seen


def bad_attestation(key: Key) -> tee_tx.MsgAttest:
    """The genuine TDX sample with a flipped quote byte: the vendor check refuses it."""
    evidence = vector("tdx")
    report = bytearray(evidence["report"])
    report[100] ^= 1
    return tee_tx.MsgAttest(
        operator=key.bech32,
        tee_type=T.TEE_TYPE_INTEL_TDX,
        report=bytes(report),
        collateral=evidence["collateral"],
        epoch=0,
    )


def test_checktx_admits_a_bad_attestation_without_verifying_it(node, calls):
    worker = node.keys[1]
    raw = node.tx(worker, bad_attestation(worker), gas=GAS, fee=FEE)
    assert node.check(raw).code == 0  # ante only: signature, sequence, fee
    assert calls == []


def test_a_bad_attestation_in_a_block_is_verified_once_and_pays_its_fee(node, calls):
    worker = node.keys[1]
    before = node.balance(worker.address)
    raw = node.tx(worker, bad_attestation(worker), gas=GAS, fee=FEE)
    result = node.block([raw]).tx_results[0]
    # the vendor check refuses it: at the harness's block times the sample's collateral is not
    # valid yet (8); at the collateral's own time the flipped byte would be (4). It ran once.
    assert (result.codespace, result.code) == ("tee", 8), result.log
    assert len(calls) == 1
    assert before - node.balance(worker.address) == FEE  # kept although the message failed
    assert FEE == GAS * MIN_GAS_PRICE_MILLI // 1000


def test_a_gas_limit_below_the_verification_price_stops_before_the_verifier(node, calls):
    worker = node.keys[1]
    gas = 800_000  # tx bytes + signature + 700,000 + 10 per evidence byte is more than this
    fee = gas * MIN_GAS_PRICE_MILLI // 1000
    before = node.balance(worker.address)
    result = node.block([node.tx(worker, bad_attestation(worker), gas=gas, fee=fee)]).tx_results[0]
    assert (result.codespace, result.code) == ("sdk", 11), result.log  # out of gas
    assert calls == []
    assert before - node.balance(worker.address) == fee


def test_a_fee_below_the_minimum_gas_price_is_refused_before_anything_runs(node, calls):
    worker = node.keys[1]
    raw = node.tx(worker, bad_attestation(worker), gas=GAS, fee=FEE - 1, bump=False)
    checked = node.check(raw)
    assert (checked.codespace, checked.code) == ("sdk", 13)
    before = node.balance(worker.address)
    included = node.block([raw]).tx_results[0]  # a proposer that includes it anyway
    assert (included.codespace, included.code) == ("sdk", 13)
    assert calls == []
    assert node.balance(worker.address) == before  # the minimum gas price is consensus


def test_a_signer_without_a_worker_never_reaches_the_verifier(node, calls):
    outsider = node.keys[8]
    before = node.balance(outsider.address)
    raw = node.tx(outsider, bad_attestation(outsider), gas=GAS, fee=FEE)
    result = node.block([raw]).tx_results[0]
    assert (result.codespace, result.code) == ("tee", 16), result.log
    assert calls == []
    assert before - node.balance(outsider.address) == FEE
