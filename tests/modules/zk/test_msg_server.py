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


def _assigned_job_chain(tmp_path, **job_fields):
    """Model "m" with the mul circuit's key, one assigned job (r = 1) with id 1."""
    sample = mul_sample(3, 11)
    chain_ = make_job_chain(tmp_path, inference={"max_prompt_bytes": 256})  # room for "zk1:..."
    owner, submitter = chain_.keys[0], chain_.keys[8]
    res = chain_.block([chain_.tx(owner, _key_msg(owner, sample), gas=GAS, fee=FEE)])
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
