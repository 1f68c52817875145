"""`make demo-zk`: a digits job finalized by a zero-knowledge proof on a local Infera node.

1. trains the 64-32-10 digits MLP (scikit-learn's 8x8 digits), quantizes it and compiles it to a
   circom circuit with dev Groth16 keys (cached under ~/.cache/infera/zk-circuits after the first
   run, which also makes the powers of tau: ~4 min);
2. starts one validator (`infera init` + `infera start`) under .infera/demo-zk;
3. registers the model (weight commitments of its two layers) with the SDK and its verifying key
   with `infera tx zk register-key ... --dev-setup`;
4. starts a proving worker (`infera worker zk-run`), which registers, serves the model and watches
   its assignments;
5. submits a job whose prompt declares the Poseidon commitment of a test image
   (`zk1:<commitment>:<pixels>`), waits for the chain to finalize it by the worker's proof, and
   prints the verified class, the true label, the proof's size, the worker's prove time and the
   py-ecc verification time of that proof (the check the chain ran, timed here again);
6. stops everything (also on Ctrl-C or an error).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import chain.pb  # noqa: F401

from rich.console import Console

from chain.client import Client
from chain.testnet import node_env, spawn_node, stop_process_group
from infera.inference.v1 import types_pb2 as inference_types
from infera.zk.v1 import query_pb2 as zk_query
from infera.zk.v1 import types_pb2 as zk_types

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".infera" / "demo-zk"
MODEL_ID = "digits-mlp-64-32-10"
KEY_ID = "digits-dev"
CHAIN_ID = "infera-demo-zk"
console = Console()


def infera(*args: str) -> str:
    """Run the real CLI and return its output (raises with its error text on failure)."""
    done = subprocess.run([sys.executable, "-m", "chain.cli.main", *args], capture_output=True,
                          text=True, env=node_env(), check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"infera {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def wait(predicate, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    with console.status(f"waiting for {what}"):
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except Exception:  # noqa: BLE001 - a node still starting answers with errors
                value = None
            if value:
                return value
            time.sleep(0.3)
    raise SystemExit(f"timed out waiting for {what}")


def build_circuit():
    from inference_worker.zk import circuit, digits, snarkjs

    if not (snarkjs.is_available() and digits.is_available()):
        raise SystemExit("snarkjs/circom2 or scikit-learn's digits are missing: run make install")
    x, y = digits.load_digits()
    xt, yt, xs, ys = digits.split(x, y)
    model = digits.train(xt, yt)
    q = digits.quantize(model, xt)
    with console.status("compiling the circuit and its dev keys (first run: ~4 min)"):
        source = circuit.compile_mlp(q)
        circ = snarkjs.compile_circuit(source, "mlp")
    float_acc = float((model.predict(xs) == ys).mean())
    console.print(f"digits MLP: float {float_acc:.1%}, quantized "
                  f"{digits.accuracy_quant(q, xs, ys):.1%} on {len(ys)} test images; circuit "
                  f"{circ.constraints:,} constraints")  # fmt: skip
    return q, circ, source, xs, ys


def start_node(port_base: int, procs: list) -> tuple[Path, str, str]:
    home = DEMO / "node"
    infera("init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "demo",
           "--timeout-commit", "300ms", "--p2p-port", str(port_base),
           "--rpc-port", str(port_base + 1), "--abci-port", str(port_base + 2),
           "--grpc-port", str(port_base + 3), "--dev-accounts", "3")  # fmt: skip
    procs.append(spawn_node(home))
    return home, f"http://127.0.0.1:{port_base + 1}", f"127.0.0.1:{port_base + 3}"


def register_model(client: Client, owner, q, source: str) -> None:
    from inference_worker.models import merkle_root

    layers = [
        hashlib.sha256(json.dumps({"w1": q.w1, "b1": q.b1, "shift": q.shift}).encode()).digest(),
        hashlib.sha256(json.dumps({"w2": q.w2, "b2": q.b2}).encode()).digest(),
    ]
    # The models module knows transformer families only; "llama" is a label here: the
    # verifying key (weights baked into the circuit) is what pins this model.
    client.register_model(
        owner, model_id=MODEL_ID, family="llama", num_layers=2, layer_commitments=layers,
        weights_root=merkle_root(layers), bytes_per_layer=10_000,
        tokenizer_hash=hashlib.sha256(b"digits 8x8, pixels 0..16, 64 chars 0-9a-g").digest(),
        dtype="float32", price_per_token="1", min_redundancy=1, zk_verifying_key_ref=KEY_ID,
        config_hash=hashlib.sha256(source.encode()).digest(),
    )  # fmt: skip


def start_worker(home: Path, rpc: str, grpc: str, circ, procs: list) -> Path:
    log_path = DEMO / "zk-worker.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "chain.cli.main", "--log-format", "json", "worker", "zk-run",
         "--model", MODEL_ID, "--key-id", KEY_ID, "--circuit", str(circ.folder), "--from", "dev1",
         "--home", str(home), "--node", rpc, "--grpc", grpc, "--chain-id", CHAIN_ID,
         "--state-dir", str(DEMO / "zk-worker-state")],
        stdout=log, stderr=subprocess.STDOUT, env=node_env(), start_new_session=True,
    ))  # fmt: skip
    return log_path


def worker_event(log_path: Path, event: str, job_id: int) -> dict | None:
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event and entry.get("job") == job_id:
            return entry
    return None


def report(client: Client, job_id: int, label: int, log_path: Path, timings: dict) -> None:
    from modules.zk import groth16

    record = client.query("/infera.zk.v1.Query/JobProof", zk_query.QueryJobProofRequest(job_id=job_id),
                          zk_query.QueryJobProofResponse).record  # fmt: skip
    key = client.query("/infera.zk.v1.Query/VerifyingKey", zk_query.QueryVerifyingKeyRequest(id=record.key_id),
                       zk_query.QueryVerifyingKeyResponse).key  # fmt: skip
    job = client.job(job_id)
    t0 = time.perf_counter()
    ok = groth16.is_accepted(bytes(key.key), bytes(record.proof), bytes(record.public_inputs))
    verify_s = time.perf_counter() - t0
    verified_class = int.from_bytes(record.public_inputs[:32], "big")
    proved = worker_event(log_path, "proved", job_id) or {}
    console.rule(f"[bold]job {job_id}: {inference_types.JobState.Name(job.state)}")
    console.print(f"verified class: [bold]{verified_class}[/bold] (true label {label}); "
                  f"proof {zk_types.ProofStatus.Name(record.status)} at height {record.height}, "
                  f"prover {record.prover[:20]}… paid {record.paid} uinfera")  # fmt: skip
    console.print(f"proof size: {len(record.proof)} B; public inputs: class and the Poseidon "
                  f"input commitment {int.from_bytes(record.public_inputs[32:], 'big'):#x}"[:160])  # fmt: skip
    console.print(f"prove time (worker, warm snarkjs): {proved.get('seconds', '?')} s; "
                  f"verification (py-ecc, the chain's single check, re-run here): {verify_s:.2f} s"
                  f" -> {'valid' if ok else 'INVALID'}")  # fmt: skip
    console.print(f"submitted at height {job.submit_height}, finalized at {job.final_height} "
                  f"({timings['job']:.1f} s); set-up {timings['setup']:.1f} s; key "
                  f"{len(key.key)} B, dev setup: {key.dev_setup}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port-base", type=int, default=36650, help="p2p, RPC, ABCI, gRPC")
    parser.add_argument("--image", type=int, default=0, help="index of the test image")
    args = parser.parse_args()
    from inference_worker.node.zk_worker import digits_prompt
    from inference_worker.zk import circuit as zk_circuit
    from inference_worker.zk import snarkjs

    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    procs: list[subprocess.Popen] = []
    started = time.monotonic()
    try:
        q, circ, source, xs, ys = build_circuit()
        home, rpc, grpc = start_node(args.port_base, procs)
        accounts = json.loads((home / "dev-accounts.json").read_text())
        client = Client(grpc)
        wait(lambda: client.latest_height() >= 2, "the first blocks", 120)
        owner, developer = (Client.wallet(accounts[i]["mnemonic"]) for i in (0, 2))
        register_model(client, owner, q, source)
        (DEMO / "vk.json").write_text(json.dumps(circ.verification_key()))
        infera("tx", "zk", "register-key", KEY_ID, MODEL_ID, "--vk", str(DEMO / "vk.json"),
               "--dev-setup", "--from", "dev0", "--home", str(home), "--grpc", grpc)  # fmt: skip
        console.print(f"model {MODEL_ID} and its verifying key {KEY_ID} registered (dev setup)")
        log_path = start_worker(home, rpc, grpc, circ, procs)
        wait(lambda: client.coverage(MODEL_ID).layers[0].workers, "the zk worker to serve", 120)
        image, label = xs[args.image].tolist(), int(ys[args.image])
        inputs = zk_circuit.witness_input(image)
        commitment = snarkjs.public_signals(circ, inputs, DEMO / "commitment")[-1]
        timings = {"setup": time.monotonic() - started}
        t0 = time.monotonic()
        result = client.submit_job(developer, model_id=MODEL_ID, prompt=digits_prompt(commitment, image),
                                   max_new_tokens=1, max_fee=1000, redundancy=1, deadline_blocks=60,
                                   decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY))  # fmt: skip
        job_id = int(result.attribute("infera.job_submitted", "job_id") or 1)
        console.print(f"job {job_id} submitted: image {args.image}, input commitment declared")
        final = {inference_types.JOB_STATE_FINALIZED, inference_types.JOB_STATE_EXPIRED}
        job = wait(lambda: (j := client.job(job_id)) and j.state in final and j,
                   "the worker's proof to finalize the job", 300)  # fmt: skip
        timings["job"] = time.monotonic() - t0
        if job.state != inference_types.JOB_STATE_FINALIZED:
            raise SystemExit(
                f"job ended {inference_types.JobState.Name(job.state)}; see {log_path}"
            )
        report(client, job_id, label, log_path, timings)
        return 0
    finally:
        with console.status("stopping the worker and the node"):
            for proc in reversed(procs):
                stop_process_group(proc)


if __name__ == "__main__":
    sys.exit(main())
