"""Two app instances fed the same blocks reach the same app hashes, and route selection depends
on chain data only: the job's seed is sha256(assigning block hash || job id) and re-running the
selection with that seed on the same state gives the same routes."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

from chain import crypto
from infera.agreement.v1 import types_pb2 as R
from tendermint.abci import types_pb2 as abci
from tests.harness import finalize_request
from tests.modules.jobs import all_hops, commit_msg, job, make_job_chain, reveal_msg, submit_msg
from tests.modules.serving import FEE, GAS, keeper, latest_ctx


def _feed(node, txs: list[bytes]) -> bytes:
    """Finalize and commit one block of ``txs``; returns its app hash."""
    node.height += 1
    response = node.app.finalize_block(finalize_request(node.height, txs))
    node.app.commit(abci.RequestCommit())
    return response.app_hash


def test_two_apps_fed_the_same_blocks_agree_on_every_app_hash(tmp_path):
    a, b = make_job_chain(tmp_path / "a"), make_job_chain(tmp_path / "b")
    alice, bob = a.keys[7], a.keys[8]

    def signed(signer, msg) -> bytes:  # signed once, fed to both apps byte for byte
        return a.tx(signer, msg, gas=GAS, fee=FEE)

    blocks = [[signed(alice, submit_msg(alice)), signed(bob, submit_msg(bob, redundancy=2))]]
    assert a.store.last_app_hash == b.store.last_app_hash
    assert _feed(a, blocks[0]) == _feed(b, blocks[0])
    honest, half = all_hops(a, 1), all_hops(a, 2)[:2]
    blocks = [
        [signed(w, commit_msg(w, 1)) for w in honest] + [signed(w, commit_msg(w, 2)) for w in half],
        [signed(w, reveal_msg(w, 1)) for w in honest],
    ] + [[]] * 12  # through job 2's rounds and both deadlines
    for txs in blocks:
        assert _feed(a, txs) == _feed(b, txs)
    for job_id in (1, 2):
        assert job(a, job_id) == job(b, job_id)
    a.store.close()
    b.store.close()


def test_routes_are_a_function_of_the_state_and_the_seed(tmp_path):
    node = make_job_chain(tmp_path / "n")
    alice = node.keys[7]
    _feed(node, [node.tx(alice, submit_msg(alice), gas=GAS, fee=FEE)])
    assigned = job(node, 1)
    block_hash = hashlib.sha256(b"block%d" % assigned.assign_height).digest()
    assert assigned.seed == hashlib.sha256(block_hash + (1).to_bytes(8, "big")).digest()
    again = keeper(node, "sharding").select_routes(latest_ctx(node), "m", 3, assigned.seed)
    assert [[(h.operator, h.start, h.end) for h in route] for route in again] == [
        [(crypto.from_bech32(h.worker), h.layer_start, h.layer_end) for h in route.hops]
        for route in assigned.routes
    ]
    node.store.close()


def test_audit_holds_and_their_release_are_deterministic(tmp_path):
    """Both jobs are drawn for audit: their charges are held, then refunded when every verdict
    window ends undecided (validators abstain)."""
    audits = {"audit_probability": "1", "audit_window_blocks": 3}
    a = make_job_chain(tmp_path / "a", agreement=audits)
    b = make_job_chain(tmp_path / "b", agreement=audits)
    alice, bob = a.keys[7], a.keys[8]

    def signed(signer, msg) -> bytes:
        return a.tx(signer, msg, gas=GAS, fee=FEE)

    first = [signed(alice, submit_msg(alice)), signed(bob, submit_msg(bob, redundancy=2))]
    assert _feed(a, first) == _feed(b, first)
    workers = {job_id: all_hops(a, job_id) for job_id in (1, 2)}
    blocks = [
        [signed(w, commit_msg(w, j)) for j in (1, 2) for w in workers[j]],
        [signed(w, reveal_msg(w, j)) for j in (1, 2) for w in workers[j]],
    ] + [[]] * 11  # through all three verdict windows of 3 blocks: the holds go back
    for txs in blocks:
        assert _feed(a, txs) == _feed(b, txs)
    for job_id in (1, 2):
        audit = keeper(a, "agreement").get_audit(latest_ctx(a), job_id)
        assert audit == keeper(b, "agreement").get_audit(latest_ctx(b), job_id)
        assert audit.hold_status == R.HOLD_STATUS_REFUNDED
    a.store.close()
    b.store.close()
