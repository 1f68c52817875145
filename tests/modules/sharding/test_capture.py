"""The capture scenario of issue 13 on the module test chain: two Sybil workers with the minimum
stake (1 INFERA each) declaring throughput 2^64 - 1 and the full layer span, against six honest
workers staking 10,000 INFERA each (three disjoint two-hop routes). Route weight is stake x
bounded reputation, so the Sybils' expected share of routes is their stake share (about 3.3e-5;
under the old throughput x stake x reputation rule they held 2 of the 3 routes of every job).
Also: the per-block operator cap, and metered, capped route selection."""

from __future__ import annotations

import itertools
import pathlib
from typing import Any

import chain.pb  # noqa: F401

import pytest

from chain.errors import ChainError
from chain.gas import GasMeter
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import types_pb2 as inference_types
from tests.harness import TestChain, genesis_app_state, init_chain_request
from tests.modules.jobs import AGREEMENT_PARAMS, INFERENCE_PARAMS, submit_msg
from tests.modules.serving import (
    WORKERS_PARAMS,
    hardware,
    keeper,
    latest_ctx,
    register_model_msg,
    register_worker_msg,
    serve_msg,
)

INFERA = 1_000_000  # uinfera
HONEST_STAKE = 10_000 * INFERA
SYBIL_STAKE = 1 * INFERA
HONEST_SPANS = [(0, 4), (4, 8), (0, 4), (4, 8), (0, 4), (4, 8)]
JOBS = 1_020
JOBS_PER_TX = 30
BIG_GAS = 20_000_000
U64_MAX = 2**64 - 1


def _chain(path: pathlib.Path, *, sharding: dict[str, Any] | None = None) -> TestChain:
    """Model "m" (8 layers), honest users 1..6 on HONEST_SPANS, Sybils users 7, 8 on [0, 8)."""
    path.mkdir(parents=True, exist_ok=True)
    chain_ = TestChain(path, n_accounts=12)
    state = genesis_app_state(chain_.keys, chain_.validators)
    state["workers"] = {
        "params": {**WORKERS_PARAMS, "min_stake": str(INFERA), "heartbeat_timeout_blocks": "10000"}
    }
    state["inference"] = {
        "params": {
            **INFERENCE_PARAMS,
            "max_assignments_per_block": 100,
            "max_deadline_blocks": 100_000,
        }
    }
    # Nobody commits in this test: without penalties for absence the weights stay stake x 1.0
    # for the whole run (absence is the agreement module's business, tested there).
    agreement = {"reputation_penalty_absent": "1", "slash_fraction_absent": "0"}
    state["agreement"] = {"params": {**AGREEMENT_PARAMS, **agreement}}
    if sharding:
        state["sharding"] = {"params": {**_sharding_defaults(), **sharding}}
    chain_.app.init_chain(init_chain_request(state))
    chain_.block()
    owner = chain_.keys[0]
    chain_.block(
        [chain_.tx(owner, register_model_msg(owner, price_per_token="1"), gas=BIG_GAS, fee=_fee())]
    )
    txs = []
    for key, (start, end) in zip(chain_.keys[1:7], HONEST_SPANS, strict=True):
        txs.append(_worker_tx(chain_, key, HONEST_STAKE, start, end, throughput=10))
    for key in chain_.keys[7:9]:
        txs.append(_worker_tx(chain_, key, SYBIL_STAKE, 0, 8, throughput=U64_MAX))
    results = chain_.block(txs).tx_results
    assert all(r.code == 0 for r in results), [r.log for r in results]
    return chain_


def _sharding_defaults() -> dict[str, Any]:
    from google.protobuf import json_format

    from modules.sharding.params import default_params

    return json_format.MessageToDict(default_params(), preserving_proto_field_name=True)


def _fee(gas: int = BIG_GAS) -> int:
    return gas * 25 // 1000


def _worker_tx(chain_, key, stake: int, start: int, end: int, *, throughput: int) -> bytes:
    register = register_worker_msg(
        key, stake=stake, hardware=hardware(memory=8 * 100, throughput=throughput)
    )
    return chain_.tx(key, register, serve_msg(key, start, end), gas=BIG_GAS, fee=_fee())


def _submit_jobs(chain_: TestChain, count: int) -> None:
    """``count`` jobs (redundancy 3, deadline far away) from users 9..11, JOBS_PER_TX per tx."""
    submitters = chain_.keys[9:12]
    sent = 0
    while sent < count:
        txs = []
        for submitter in submitters:
            n = min(JOBS_PER_TX, count - sent)
            if n <= 0:
                break
            msgs = [submit_msg(submitter, deadline_blocks=50_000) for _ in range(n)]
            txs.append(chain_.tx(submitter, *msgs, gas=BIG_GAS, fee=_fee()))
            sent += n
        results = chain_.block(txs).tx_results
        assert all(r.code == 0 for r in results), [r.log for r in results]


def _jobs(chain_: TestChain) -> list[inference_types.Job]:
    out, key = [], b""
    while True:
        request = inference_query.QueryJobsRequest()
        request.pagination.key = key
        request.pagination.limit = 1000
        res = chain_.query("/infera.inference.v1.Query/Jobs", request)
        assert res.code == 0, res.log
        page = inference_query.QueryJobsResponse.FromString(res.value)
        out.extend(page.jobs)
        key = page.pagination.next_key
        if not key:
            return out


def _assign_everything(chain_: TestChain) -> list[inference_types.Job]:
    for _ in range(200):
        jobs = _jobs(chain_)
        if all(j.state != inference_types.JOB_STATE_SUBMITTED for j in jobs):
            return jobs
        chain_.block()
    raise AssertionError("jobs still waiting for assignment")


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    chain_ = _chain(tmp_path_factory.mktemp("capture"))
    _submit_jobs(chain_, JOBS)
    jobs = _assign_everything(chain_)
    yield chain_, jobs
    chain_.store.close()


def test_min_stake_sybils_declaring_max_throughput_get_at_most_their_stake_share(captured):
    chain_, jobs = captured
    sybils = {k.bech32 for k in chain_.keys[7:9]}
    assigned = [j for j in jobs if j.routes]  # assigned, then expired: nobody commits here
    assert len(assigned) == len(jobs) == JOBS >= 1_000
    routes = [route for job in assigned for route in job.routes]
    assert len(routes) == 3 * JOBS
    held = sum(1 for route in routes if any(h.worker in sybils for h in route.hops))
    stake_share = 2 * SYBIL_STAKE / (2 * SYBIL_STAKE + 6 * HONEST_STAKE)  # 3.3e-5
    # Expected about 3 x JOBS x stake_share = 0.1 routes; 0.1 % of the routes would be 3.
    assert held <= max(1, 10 * stake_share * len(routes)) and held / len(routes) < 0.001
    assert not any(all(h.worker in sybils for r in j.routes for h in r.hops) for j in assigned)


def test_no_operator_holds_more_than_the_per_block_cap_of_a_models_routes(captured):
    chain_, jobs = captured
    cap = keeper(chain_, "sharding").get_params(latest_ctx(chain_)).max_operator_routes_per_block
    per_block: dict[tuple[int, str], int] = {}
    for job in jobs:
        for route in job.routes:
            for hop in route.hops:
                key = (job.assign_height, hop.worker)
                per_block[key] = per_block.get(key, 0) + 1
    assert max(per_block.values()) == cap  # honest workers sit on every job until the cap
    assert len({j.assign_height for j in jobs}) >= JOBS // cap  # the rest waited, not expired


def test_route_selection_gas_grows_in_proportion_to_the_candidates_examined(tmp_path):
    node = _chain(tmp_path / "gas")
    sharding = keeper(node, "sharding")

    def gas_of_selection() -> int:
        meter = GasMeter(10**12)
        sharding.select_routes(latest_ctx(node).with_gas(meter), "m", 1, b"seed")
        return meter.consumed

    gas = [gas_of_selection()]  # 8 candidates
    for key in node.keys[9:12]:  # one more full-span worker at a time: 9, 10, 11 candidates
        assert (
            node.block([_worker_tx(node, key, INFERA, 0, 8, throughput=1)]).tx_results[0].code == 0
        )
        gas.append(gas_of_selection())
    steps = [b - a for a, b in itertools.pairwise(gas)]
    per_candidate = sharding.get_params(latest_ctx(node)).gas_per_candidate
    # Each extra candidate: one read charge and one scan per max-flow (at least 2), plus the
    # store reads of its span entry and worker record: the same every time (linear cost).
    assert max(steps) - min(steps) <= 2 * per_candidate
    assert min(steps) >= 3 * per_candidate


def test_route_selection_refuses_more_candidates_than_the_cap_before_any_search(tmp_path):
    node = _chain(tmp_path / "cap", sharding={"max_candidates": 8})
    sharding = keeper(node, "sharding")
    fine = GasMeter(10**12)
    sharding.select_routes(latest_ctx(node).with_gas(fine), "m", 3, b"seed")  # 8 spans: fine
    extra = node.keys[9]
    assert node.block([_worker_tx(node, extra, INFERA, 0, 8, throughput=1)]).tx_results[0].code == 0
    ctx = latest_ctx(node)
    meter = GasMeter(10**12)
    with pytest.raises(ChainError) as err:
        sharding.select_routes(ctx.with_gas(meter), "m", 3, b"seed")
    assert (err.value.codespace, err.value.code) == ("sharding", 7)
    assert meter.consumed < fine.consumed  # it stopped at the 9th span, before any search
    # The same bound holds for MsgSubmitJob and the public Routes query.
    submitter = node.keys[10]
    raw = node.tx(submitter, submit_msg(submitter), gas=BIG_GAS, fee=_fee())
    result = node.block([raw]).tx_results[0]
    assert (result.codespace, result.code) == ("sharding", 7)


def test_the_per_block_cap_defers_jobs_rather_than_hand_them_to_uncapped_sybils(tmp_path):
    # r = 2 and two Sybil identities: re-drawing without capped honest operators would give the
    # Sybils every later job of the block. The cap pauses the model's queue instead.
    node = _chain(tmp_path / "cap2", sharding={"max_operator_routes_per_block": 2})
    submitter = node.keys[9]
    msgs = [submit_msg(submitter, redundancy=2, deadline_blocks=50_000) for _ in range(40)]
    result = node.block([node.tx(submitter, *msgs, gas=BIG_GAS, fee=_fee())]).tx_results[0]
    assert result.code == 0, result.log
    jobs = _assign_everything(node)
    sybils = {k.bech32 for k in node.keys[7:9]}
    assert all(j.routes for j in jobs)  # every job got routes, none expired for the cap
    sybil_routes = sum(1 for j in jobs for r in j.routes if r.hops[0].worker in sybils)
    assert sybil_routes <= 1  # expected 80 x 3.3e-5: about 0
    assert not any(all(r.hops[0].worker in sybils for r in j.routes) for j in jobs)
