"""Issue 12: the route selections of one tx share a search budget (candidates scanned by their
flow checks), so stacking MsgSubmitJob cannot hold the consensus loop past ~100 ms whatever the
gas limit; a tx over it fails with sharding 9 and changes nothing but the fee."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.errors import ChainError
from chain.gas import INFINITE_GAS, GasMeter
from modules.sharding import keeper as sharding_keeper
from modules.sharding.params import MAX_SEARCH_WORK
from tests.modules.jobs import escrow_balance, submit_msg
from tests.modules.serving import keeper, latest_ctx
from tests.modules.sharding.test_capture import BIG_GAS, _chain, _fee


def _work_of_one_selection(node) -> int:
    """Candidates scanned by one r = 3 selection on the capture chain (a fresh meter)."""
    ctx = latest_ctx(node).with_gas(GasMeter(BIG_GAS))
    keeper(node, "sharding").select_job_routes(ctx, "m", 3, b"\x01" * 32)
    return sharding_keeper._tx_search_work[ctx.gas]


def test_the_budget_fits_one_worst_case_selection_and_under_two():
    assert MAX_SEARCH_WORK <= sharding_keeper.MAX_TX_SEARCH_WORK < 2 * (MAX_SEARCH_WORK + 256)


def test_stacked_submit_jobs_over_the_tx_search_budget_are_refused(tmp_path, monkeypatch):
    node = _chain(tmp_path / "budget")
    one = _work_of_one_selection(node)
    assert one > 0
    # Room for two selections of this model, not three (the real budget is ~1,000 of these
    # small ones; lowered here so the test chain needs no 256 announced spans).
    monkeypatch.setattr(sharding_keeper, "MAX_TX_SEARCH_WORK", 2 * one + one // 2)
    submitter = node.keys[9]
    before = node.balance(submitter.address)
    msgs = [submit_msg(submitter, deadline_blocks=50_000) for _ in range(3)]
    (result,) = node.block([node.tx(submitter, *msgs, gas=BIG_GAS, fee=_fee())]).tx_results
    assert (result.codespace, result.code) == ("sharding", 9), result.log
    assert node.balance(submitter.address) == before - _fee()
    assert escrow_balance(node) == 0
    # the same three, two per tx, go through (a fresh budget per tx)
    txs = [
        node.tx(submitter, *msgs[:2], gas=BIG_GAS, fee=_fee()),
        node.tx(submitter, msgs[2], gas=BIG_GAS, fee=_fee()),
    ]
    assert [r.code for r in node.block(txs).tx_results] == [0, 0]


def test_unmetered_contexts_are_not_charged_to_a_tx_budget(tmp_path, monkeypatch):
    node = _chain(tmp_path / "unmetered")
    monkeypatch.setattr(sharding_keeper, "MAX_TX_SEARCH_WORK", 1)
    ctx = latest_ctx(node).with_gas(GasMeter(INFINITE_GAS))  # end-block assignment's meter
    for _ in range(3):
        keeper(node, "sharding").select_job_routes(ctx, "m", 3, b"\x01" * 32)
    with pytest.raises(ChainError) as err:
        metered = latest_ctx(node).with_gas(GasMeter(BIG_GAS))
        keeper(node, "sharding").select_job_routes(metered, "m", 3, b"\x01" * 32)
    assert (err.value.codespace, err.value.code) == ("sharding", 9)
