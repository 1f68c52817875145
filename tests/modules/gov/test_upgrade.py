"""Software upgrades: a passed plan stops a binary without the handler at the plan's height (the
block is refused, nothing of it kept, again after a restart); a binary with the handler runs it
exactly once in that block and the chain goes on; a binary that has it too early stops."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.upgrades import PLUGIN_ENV, UpgradeNeeded
from infera.gov.v1 import query_pb2, tx_pb2, types_pb2
from modules.gov.logic import YES
from tests.harness import Key
from tests.modules.gov import upgrade_plugin
from tests.modules.gov.helpers import (
    GOV,
    VOTING_S,
    advance_to,
    gov_chain,
    keeper,
    query_ctx,
    run,
    submit_msg,
    vote_msg,
)

VAL = [Key("val0"), Key("val1"), Key("val2")]
USER = Key("user0")
PLUGIN = "tests.modules.gov.upgrade_plugin"


def _schedule(chain, name: str = upgrade_plugin.NAME, margin: int = 5) -> int:
    """Pass a MsgSoftwareUpgrade; returns the plan's height (``margin - 2`` blocks after the
    vote ends)."""
    height = chain.height + VOTING_S + margin
    upgrade = tx_pb2.MsgSoftwareUpgrade(
        authority=GOV, plan=types_pb2.Plan(name=name, height=height, info="get v2")
    )
    assert run(chain, USER, submit_msg(USER, upgrade)).code == 0
    start = chain.height
    txs = [chain.tx(v, vote_msg(v, 1, YES)) for v in VAL]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    advance_to(chain, start + VOTING_S)
    plan = keeper(chain, "gov").get_plan(query_ctx(chain))
    assert plan is not None and plan.height == height
    return height


def _refused_block(chain) -> str:
    with pytest.raises(UpgradeNeeded) as caught:
        chain.block()
    chain.height -= 1  # the block was not committed
    return str(caught.value)


def _runs(chain) -> int:
    return int(chain.store.latest().get(upgrade_plugin.RUNS_KEY) or b"0")


def test_a_binary_without_the_handler_stops_at_the_plan_height(tmp_path, monkeypatch):
    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    chain = gov_chain(tmp_path)
    height = _schedule(chain)
    advance_to(chain, height - 1)
    message = _refused_block(chain)
    assert message == f'UPGRADE "{upgrade_plugin.NAME}" NEEDED at height: {height}: get v2'
    assert chain.store.last_height == height - 1  # nothing of block H was committed
    chain.reopen()  # restarting the old binary does not help
    assert "NEEDED" in _refused_block(chain)


def test_the_new_binary_runs_the_migration_once_and_the_chain_resumes(tmp_path, monkeypatch):
    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    chain = gov_chain(tmp_path)
    height = _schedule(chain)
    advance_to(chain, height - 1)
    _refused_block(chain)
    monkeypatch.setenv(PLUGIN_ENV, PLUGIN)
    chain.reopen()  # the new binary
    response = chain.block()
    assert chain.store.last_height == height
    assert any(e.type == "apply_upgrade" for e in response.events)
    assert _runs(chain) == 1
    assert chain.store.latest().get(upgrade_plugin.HEIGHT_KEY) == str(height).encode()
    applied = query_pb2.QueryAppliedPlanRequest(name=upgrade_plugin.NAME)
    res = chain.query("/infera.gov.v1.Query/AppliedPlan", applied)
    assert query_pb2.QueryAppliedPlanResponse.FromString(res.value).height == height
    assert keeper(chain, "gov").get_plan(query_ctx(chain)) is None
    for _ in range(3):
        chain.block()
    chain.reopen()
    chain.block()
    assert _runs(chain) == 1  # exactly once, also across a restart


def test_a_binary_with_the_handler_before_the_height_stops(tmp_path, monkeypatch):
    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    chain = gov_chain(tmp_path)
    height = _schedule(chain)
    assert chain.height < height - 1
    monkeypatch.setenv(PLUGIN_ENV, PLUGIN)
    chain.reopen()
    assert "BINARY UPDATED BEFORE TRIGGER" in _refused_block(chain)
    assert _runs(chain) == 0


def test_a_done_upgrade_cannot_be_scheduled_again(tmp_path, monkeypatch):
    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    chain = gov_chain(tmp_path)
    height = _schedule(chain)
    advance_to(chain, height - 1)
    monkeypatch.setenv(PLUGIN_ENV, PLUGIN)
    chain.reopen()
    chain.block()
    assert _runs(chain) == 1
    plan = types_pb2.Plan(name=upgrade_plugin.NAME, height=chain.height + 50)
    res = run(chain, USER, submit_msg(USER, tx_pb2.MsgSoftwareUpgrade(authority=GOV, plan=plan)))
    assert (res.codespace, res.code) == ("gov", 33)


def test_an_outsider_cannot_schedule_or_cancel_an_upgrade(tmp_path):
    chain = gov_chain(tmp_path)
    plan = types_pb2.Plan(name="v9", height=chain.height + 50)
    res = run(chain, USER, tx_pb2.MsgSoftwareUpgrade(authority=USER.bech32, plan=plan))
    assert (res.codespace, res.code) == ("gov", 12)
    res = run(chain, USER, tx_pb2.MsgCancelUpgrade(authority=USER.bech32))
    assert (res.codespace, res.code) == ("gov", 12)


def test_a_passed_cancel_upgrade_drops_the_plan(tmp_path, monkeypatch):
    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    chain = gov_chain(tmp_path)
    height = _schedule(chain, margin=20)
    cancel = tx_pb2.MsgCancelUpgrade(authority=GOV)
    assert run(chain, USER, submit_msg(USER, cancel)).code == 0
    start = chain.height
    txs = [chain.tx(v, vote_msg(v, 2, YES)) for v in VAL]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    advance_to(chain, start + VOTING_S)
    assert keeper(chain, "gov").get_plan(query_ctx(chain)) is None
    advance_to(chain, height + 1)  # the old binary passes the old plan's height
