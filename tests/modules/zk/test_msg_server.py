"""The zk module on a chain: register a key for the model, a route's worker proves the job, the
end-block batch verifies it and settles the job; every refusal has its code."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import types_pb2 as J
from infera.zk.v1 import query_pb2, tx_pb2, types_pb2
from modules.zk import encoding
from tests.modules.jobs import MAX_FEE, make_job_chain, submit_msg
from tests.modules.zk.fixtures import mul_sample, needs_snarkjs

GAS = 4_000_000
FEE = GAS * 25 // 1000
ZK_CODESPACE = "zk"


def _key_msg(owner, sample, **fields) -> tx_pb2.MsgRegisterVerifyingKey:
    values = {
        "owner": owner.bech32,
        "id": "mul-dev",
        "model_id": "m",
        "key": encoding.verifying_key_from_snarkjs(sample.vk),
        "dev_setup": True,
    }
    values.update(fields)
    return tx_pb2.MsgRegisterVerifyingKey(**values)


def _job(chain_, job_id: int) -> J.Job:
    res = chain_.query(
        "/infera.inference.v1.Query/Job", inference_query.QueryJobRequest(job_id=job_id)
    )
    return inference_query.QueryJobResponse.FromString(res.value).job


def _record(chain_, job_id: int) -> types_pb2.ProofRecord:
    res = chain_.query(
        "/infera.zk.v1.Query/JobProof", query_pb2.QueryJobProofRequest(job_id=job_id)
    )
    assert res.code == 0, res.log
    return query_pb2.QueryJobProofResponse.FromString(res.value).record


def _assigned_job_chain(tmp_path, key_fields=None, **job_fields):
    """Model "m" with the mul circuit's key, one assigned job (r = 1) with id 1."""
    sample = mul_sample(3, 11)
    chain_ = make_job_chain(tmp_path, inference={"max_prompt_bytes": 256})  # room for "zk1:..."
    owner, submitter = chain_.keys[0], chain_.keys[8]
    key = _key_msg(owner, sample, **(key_fields or {}))
    res = chain_.block([chain_.tx(owner, key, gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    job = submit_msg(submitter, redundancy=1, **job_fields)
    res = chain_.block([chain_.tx(submitter, job, gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    for _ in range(3):
        if _job(chain_, 1).state == J.JOB_STATE_ASSIGNED:
            break
        chain_.block()
    assert _job(chain_, 1).state == J.JOB_STATE_ASSIGNED
    return chain_, sample


@pytest.fixture
def zk_chain(tmp_path):
    return _assigned_job_chain(tmp_path)


def _prove_msg(prover: str, sample, **fields) -> tx_pb2.MsgSubmitProof:
    values = {
        "prover": prover,
        "job_id": 1,
        "proof": encoding.proof_from_snarkjs(sample.proof),
        "public_inputs": encoding.public_inputs_from_snarkjs(sample.public),
    }
    values.update(fields)
    return tx_pb2.MsgSubmitProof(**values)


def _route_worker(chain_):
    worker = _job(chain_, 1).routes[0].hops[0].worker
    return next(k for k in chain_.keys if k.bech32 == worker)


@needs_snarkjs
def test_verified_proof_finalizes_the_job_and_pays_the_prover(zk_chain):
    chain_, sample = zk_chain
    worker = _route_worker(chain_)
    before = chain_.balance(worker.address)
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, sample), gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    record = _record(chain_, 1)
    assert record.status == types_pb2.PROOF_STATUS_VERIFIED
    assert _job(chain_, 1).state == J.JOB_STATE_FINALIZED
    assert chain_.balance(worker.address) == before - FEE + MAX_FEE


@needs_snarkjs
def test_invalid_proof_is_rejected_and_costs_its_sender(zk_chain):
    chain_, sample = zk_chain
    worker = _route_worker(chain_)
    before = chain_.balance(worker.address)
    wrong = (34).to_bytes(32, "big") + (3).to_bytes(32, "big")
    msg = _prove_msg(worker.bech32, sample, public_inputs=wrong)
    res = chain_.block([chain_.tx(worker, msg, gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0  # queued; the end-block batch decides
    record = _record(chain_, 1)
    assert (record.status, record.code) == (types_pb2.PROOF_STATUS_REJECTED, 7)
    assert _job(chain_, 1).state == J.JOB_STATE_ASSIGNED
    assert chain_.balance(worker.address) == before - FEE


@needs_snarkjs
def test_submit_proof_rejects_a_prover_off_the_routes(zk_chain):
    chain_, sample = zk_chain
    outsider = chain_.keys[9]
    res = chain_.block([chain_.tx(outsider, _prove_msg(outsider.bech32, sample), gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 17)


@needs_snarkjs
def test_submit_proof_rejects_a_non_canonical_proof(zk_chain):
    chain_, sample = zk_chain
    worker = _route_worker(chain_)
    proof = bytearray(encoding.proof_from_snarkjs(sample.proof))
    proof[:32] = (int.from_bytes(proof[:32], "big") + encoding.P).to_bytes(32, "big")
    msg = _prove_msg(worker.bech32, sample, proof=bytes(proof))
    res = chain_.block([chain_.tx(worker, msg, gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 3)


@needs_snarkjs
def test_register_key_rejects_a_signer_who_does_not_own_the_model(tmp_path):
    sample = mul_sample(3, 11)
    chain_ = make_job_chain(tmp_path)
    other = chain_.keys[8]
    res = chain_.block([chain_.tx(other, _key_msg(other, sample), gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 12)


@needs_snarkjs
def test_proofs_over_the_block_budget_wait_for_the_next_block(tmp_path, monkeypatch):
    from modules.zk import genesis, params

    tight = params.default_params()
    tight.max_miller_loops_per_block = 4  # one single check per block
    monkeypatch.setattr(genesis, "default_params", lambda: tight)
    sample = mul_sample(3, 11)
    chain_ = make_job_chain(tmp_path)
    owner, submitter = chain_.keys[0], chain_.keys[8]
    chain_.block([chain_.tx(owner, _key_msg(owner, sample), gas=GAS, fee=FEE)])
    job = submit_msg(submitter, redundancy=1)
    chain_.block(
        [chain_.tx(submitter, job, gas=GAS, fee=FEE), chain_.tx(submitter, job, gas=GAS, fee=FEE)]
    )
    for _ in range(3):
        if _job(chain_, 2).state == J.JOB_STATE_ASSIGNED:
            break
        chain_.block()
    first = _job(chain_, 1).routes[0].hops[0].worker
    second = next(h.worker for h in _job(chain_, 2).routes[0].hops if h.worker != first)
    provers = [next(k for k in chain_.keys if k.bech32 == w) for w in (first, second)]
    txs = [
        chain_.tx(p, _prove_msg(p.bech32, sample, job_id=job_id), gas=GAS, fee=FEE)
        for p, job_id in zip(provers, (1, 2), strict=True)
    ]
    res = chain_.block(txs)
    assert [r.code for r in res.tx_results] == [0, 0], [r.log for r in res.tx_results]
    assert _record(chain_, 1).status == types_pb2.PROOF_STATUS_VERIFIED
    assert _record(chain_, 2).status == types_pb2.PROOF_STATUS_PENDING
    chain_.block()
    assert _record(chain_, 2).status == types_pb2.PROOF_STATUS_VERIFIED
    assert _job(chain_, 2).state == J.JOB_STATE_FINALIZED


@needs_snarkjs
def test_register_key_rejects_a_dev_key_where_genesis_refuses_them(tmp_path, monkeypatch):
    from modules.zk import genesis, params

    strict = params.default_params()
    strict.refuse_dev_keys = True
    monkeypatch.setattr(genesis, "default_params", lambda: strict)
    sample = mul_sample(3, 11)
    chain_ = make_job_chain(tmp_path)
    owner = chain_.keys[0]
    res = chain_.block([chain_.tx(owner, _key_msg(owner, sample), gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 13)


@needs_snarkjs
def test_a_failing_batch_rejects_its_proofs_and_the_block_still_commits(zk_chain, monkeypatch):
    from modules.zk import groth16

    chain_, sample = zk_chain
    worker = _route_worker(chain_)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(groth16, "compute_invalid_indices", broken)
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, sample), gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0
    record = _record(chain_, 1)
    assert (record.status, record.code) == (types_pb2.PROOF_STATUS_REJECTED, 22)
    assert _job(chain_, 1).state == J.JOB_STATE_ASSIGNED
    chain_.block()  # nothing pending fails again


def _declaring(value: int, payload: str = "") -> bytes:
    """A prompt declaring ``value`` as the job's input commitment (modules/zk/logic.py)."""
    return b"zk1:" + value.to_bytes(32, "big").hex().encode() + payload.encode()


@needs_snarkjs
def test_a_proof_of_the_declared_input_finalizes_the_job(tmp_path):
    chain_, sample = _assigned_job_chain(tmp_path, prompt=_declaring(3, ":a=3"))  # public [33, 3]
    worker = _route_worker(chain_)
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, sample), gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    assert _record(chain_, 1).status == types_pb2.PROOF_STATUS_VERIFIED


@needs_snarkjs
def test_submit_proof_rejects_a_valid_proof_of_another_input(tmp_path):
    # the proof is valid (a = 3) but the submitter committed to a = 4: refused before the batch
    chain_, sample = _assigned_job_chain(tmp_path, prompt=_declaring(4))
    worker = _route_worker(chain_)
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, sample), gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 23)
    assert _job(chain_, 1).state == J.JOB_STATE_ASSIGNED


@needs_snarkjs
def test_submit_proof_rejects_every_proof_of_a_malformed_declaration(tmp_path):
    chain_, sample = _assigned_job_chain(tmp_path, prompt=b"zk1:03")  # too short to declare
    worker = _route_worker(chain_)
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, sample), gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 23)


# Private weights. The mul circuit stands in for a private-weight circuit at the chain level:
# its public signals are [c, a], so public input num_public - 2 is c = a * b, a value the
# private witness b decides, as the private CNN's weights decide its weights commitment
# (public input -2 of [class, weights commitment, input commitment]). The real CNN's proofs
# are checked against the same rule in tests/inference_worker/zk/test_private.py (slow).
def _private(commitment: int) -> dict:
    return {
        "weights": types_pb2.WEIGHTS_MODE_PRIVATE,
        "weights_commitment": commitment.to_bytes(32, "big"),
    }


@needs_snarkjs
def test_a_private_weight_key_refuses_a_proof_made_with_other_weights(tmp_path):
    chain_, honest = _assigned_job_chain(tmp_path, key_fields=_private(33))  # 3 x 11
    other = mul_sample(5, 11)  # a valid proof under the same circuit and key, "weights" 5
    worker = _route_worker(chain_)
    before = chain_.balance(worker.address)
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, other), gas=GAS, fee=FEE)])
    assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 25)
    assert res.tx_results[0].gas_used >= 2_000_000  # verify_gas is charged before the check
    assert chain_.balance(worker.address) == before - FEE
    missing = chain_.query("/infera.zk.v1.Query/JobProof", query_pb2.QueryJobProofRequest(job_id=1))
    assert missing.code != 0  # nothing was queued: no pairing work for the batch
    assert _job(chain_, 1).state == J.JOB_STATE_ASSIGNED
    res = chain_.block([chain_.tx(worker, _prove_msg(worker.bech32, honest), gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    assert _record(chain_, 1).status == types_pb2.PROOF_STATUS_VERIFIED
    assert _job(chain_, 1).state == J.JOB_STATE_FINALIZED


def _key(chain_, key_id: str):
    res = chain_.query(
        "/infera.zk.v1.Query/VerifyingKey", query_pb2.QueryVerifyingKeyRequest(id=key_id)
    )
    return None if res.code else query_pb2.QueryVerifyingKeyResponse.FromString(res.value).key


@needs_snarkjs
def test_register_key_refuses_a_bad_weights_declaration_and_keeps_state(tmp_path):
    sample = mul_sample(3, 11)
    chain_ = make_job_chain(tmp_path)
    owner = chain_.keys[0]
    private = types_pb2.WEIGHTS_MODE_PRIVATE
    bad = [
        {"weights": private},  # no commitment
        {"weights": private, "weights_commitment": b"\x01" * 31},
        {"weights": private, "weights_commitment": b"\x00" * 32 + b"\x01"},
        {"weights": private, "weights_commitment": encoding.R.to_bytes(32, "big")},  # not < r
        {"weights_commitment": (33).to_bytes(32, "big")},  # a baked key commits to nothing
        {"weights": 7, "weights_commitment": (33).to_bytes(32, "big")},  # unknown mode
    ]
    for fields in bad:
        res = chain_.block([chain_.tx(owner, _key_msg(owner, sample, **fields), gas=GAS, fee=FEE)])
        assert (res.tx_results[0].codespace, res.tx_results[0].code) == (ZK_CODESPACE, 24), fields
        assert _key(chain_, "mul-dev") is None
    res = chain_.block(
        [chain_.tx(owner, _key_msg(owner, sample, **_private(33)), gas=GAS, fee=FEE)]
    )
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    stored = _key(chain_, "mul-dev")
    assert (stored.weights, stored.weights_commitment) == (private, (33).to_bytes(32, "big"))
    events = {e.type: {a.key: a.value for a in e.attributes} for e in res.tx_results[0].events}
    registered = next(v for t, v in events.items() if t.endswith("zk_register_key"))
    assert registered["weights"] == "private"


@needs_snarkjs
def test_genesis_round_trips_the_weights_commitment_and_refuses_a_bad_one(tmp_path):
    import json

    from chain.store import prefix_end
    from tests.modules.serving import latest_ctx

    chain_, _ = _assigned_job_chain(tmp_path, key_fields=_private(33))
    module = next(m for m in chain_.app.modules if m.name == "zk")
    ctx = latest_ctx(chain_)
    exported = json.loads(json.dumps(module.export_genesis(ctx)))
    assert exported["keys"][0]["weights"] == "WEIGHTS_MODE_PRIVATE"
    before = dict(ctx.store.iterate(b"zk/", prefix_end(b"zk/")))
    fresh = latest_ctx(chain_)
    for key in before:
        fresh.store.delete(key)
    module.init_genesis(fresh, exported)
    assert dict(fresh.store.iterate(b"zk/", prefix_end(b"zk/"))) == before
    for broken in ({"weights_commitment": ""}, {"weights": "WEIGHTS_MODE_BAKED"}):
        data = json.loads(json.dumps(exported))
        data["keys"][0].update(broken)
        again = latest_ctx(chain_)
        for key in before:
            again.store.delete(key)
        with pytest.raises(ValueError, match="bad weights declaration"):
            module.init_genesis(again, data)
