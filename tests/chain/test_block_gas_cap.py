"""The per-block tx cap is the consensus param block.max_gas over the txs' gas limits
(docs/throughput.md section 1): 100,000,000 / 60,000 = 1,666 bank sends at the benchmark's gas
limit, whatever their count or bytes. Checked here with a gas limit that makes the cap 16 txs
(the same rule, fewer signatures)."""

from __future__ import annotations

from pathlib import Path

from tendermint.abci import types_pb2 as abci
from tests.harness import MAX_BLOCK_GAS, Key, TestChain, send_msg

SEND_GAS = 6_000_000
CAP = MAX_BLOCK_GAS // SEND_GAS  # 16


def test_proposal_holds_max_gas_over_gas_limit_sends(tmp_path: Path) -> None:
    chain = TestChain(tmp_path / "app", n_accounts=1)
    chain.init()
    chain.block()
    key, sink = chain.keys[0], Key("sink").address
    txs = [chain.tx(key, send_msg(key, sink, 1), gas=SEND_GAS, fee=150_000) for _ in range(CAP + 9)]
    height = chain.height + 1  # not an injection height at this chain's params
    prep = chain.app.prepare_proposal(
        abci.RequestPrepareProposal(txs=txs, max_tx_bytes=22_020_096, height=height)
    )
    assert list(prep.txs) == txs[:CAP]  # the bytes allow far more; the gas allows 16
    accept = abci.ResponseProcessProposal.ACCEPT
    reject = abci.ResponseProcessProposal.REJECT
    full = chain.app.process_proposal(abci.RequestProcessProposal(txs=txs[:CAP], height=height))
    over = chain.app.process_proposal(
        abci.RequestProcessProposal(txs=txs[: CAP + 1], height=height)
    )
    assert (full.status, over.status) == (accept, reject)
    chain.store.close()
