"""The ZK worker's lifecycle on a real node (issue 15): the owner registers the digits model and
its key, a `ZkWorker` registers itself, serves the model and watches its assignments; a developer
submits a job whose prompt declares the Poseidon commitment of its image; the worker proves it and
submits the proof, and the job finalizes with no manual step. A job whose payload is not the image
it committed to gets no proof, and a proof of another image is refused by the chain (code 23)."""

from __future__ import annotations

import asyncio
import json
import threading
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
from inference_worker.node.zk_worker import (
    ZkWorker,
    ZkWorkerConfig,
    digits_inputs,
    digits_prompt,
)
from inference_worker.zk import circuit, digits, snarkjs
from modules.zk import encoding
from tests.integration.conftest import NodeProcess, free_port_base, infera, load_dev_accounts
from tests.integration.test_cli_infera_tx import MODEL, CliNode, write_manifest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (snarkjs.is_available() and digits.is_available()),
        reason="snarkjs/circom2 or scikit-learn's digits not installed (make install)",
    ),
]

CHAIN_ID = "infera-zk-worker"
GREEDY = inference_types.DECODING_MODE_GREEDY
KEY_ID = "digits-dev"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CliNode, str]]:
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("zkw") / "home"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", "200ms", "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "3",
    )  # fmt: skip
    rpc = f"http://127.0.0.1:{base + 1}"
    process = NodeProcess("solo", home, rpc)
    process.start()
    try:
        process.wait_height(2)
        addresses = [a.address for a in load_dev_accounts(home / "dev-accounts.json")]
        yield CliNode(home, f"127.0.0.1:{base + 3}", addresses), rpc
    finally:
        if process.process is not None:
            assert process.stop() == 0


class RunningWorker:
    """A ZkWorker on its own event loop in a thread (as `infera`'s process would run it)."""

    def __init__(self, worker: ZkWorker):
        self.worker = worker
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self.worker.run(self.stop))
        except BaseException as err:  # reported by the test
            self.error = err

    def __enter__(self) -> RunningWorker:
        self.thread.start()
        assert self.worker.ready.wait(60), self.error  # registered and serving on chain
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)

    def wait_done(self, job_id: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while job_id not in self.worker.done:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"job {job_id} not done by the worker"
            time.sleep(0.3)


def test_a_zk_worker_proves_its_assigned_job_and_the_job_finalizes(node, tmp_path: Path) -> None:
    cli, rpc = node
    x, y = digits.load_digits()
    xt, yt, xs, _ = digits.split(x, y)
    q = digits.quantize(digits.train(xt, yt), xt)
    circ = snarkjs.compile_circuit(circuit.compile_mlp(q), "mlp")
    (tmp_path / "vk.json").write_text(json.dumps(circ.verification_key()))
    write_manifest(tmp_path / "manifest.json")
    cli.ok("models", "register", "--file", str(tmp_path / "manifest.json"), "--price", "1",
           "--bytes-per-layer", "1000", "--from", "dev0")  # fmt: skip
    cli.ok("zk", "register-key", KEY_ID, MODEL, "--vk", str(tmp_path / "vk.json"),
           "--dev-setup", "--from", "dev0")  # fmt: skip
    config = ZkWorkerConfig(
        node_rpc=rpc, node_grpc=cli.grpc, model_id=MODEL, key_id=KEY_ID,
        state_dir=tmp_path / "worker", chain_id=CHAIN_ID,
    )  # fmt: skip
    prover = snarkjs.WarmSnarkjsProver()  # the fast path; SnarkjsProver is the cold one
    worker = ZkWorker(
        config, signing_key(cli.home, "dev1").wallet(), circuit=circ,
        prover=prover, inputs_from_payload=digits_inputs,
    )  # fmt: skip
    image, other = xs[0].tolist(), xs[1].tolist()
    commitment = snarkjs.public_signals(circ, circuit.witness_input(image), tmp_path / "c")[-1]

    developer = signing_key(cli.home, "dev2").wallet()

    def submit(prompt: bytes) -> int:
        # through the SDK, not the in-process CLI: the worker thread logs while it runs
        with Client(cli.grpc) as sdk:
            done = sdk.submit_job(
                developer, model_id=MODEL, prompt=prompt, max_new_tokens=1, max_fee=1000, redundancy=1,
                deadline_blocks=60, decoding=inference_types.Decoding(mode=GREEDY),
            )  # fmt: skip
        return int(done.attribute("infera.job_submitted", "job_id"))

    with RunningWorker(worker) as running:
        # the honest job: no manual step between submission and FINALIZED
        job_id = submit(digits_prompt(commitment, image))
        running.wait_done(job_id)
        # a payload that is not the committed image: the worker proves nothing it could submit
        liar = submit(digits_prompt(commitment, other))
        running.wait_done(liar)
    prover.close()
    done = worker.done[job_id]
    assert (done.status, done.code) == (zk_types.PROOF_STATUS_VERIFIED, 0), done
    assert worker.done[liar].note == "the payload is not the committed input"
    with Client(cli.grpc) as sdk:
        job = sdk.job(job_id)
        assert job.state == inference_types.JOB_STATE_FINALIZED
        record = sdk.query(
            "/infera.zk.v1.Query/JobProof",
            zk_query.QueryJobProofRequest(job_id=job_id),
            zk_query.QueryJobProofResponse,
        ).record
        assert int(record.public_inputs[:32].hex(), 16) == q.predict(image)  # the class
        assert int(record.public_inputs[32:].hex(), 16) == int(commitment)
        assert sdk.job(liar).state != inference_types.JOB_STATE_FINALIZED

    # the chain itself refuses a valid proof of another image for the liar's job (code 23)
    proof = snarkjs.SnarkjsProver().prove(circ, circuit.witness_input(other), tmp_path / "o")
    msg = zk_tx.MsgSubmitProof(
        prover=worker.chain.address if worker.chain else "", job_id=liar,
        proof=encoding.proof_from_snarkjs(proof.proof),
        public_inputs=encoding.public_inputs_from_snarkjs(proof.public),
    )  # fmt: skip
    with Client(cli.grpc) as sdk, pytest.raises(TxError) as refused:
        sdk.execute(signing_key(cli.home, "dev1").wallet(), [msg], gas=3_000_000)
    assert (refused.value.result.codespace, refused.value.result.code) == ("zk", 23)
    assert int(proof.public[0]) == q.predict(other)
