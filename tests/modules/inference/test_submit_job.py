"""MsgSubmitJob: escrow, job record, assignment in the same block, and one invalid twin per
failure condition (each leaves nothing behind but the tx fee)."""

from __future__ import annotations

import hashlib
import json

import chain.pb  # noqa: F401

import pytest

from infera.base.v1 import coin_pb2
from infera.inference.v1 import types_pb2
from infera.models.v1 import tx_pb2 as models_tx
from infera.workers.v1 import tx_pb2 as workers_tx
from tests.harness import DENOM, INITIAL_BALANCE
from tests.modules import jobs
from tests.modules.jobs import escrow_balance, job, make_job_chain, ok, run, submit_msg
from tests.modules.serving import FEE

GREEDY = types_pb2.Decoding(mode=types_pb2.DECODING_MODE_GREEDY)


def _fee(amount: int) -> coin_pb2.Coin:
    return coin_pb2.Coin(denom=DENOM, amount=str(amount))


def _rejected(node, submitter, msg, codespace: str, code: int) -> str:
    """The tx fails with (codespace, code), escrows nothing and creates no job."""
    before = node.balance(submitter.address)
    (result,) = run(node, (submitter, msg))
    assert (result.codespace, result.code) == (codespace, code), result.log
    assert node.balance(submitter.address) == before - FEE
    assert escrow_balance(node) == 0
    assert node.query("/infera.inference.v1.Query/Job", _job_req(1)).code != 0
    return result.log


def _job_req(job_id: int):
    from infera.inference.v1 import query_pb2

    return query_pb2.QueryJobRequest(job_id=job_id)


def test_submit_job_escrows_and_assigns_in_the_same_block(node, submitter):
    (result,) = ok(node, (submitter, submit_msg(submitter)))
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE - jobs.MAX_FEE
    assert escrow_balance(node) == jobs.MAX_FEE
    found = job(node, 1)
    assert found.state == types_pb2.JOB_STATE_ASSIGNED
    assert (found.submit_height, found.assign_height, found.deadline_height) == (4, 4, 14)
    assert (found.commit_end_height, found.reveal_end_height) == (7, 10)
    assert (found.prompt_tokens_estimate, found.price_per_token, found.num_layers) == (3, "10", 8)
    block_hash = hashlib.sha256(b"block4").digest()  # the harness's block hashes
    assert found.seed == hashlib.sha256(block_hash + (1).to_bytes(8, "big")).digest()
    assert len(found.routes) == 3
    workers = [h.worker for r in found.routes for h in r.hops]
    assert len(set(workers)) == 6  # no operator twice in one job


def test_submit_job_ids_are_sequential(node, submitter):
    ok(node, (submitter, submit_msg(submitter)), (submitter, submit_msg(submitter, redundancy=1)))
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    assert [job(node, i).redundancy for i in (1, 2, 3)] == [3, 1, 2]


def test_assignment_event_names_every_hop_span_and_next_endpoint(node, submitter):
    response = node.block([node.tx(submitter, submit_msg(submitter), gas=2_000_000, fee=FEE)])
    (event,) = [e for e in response.events if e.type == "infera.job_assigned"]
    attrs = [(a.key, a.value, a.index) for a in event.attributes]
    workers = [v for k, v, indexed in attrs if k == "worker" and indexed]
    hops_ = [json.loads(v) for k, v, _ in attrs if k == "hop"]
    found = job(node, 1)
    assert workers == [h.worker for r in found.routes for h in r.hops]
    assert ("job_id", "1", True) in attrs and ("submitter", submitter.bech32, True) in attrs
    for view in hops_:
        route = found.routes[view["route"]]
        hop = route.hops[view["hop"]]
        assert (view["worker"], view["start"], view["end"]) == (
            hop.worker,
            hop.layer_start,
            hop.layer_end,
        )
        last = view["hop"] == len(route.hops) - 1
        expected_next = "" if last else route.hops[view["hop"] + 1].endpoint
        assert view["next_endpoint"] == expected_next
        assert view["endpoint"].endswith(".workers.example:7000")


def test_sampling_job_keeps_its_decoding(node, submitter):
    decoding = types_pb2.Decoding(
        mode=types_pb2.DECODING_MODE_SAMPLING, temperature_milli=700, top_k=40
    )
    ok(node, (submitter, submit_msg(submitter, decoding=decoding)))
    assert job(node, 1).decoding == decoding


def test_fee_exactly_at_price_is_accepted(node, submitter):
    # ceil(10 x (3 + 10) x 3) = 390
    ok(node, (submitter, submit_msg(submitter, max_fee=_fee(390))))
    assert escrow_balance(node) == 390


def test_submit_job_rejects_fee_below_price(node, submitter):
    log = _rejected(node, submitter, submit_msg(submitter, max_fee=_fee(389)), "inference", 13)
    assert "fee below price" in log and "390" in log


def test_submit_job_rejects_unknown_model(node, submitter):
    _rejected(node, submitter, submit_msg(submitter, model_id="nope"), "inference", 3)


def test_submit_job_rejects_retired_model(node, submitter):
    owner = node.keys[0]
    ok(node, (owner, models_tx.MsgRetireModel(owner=owner.bech32, id="m")))
    _rejected(node, submitter, submit_msg(submitter), "inference", 4)


def test_prompt_at_the_limit_is_accepted(node, submitter):
    ok(node, (submitter, submit_msg(submitter, prompt=b"x" * 64)))


def test_submit_job_rejects_prompt_too_large(node, submitter):
    _rejected(node, submitter, submit_msg(submitter, prompt=b"x" * 65), "inference", 6)


def test_submit_job_rejects_empty_prompt(node, submitter):
    _rejected(node, submitter, submit_msg(submitter, prompt=b""), "inference", 5)


@pytest.mark.parametrize("tokens", [0, 17])
def test_submit_job_rejects_max_new_tokens_out_of_range(node, submitter, tokens):
    _rejected(node, submitter, submit_msg(submitter, max_new_tokens=tokens), "inference", 7)


@pytest.mark.parametrize(
    "decoding",
    [
        types_pb2.Decoding(),  # no mode
        types_pb2.Decoding(mode=types_pb2.DECODING_MODE_GREEDY, temperature_milli=500),
        types_pb2.Decoding(mode=types_pb2.DECODING_MODE_GREEDY, top_k=5),
        types_pb2.Decoding(mode=types_pb2.DECODING_MODE_SAMPLING, temperature_milli=0),
        types_pb2.Decoding(mode=types_pb2.DECODING_MODE_SAMPLING, temperature_milli=2001),
        types_pb2.Decoding(mode=types_pb2.DECODING_MODE_SAMPLING, temperature_milli=900, top_k=51),
    ],
)
def test_submit_job_rejects_invalid_decoding(node, submitter, decoding):
    _rejected(node, submitter, submit_msg(submitter, decoding=decoding), "inference", 8)


def test_submit_job_rejects_redundancy_below_model_minimum(tmp_path):
    node = make_job_chain(tmp_path / "strict", min_redundancy=2)
    submitter = node.keys[7]
    _rejected(node, submitter, submit_msg(submitter, redundancy=1), "inference", 9)
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    node.store.close()


def test_submit_job_rejects_redundancy_above_limit(node, submitter):
    _rejected(node, submitter, submit_msg(submitter, redundancy=4), "inference", 10)


@pytest.mark.parametrize("blocks", [7, 41])
def test_submit_job_rejects_deadline_out_of_range(node, submitter, blocks):
    _rejected(node, submitter, submit_msg(submitter, deadline_blocks=blocks), "inference", 11)


def test_submit_job_rejects_deadline_shorter_than_the_rounds(tmp_path):
    # min_deadline_blocks 2, but commit (3) + reveal (3) rounds need a deadline of 7 or more
    node = make_job_chain(tmp_path / "short", inference={"min_deadline_blocks": 2})
    submitter = node.keys[7]
    log = _rejected(node, submitter, submit_msg(submitter, deadline_blocks=6), "inference", 11)
    assert "7..40" in log
    ok(node, (submitter, submit_msg(submitter, deadline_blocks=7)))
    node.store.close()


def test_submit_job_rejects_wrong_fee_denom(node, submitter):
    fee = coin_pb2.Coin(denom="uother", amount="1000")
    _rejected(node, submitter, submit_msg(submitter, max_fee=fee), "inference", 12)


def test_submit_job_rejects_job_with_too_little_coverage(node, submitter):
    worker = jobs.worker_keys(node)[0]  # serves [0, 4): only two routes remain
    stop = workers_tx.MsgStopServing(operator=worker.bech32, model_id="m", start=0, end=4)
    ok(node, (worker, stop))
    _rejected(node, submitter, submit_msg(submitter, redundancy=3), "sharding", 5)
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))


def test_submit_job_rejects_fee_above_balance(node, submitter):
    too_much = _fee(INITIAL_BALANCE)
    _rejected(node, submitter, submit_msg(submitter, max_fee=too_much), "sdk", 5)


def test_submit_job_rejects_malformed_submitter(node, submitter):
    msg = submit_msg(submitter)
    msg.submitter = "infera1notanaddress"
    raw = node.tx(submitter, msg, bump=False, gas=2_000_000, fee=FEE)
    (result,) = node.block([raw]).tx_results
    assert (result.codespace, result.code) == ("sdk", 7)
