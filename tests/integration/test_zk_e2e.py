"""A real node finalizes a digits job by a verified Groth16 proof (issue 15), through the CLI:
the owner registers the model and its verifying key, a worker serves it, a developer submits a
job, the worker proves the digits MLP on an image with snarkjs and submits the proof; the node's
end-block batch (py-ecc) verifies it, pays the worker and finalizes the job. A tampered proof is
refused (non-canonical: CheckTx code 3) or rejected by the batch (wrong class: code 7)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import chain.pb  # noqa: F401

import pytest

from chain.cli.infera_tx import signing_key
from chain.client import Client, TxError
from infera.inference.v1 import types_pb2 as inference_types
from infera.zk.v1 import query_pb2 as zk_query
from infera.zk.v1 import tx_pb2 as zk_tx
from infera.zk.v1 import types_pb2 as zk_types
from inference_worker.zk import circuit, digits, snarkjs
from modules.zk import encoding
from tests.integration.conftest import NodeProcess, free_port_base, infera, load_dev_accounts
from tests.integration.test_cli_infera_tx import MODEL, NUM_LAYERS, CliNode, write_manifest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (snarkjs.is_available() and digits.is_available()),
        reason="snarkjs/circom2 or scikit-learn's digits not installed (make install)",
    ),
]

CHAIN_ID = "infera-zk"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("zk") / "home"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", "200ms", "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "3",
    )  # fmt: skip
    process = NodeProcess("solo", home, f"http://127.0.0.1:{base + 1}")
    process.start()
    try:
        process.wait_height(2)
        addresses = [a.address for a in load_dev_accounts(home / "dev-accounts.json")]
        yield CliNode(home, f"127.0.0.1:{base + 3}", addresses)
    finally:
        if process.process is not None:
            assert process.stop() == 0


def _job_proof(node: CliNode, job_id: int) -> zk_types.ProofRecord:
    with Client(node.grpc) as sdk:
        return sdk.query(
            "/infera.zk.v1.Query/JobProof",
            zk_query.QueryJobProofRequest(job_id=job_id),
            zk_query.QueryJobProofResponse,
        ).record


def test_a_real_node_finalizes_a_digits_job_by_its_proof(node: CliNode, tmp_path: Path) -> None:
    owner, worker, developer = node.addresses
    x, y = digits.load_digits()
    xt, yt, xs, _ = digits.split(x, y)
    q = digits.quantize(digits.train(xt, yt), xt)
    circ = snarkjs.compile_circuit(circuit.compile_mlp(q), "mlp")
    (tmp_path / "vk.json").write_text(json.dumps(circ.verification_key()))
    write_manifest(tmp_path / "manifest.json")
    node.ok("models", "register", "--file", str(tmp_path / "manifest.json"), "--price", "1",
            "--bytes-per-layer", "1000", "--from", "dev0")  # fmt: skip
    node.ok("zk", "register-key", "digits-dev", MODEL, "--vk", str(tmp_path / "vk.json"),
            "--dev-setup", "--from", "dev0")  # fmt: skip
    node.ok("workers", "register", "--endpoint", "w1.example:7000", "--stake", "2000000uinfera",
            "--memory-bytes", "100000", "--throughput", "10", "--encryption-pubkey", "11" * 32,
            "--torch-version", "2.5.1", "--transformers-version", "4.46.0", "--from", "dev1")  # fmt: skip
    node.ok("workers", "serve", MODEL, "0", str(NUM_LAYERS), "--from", worker)

    def submit() -> int:
        done = node.ok("inference", "submit-job", MODEL, "digit", "--max-new-tokens", "1",
                       "--max-fee", "1000", "--deadline-blocks", "60", "--from", "dev2")  # fmt: skip
        job_id = int(done["job_id"])
        # routes are drawn at a later end-block (with the beacon, not always the next one)
        with Client(node.grpc) as sdk:
            deadline = time.monotonic() + 30
            while sdk.job(job_id).state == inference_types.JOB_STATE_SUBMITTED:
                assert time.monotonic() < deadline, f"job {job_id} not assigned"
                time.sleep(0.2)
        return job_id

    # a tampered proof: the class changed -> queued, then rejected by the batch with code 7
    bad_job = submit()
    pixels = xs[0].tolist()
    result = snarkjs.SnarkjsProver().prove(circ, circuit.witness_input(pixels), tmp_path / "p")
    wrong = [str((int(result.public[0]) + 1) % 10), result.public[1]]
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    proof_file, public_file = tmp_path / "p" / "proof.json", tmp_path / "p" / "public.json"
    node.ok("zk", "submit-proof", str(bad_job), "--proof", str(proof_file),
            "--public", str(tmp_path / "wrong.json"), "--from", "dev1")  # fmt: skip
    record = _job_proof(node, bad_job)
    assert (record.status, record.code) == (zk_types.PROOF_STATUS_REJECTED, 7)

    # a non-canonical proof (A.x + p), sent as raw bytes past the CLI's own check: CheckTx code 3
    raw = bytearray(encoding.proof_from_snarkjs(json.loads(proof_file.read_text())))
    raw[:32] = (int.from_bytes(raw[:32], "big") + encoding.P).to_bytes(32, "big")
    msg = zk_tx.MsgSubmitProof(
        prover=worker, job_id=bad_job, proof=bytes(raw),
        public_inputs=encoding.public_inputs_from_snarkjs(result.public),
    )  # fmt: skip
    with Client(node.grpc) as sdk, pytest.raises(TxError) as refused:
        sdk.execute(signing_key(node.home, "dev1").wallet(), [msg], gas=3_000_000)  # no simulation
    assert (refused.value.result.codespace, refused.value.result.code) == ("zk", 3)

    # the honest proof finalizes its job and pays the worker
    job_id = submit()
    node.ok("zk", "submit-proof", str(job_id), "--proof", str(proof_file),
            "--public", str(public_file), "--from", "dev1")  # fmt: skip
    record = _job_proof(node, job_id)
    assert record.status == zk_types.PROOF_STATUS_VERIFIED
    assert int(record.public_inputs[:32].hex(), 16) == q.predict(pixels)
    with Client(node.grpc) as sdk:
        job = sdk.job(job_id)
        assert job.state == inference_types.JOB_STATE_FINALIZED
        assert record.paid == "1000" and job.submitter == developer and owner != worker
