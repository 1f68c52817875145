"""workers: registration bonds stake, spans must fit the model and the memory, heartbeats keep a
worker routable, unbonding pays back only after the period and stays slashable."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from infera.base.v1 import coin_pb2, pagination_pb2
from infera.models.v1 import tx_pb2 as models_tx
from infera.workers.v1 import query_pb2, tx_pb2
from modules.workers import invariants, logic
from tests.harness import Key
from tests.modules.serving import (
    FEE,
    HEARTBEAT_TIMEOUT,
    MIN_STAKE,
    STAKE,
    UNBONDING_BLOCKS,
    apply_in_block,
    execute,
    fails,
    hardware,
    keeper,
    latest_ctx,
    make_chain,
    ok,
    pool_balance,
    query,
    query_error,
    register_model_msg,
    register_worker_msg,
    runtime,
    serve_msg,
    stop_msg,
)

SVC = "/infera.workers.v1.Query/"


def stats(node, key: Key) -> query_pb2.QueryWorkerStatsResponse:
    request = query_pb2.QueryWorkerStatsRequest(operator=key.bech32)
    return query(node, SVC + "WorkerStats", request, query_pb2.QueryWorkerStatsResponse)


def worker(node, key: Key):
    request = query_pb2.QueryWorkerRequest(operator=key.bech32)
    return query(node, SVC + "Worker", request, query_pb2.QueryWorkerResponse).worker


def registered(node, *, memory: int = 800, model: bool = True) -> Key:
    """user1 registered as a worker; model "m" (8 layers of 100 bytes) registered by user0."""
    if model:
        ok(node, node.keys[0], register_model_msg(node.keys[0]))
    key = node.keys[1]
    ok(node, key, register_worker_msg(key, hardware=hardware(memory=memory)))
    return key


def check_invariants(node) -> None:
    assert invariants.check_invariants(latest_ctx(node), keeper(node, "workers")) == []


# -- registration ------------------------------------------------------------------------------


def test_register_worker_bonds_stake_and_starts_active_with_neutral_reputation(node):
    key = node.keys[1]
    before, supply = node.balance(key.address), node.supply()
    result = ok(node, key, register_worker_msg(key))
    assert node.balance(key.address) == before - STAKE - FEE
    assert pool_balance(node, "workers_bonded") == STAKE
    assert node.supply() == supply
    record = worker(node, key)
    assert (record.operator, record.bonded, record.unbonding, record.status) == (
        key.bech32,
        str(STAKE),
        "0",
        logic.BONDED,
    )
    assert record.registered_height == record.last_heartbeat_height == node.height
    summary = stats(node, key)
    assert summary.active and summary.reputation == 1_000_000 and summary.stake == str(STAKE)
    assert any(e.type == "register_worker" for e in result.events)
    check_invariants(node)


@pytest.mark.parametrize(
    "endpoint",
    [
        "nohost",
        "host:0",
        "host:65536",
        "host:080",
        "http://host:80",
        "host:80/path",
        "[::1:80",
        "::1:80",
        "999.1.1.1:80",
        "1.2.3:80",
        "a..b:80",
        "-a.example:80",
        "Upper.example:80",
        "host name:80",
        ":80",
        "h" * 300 + ":80",
    ],
)
def test_register_worker_rejects_bad_endpoints(node, endpoint):
    key = node.keys[1]
    fails(node, key, register_worker_msg(key, endpoint=endpoint), "workers", 4)
    assert query_error(node, SVC + "Worker", query_pb2.QueryWorkerRequest(operator=key.bech32)) == (
        "workers",
        3,
    )


@pytest.mark.parametrize(
    "endpoint",
    ["127.0.0.1:26658", "[::1]:9000", "worker-1.example.org:443", "localhost:1", "a:65535"],
)
def test_endpoint_forms_that_are_accepted(endpoint):
    assert logic.is_valid_endpoint(endpoint)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"hardware": hardware(device="tpu")}, 5),
        ({"hardware": hardware(memory=0)}, 5),
        ({"hardware": hardware(throughput=0)}, 5),
        ({"hardware": None}, 5),
        ({"runtime": runtime(dtype="int8")}, 6),
        ({"runtime": tx_pb2.MsgRegisterWorker().runtime}, 6),
        ({"encryption_pubkey": b"\x01" * 31}, 7),
        ({"denom": "uother"}, 8),
        ({"stake": MIN_STAKE - 1}, 9),
    ],
)
def test_register_worker_rejects_invalid_declarations(node, fields, code):
    key = node.keys[1]
    msg = register_worker_msg(key, **{k: v for k, v in fields.items() if v is not None})
    if fields.get("hardware", 1) is None:
        msg.ClearField("hardware")
    fails(node, key, msg, "workers", code)
    assert pool_balance(node, "workers_bonded") == 0


def test_register_worker_without_stake_is_invalid_coins(node):
    key = node.keys[1]
    msg = register_worker_msg(key)
    msg.ClearField("stake")
    fails(node, key, msg, "sdk", 10)


def test_register_worker_with_stake_above_balance_is_insufficient_funds(node):
    key = node.keys[1]
    fails(node, key, register_worker_msg(key, stake=10**13), "sdk", 5)


def test_register_worker_twice_is_rejected(node):
    key = registered(node, model=False)
    fails(node, key, register_worker_msg(key), "workers", 2)
    assert pool_balance(node, "workers_bonded") == STAKE


def test_stake_pools_refuse_plain_sends(node):
    key = node.keys[1]
    send = node.tx(
        key, _send(key, crypto.module_address("workers_unbonding")), fee=FEE, gas=2_000_000
    )
    assert node.block([send]).tx_results[0].codespace == "bank"


def _send(key: Key, to: bytes):
    from tests.harness import send_msg

    return send_msg(key, to, 5)


# -- updates -----------------------------------------------------------------------------------


def test_update_worker_changes_declarations_and_adds_stake(node):
    key = registered(node)
    msg = tx_pb2.MsgUpdateWorker(
        operator=key.bech32,
        endpoint="10.0.0.7:7001",
        hardware=hardware(memory=1600, throughput=55, device="cuda"),
        add_stake=coin_pb2.Coin(denom="uinfera", amount="500"),
    )
    result = ok(node, key, msg)
    record = worker(node, key)
    assert record.endpoint == "10.0.0.7:7001" and record.hardware.throughput == 55
    assert record.bonded == str(STAKE + 500) and pool_balance(node, "workers_bonded") == STAKE + 500
    event = next(e for e in result.events if e.type == "update_worker")
    assert ("fields", "endpoint,hardware,add_stake") in {(a.key, a.value) for a in event.attributes}


def test_update_worker_rejects_memory_below_the_served_spans(node):
    key = registered(node)
    ok(node, key, serve_msg(key, 0, 6))
    msg = tx_pb2.MsgUpdateWorker(operator=key.bech32, hardware=hardware(memory=599))
    assert "spans need 600 bytes, 599 declared" in fails(node, key, msg, "workers", 15)
    ok(node, key, tx_pb2.MsgUpdateWorker(operator=key.bech32, hardware=hardware(memory=600)))


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, 18),
        ({"endpoint": "bad"}, 4),
        ({"encryption_pubkey": b"\x00" * 33}, 7),
        ({"runtime": runtime(dtype="fp8")}, 6),
        ({"add_stake": coin_pb2.Coin(denom="uother", amount="5")}, 8),
    ],
)
def test_update_worker_rejects(node, fields, code):
    key = registered(node, model=False)
    fails(node, key, tx_pb2.MsgUpdateWorker(operator=key.bech32, **fields), "workers", code)


def test_update_of_an_unknown_worker_is_rejected(node):
    key = node.keys[2]
    msg = tx_pb2.MsgUpdateWorker(operator=key.bech32, endpoint="a.b:1")
    fails(node, key, msg, "workers", 3)


# -- spans -------------------------------------------------------------------------------------


def test_serve_span_records_the_span_and_indexes_it(node):
    key = registered(node)
    result = ok(node, key, serve_msg(key, 2, 5))
    assert [(s.model_id, s.start, s.end) for s in worker(node, key).spans] == [("m", 2, 5)]
    assert stats(node, key).used_memory_bytes == 300
    spans = list(keeper(node, "workers").iterate_model_spans(latest_ctx(node), "m"))
    assert spans == [(key.address, 2, 5)]
    event = next(e for e in result.events if e.type == "serve_span")
    assert {(a.key, a.index) for a in event.attributes} >= {("worker", True), ("model_id", True)}
    check_invariants(node)


def test_serve_span_allows_disjoint_spans_and_other_models(node):
    key = registered(node, memory=1000)
    ok(node, node.keys[0], register_model_msg(node.keys[0], model_id="other", num_layers=2))
    ok(node, key, serve_msg(key, 0, 2), serve_msg(key, 4, 6), serve_msg(key, 0, 2, "other"))
    spans = [(s.model_id, s.start, s.end) for s in worker(node, key).spans]
    assert spans == [("m", 0, 2), ("m", 4, 6), ("other", 0, 2)]
    assert stats(node, key).used_memory_bytes == 600


def test_serve_span_rejects_an_unknown_model(node):
    key = registered(node)
    fails(node, key, serve_msg(key, 0, 2, model_id="ghost"), "workers", 11)


def test_serve_span_rejects_a_retired_model(node):
    key = registered(node)
    owner = node.keys[0]
    ok(node, owner, models_tx.MsgRetireModel(owner=owner.bech32, id="m"))
    fails(node, key, serve_msg(key, 0, 2), "workers", 12)


@pytest.mark.parametrize(("start", "end"), [(0, 9), (7, 9), (8, 9), (3, 3), (5, 2)])
def test_serve_span_rejects_spans_past_the_last_layer_or_empty(node, start, end):
    key = registered(node, memory=10_000)
    fails(node, key, serve_msg(key, start, end), "workers", 13)


@pytest.mark.parametrize(("start", "end"), [(2, 4), (0, 3), (3, 5), (1, 7), (2, 3)])
def test_serve_span_rejects_overlap_with_an_own_span_of_the_same_model(node, start, end):
    key = registered(node)
    ok(node, key, serve_msg(key, 2, 4))
    fails(node, key, serve_msg(key, start, end), "workers", 14)


def test_serve_span_rejects_spans_over_memory(node):
    key = registered(node, memory=450)
    ok(node, key, serve_msg(key, 0, 2))
    log = fails(node, key, serve_msg(key, 2, 5), "workers", 15)
    assert "spans need 500 bytes, 450 declared" in log
    ok(node, key, serve_msg(key, 2, 4))


def test_serve_span_rejects_more_than_max_spans(node):
    key = registered(node)
    ok(node, key, *(serve_msg(key, i, i + 1) for i in range(4)))
    fails(node, key, serve_msg(key, 6, 7), "workers", 16)


def test_serve_span_by_an_unregistered_operator_is_rejected(node):
    ok(node, node.keys[0], register_model_msg(node.keys[0]))
    fails(node, node.keys[3], serve_msg(node.keys[3], 0, 1), "workers", 3)


def test_stop_serving_removes_exactly_that_span(node):
    key = registered(node)
    ok(node, key, serve_msg(key, 0, 2), serve_msg(key, 2, 4))
    fails(node, key, stop_msg(key, 0, 3), "workers", 17)
    fails(node, key, stop_msg(key, 0, 2, model_id="ghost"), "workers", 17)
    ok(node, key, stop_msg(key, 0, 2))
    assert [(s.start, s.end) for s in worker(node, key).spans] == [(2, 4)]
    assert list(keeper(node, "workers").iterate_model_spans(latest_ctx(node), "m")) == [
        (key.address, 2, 4)
    ]
    fails(node, node.keys[4], stop_msg(node.keys[4], 0, 2), "workers", 3)


def test_stop_serving_works_for_a_retired_model(node):
    key = registered(node)
    ok(node, key, serve_msg(key, 0, 2))
    ok(node, node.keys[0], models_tx.MsgRetireModel(owner=node.keys[0].bech32, id="m"))
    ok(node, key, stop_msg(key, 0, 2))
    assert stats(node, key).used_memory_bytes == 0


# -- heartbeats --------------------------------------------------------------------------------


def test_heartbeat_timeout_makes_a_worker_inactive_and_a_heartbeat_reactivates_it(node):
    key = registered(node)
    last = worker(node, key).last_heartbeat_height
    workers = keeper(node, "workers")
    while node.height < last + HEARTBEAT_TIMEOUT:
        node.block()
    assert stats(node, key).active  # silent for timeout - 1 whole blocks: still live
    assert workers.is_active(latest_ctx(node), key.address) is False  # the next block: inactive
    node.block()
    assert not stats(node, key).active
    result = ok(node, key, tx_pb2.MsgHeartbeat(operator=key.bech32))
    assert stats(node, key).active and worker(node, key).last_heartbeat_height == node.height
    assert any(e.type == "worker_heartbeat" for e in result.events)


def test_heartbeat_from_an_unknown_worker_is_rejected(node):
    fails(node, node.keys[2], tx_pb2.MsgHeartbeat(operator=node.keys[2].bech32), "workers", 3)


def test_worker_slashed_below_min_stake_is_inactive_until_topped_up(node):
    key = registered(node)
    workers = keeper(node, "workers")
    apply_in_block(node, lambda ctx: workers.slash(ctx, key.address, "0.95", "test"))
    assert worker(node, key).bonded == str(STAKE - STAKE * 95 // 100)
    assert not stats(node, key).active
    top_up = coin_pb2.Coin(denom="uinfera", amount=str(MIN_STAKE))
    ok(node, key, tx_pb2.MsgUpdateWorker(operator=key.bech32, add_stake=top_up))
    assert stats(node, key).active
    check_invariants(node)


# -- unbonding ---------------------------------------------------------------------------------


def test_unbonding_pays_back_only_after_the_period(node):
    key = registered(node)
    ok(node, key, serve_msg(key, 0, 4))
    balance = node.balance(key.address)
    result = execute(node, key, tx_pb2.MsgUnbondWorker(operator=key.bech32))
    assert result.code == 0, result.log
    completion = node.height + UNBONDING_BLOCKS
    response = tx_pb2.MsgUnbondWorkerResponse()
    _unpack_first(result.data, response)
    assert response.completion_height == completion
    record = worker(node, key)
    assert (record.status, record.bonded, record.unbonding, list(record.spans)) == (
        logic.UNBONDING,
        "0",
        str(STAKE),
        [],
    )
    assert pool_balance(node, "workers_bonded") == 0
    assert pool_balance(node, "workers_unbonding") == STAKE
    assert not stats(node, key).active
    assert list(keeper(node, "workers").iterate_model_spans(latest_ctx(node), "m")) == []
    check_invariants(node)
    while node.height < completion - 1:
        node.block()
        assert node.balance(key.address) == balance - FEE
    final = node.block()
    assert node.height == completion
    assert node.balance(key.address) == balance - FEE + STAKE
    assert pool_balance(node, "workers_unbonding") == 0
    assert any(e.type == "worker_unbonded" for e in final.events)
    assert query_error(node, SVC + "Worker", query_pb2.QueryWorkerRequest(operator=key.bech32)) == (
        "workers",
        3,
    )
    ok(node, key, register_worker_msg(key))  # the operator may register again


def test_unbonding_worker_cannot_serve_heartbeat_update_or_unbond_again(tmp_path):
    node = make_chain(tmp_path / "slow", workers_params={"unbonding_blocks": "100"})
    key = registered(node)
    ok(node, key, tx_pb2.MsgUnbondWorker(operator=key.bech32))
    fails(node, key, serve_msg(key, 0, 1), "workers", 10)
    fails(node, key, tx_pb2.MsgHeartbeat(operator=key.bech32), "workers", 10)
    fails(node, key, tx_pb2.MsgUpdateWorker(operator=key.bech32, endpoint="a.b:1"), "workers", 10)
    fails(node, key, tx_pb2.MsgUnbondWorker(operator=key.bech32), "workers", 10)
    fails(node, key, register_worker_msg(key), "workers", 2)
    fails(node, node.keys[5], tx_pb2.MsgUnbondWorker(operator=node.keys[5].bech32), "workers", 3)
    node.store.close()


def test_unbonding_stake_is_still_slashable_and_the_slash_is_burned(node):
    key = registered(node)
    ok(node, key, tx_pb2.MsgUnbondWorker(operator=key.bech32))
    supply, balance = node.supply(), node.balance(key.address)
    workers = keeper(node, "workers")
    ctx = latest_ctx(node)
    assert workers.get_stake(ctx, key.address) == STAKE
    burned = workers.slash(ctx, key.address, "0.1", "double_reveal")
    assert burned == STAKE // 10
    record = workers.get_worker(ctx, key.address)
    assert (record.unbonding, record.slashed) == (str(STAKE - burned), str(burned))
    assert workers.get_burned(ctx) == burned
    assert invariants.check_invariants(ctx, workers) == []
    event = next(e for e in ctx.events.events if e.type == "slash_worker")
    assert ("reason", "double_reveal") in {(a.key, a.value) for a in event.attributes}
    # Apply the slash to the chain state through a block, then let the unbonding mature.
    apply_in_block(node, lambda c: workers.slash(c, key.address, "0.1", "double_reveal"))
    assert node.supply() == supply - burned
    while node.balance(key.address) == balance:
        node.block()
    assert node.balance(key.address) == balance + STAKE - burned
    assert pool_balance(node, "workers_unbonding") == 0


def test_slash_takes_bonded_stake_first_then_unbonding():
    assert logic.compute_slash_split(100, 50, "0.5") == (75, 0)
    assert logic.compute_slash_split(10, 50, "0.5") == (10, 20)
    assert logic.compute_slash_split(0, 50, "1") == (0, 50)
    assert logic.compute_slash_split(7, 0, "0.333") == (2, 0)  # floor
    with pytest.raises(ValueError):
        logic.compute_slash_split(7, 0, "1.5")


def test_slash_of_an_unknown_operator_burns_nothing(node):
    assert keeper(node, "workers").slash(latest_ctx(node), b"\x09" * 20, "0.5", "x") == 0


def test_matured_unbondings_are_paid_at_most_max_per_block(node):
    keys_ = node.keys[1:4]
    node.block([node.tx(k, register_worker_msg(k), fee=FEE, gas=2_000_000) for k in keys_])
    node.block(
        [
            node.tx(k, tx_pb2.MsgUnbondWorker(operator=k.bech32), fee=FEE, gas=2_000_000)
            for k in keys_
        ]
    )
    completion = node.height + UNBONDING_BLOCKS
    while node.height < completion:
        node.block()
    assert pool_balance(node, "workers_unbonding") == STAKE  # two of three paid (limit 2)
    node.block()
    assert pool_balance(node, "workers_unbonding") == 0


# -- reputation --------------------------------------------------------------------------------


def test_reputation_adjusts_with_clamping_and_outlives_re_registration(node):
    key = registered(node, model=False)
    workers = keeper(node, "workers")
    ctx = latest_ctx(node)
    assert workers.adjust_reputation(ctx, key.address, 1, 2) == 500_000
    assert workers.adjust_reputation(ctx, key.address, 1, 100) == 100_000  # floor 0.1
    assert workers.adjust_reputation(ctx, key.address, 1000, 1) == 10_000_000  # ceiling 10
    assert workers.get_reputation(ctx, key.address) == 10_000_000
    with pytest.raises(Exception, match="worker not found"):
        workers.adjust_reputation(ctx, b"\x07" * 20, 2, 1)
    with pytest.raises(ValueError):
        workers.adjust_reputation(ctx, key.address, 1, 0)
    apply_in_block(node, lambda c: workers.adjust_reputation(c, key.address, 1, 4))
    ok(node, key, tx_pb2.MsgUnbondWorker(operator=key.bech32))
    for _ in range(UNBONDING_BLOCKS):
        node.block()
    ok(node, key, register_worker_msg(key))
    assert stats(node, key).reputation == 250_000


# -- queries and genesis -----------------------------------------------------------------------


def test_workers_are_listed_page_by_page_in_address_order(node):
    keys_ = node.keys[1:4]
    node.block([node.tx(k, register_worker_msg(k), fee=FEE, gas=2_000_000) for k in keys_])
    expected = sorted(k.address for k in keys_)
    request = query_pb2.QueryWorkersRequest(pagination=pagination_pb2.PageRequest(limit=2))
    first = query(node, SVC + "Workers", request, query_pb2.QueryWorkersResponse)
    assert [crypto.from_bech32(w.operator) for w in first.workers] == expected[:2]
    assert first.pagination.next_key == expected[2]
    request.pagination.key = first.pagination.next_key
    second = query(node, SVC + "Workers", request, query_pb2.QueryWorkersResponse)
    assert [crypto.from_bech32(w.operator) for w in second.workers] == expected[2:]
    assert second.pagination.next_key == b""


def test_genesis_export_reloads_into_an_identical_module_state(node, tmp_path):
    from tests.harness import TestChain, init_chain_request

    key = registered(node)
    ok(node, key, serve_msg(key, 0, 3))
    ok(node, node.keys[2], register_worker_msg(node.keys[2]))
    ok(node, node.keys[2], tx_pb2.MsgUnbondWorker(operator=node.keys[2].bech32))
    ctx = latest_ctx(node)
    state = {m.name: m.export_genesis(ctx) for m in node.app.modules}
    (tmp_path / "copy").mkdir()
    copy = TestChain(tmp_path / "copy")
    copy.app.init_chain(init_chain_request(state))
    copy.block()
    copy_ctx = latest_ctx(copy)
    for name in ("models", "workers", "sharding"):
        module = next(m for m in copy.app.modules if m.name == name)
        assert module.export_genesis(copy_ctx) == state[name]
    assert invariants.check_invariants(copy_ctx, keeper(copy, "workers")) == []
    copy.store.close()


def test_genesis_rejects_unfunded_worker_stake(tmp_path):
    from tests.harness import TestChain, genesis_app_state, init_chain_request

    (tmp_path / "g").mkdir()
    chain_ = TestChain(tmp_path / "g")
    state = genesis_app_state(chain_.keys, chain_.validators)
    state["workers"] = {
        "workers": [
            {
                "operator": chain_.keys[0].bech32,
                "endpoint": "a.b:1",
                "hardware": {"device": "cpu", "memory_bytes": "1", "throughput": "1"},
                "runtime": {"torch_version": "1", "transformers_version": "1", "dtype": "float32"},
                "encryption_pubkey": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "status": "WORKER_STATUS_BONDED",
                "bonded": "5",
            }
        ]
    }
    with pytest.raises(ValueError, match="workers_bonded holds 0uinfera, workers account for 5"):
        chain_.app.init_chain(init_chain_request(state))
    chain_.store.close()


# -- helpers -----------------------------------------------------------------------------------


def _unpack_first(data: bytes, response) -> None:
    from cosmos.base.abci.v1beta1 import abci_pb2

    msg_data = abci_pb2.TxMsgData.FromString(data)
    msg_data.msg_responses[0].Unpack(response)
