"""A local network for the `openai` client tests: one validator (`infera start`), real
`infera worker run` processes over given spans of one model, and `infera gateway` in front.

Used by tests/gateway/test_openai_client.py (slow: three tiny-Llama hops), test_openai_tiny.py
(default suite: one full-span tiny-Llama worker, the fewest processes the chain allows with
min_redundancy 1) and test_openai_smollm2.py (slow: SmolLM2-135M over three hops).

Startup is overlapped: `infera init` runs while the model is made, the gateway process starts
with the workers as soon as the model is registered (after the node is up, so its one block
event subscription succeeds at once), and every wait is on a log line, a port or a height,
never a fixed sleep. Teardown signals every process at once. `Gateway.timings` says where the time went.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import chain.pb  # noqa: F401

import httpx

from chain.client import Client
from chain.keyring import Keyring
from chain.testnet import node_env
from infera.inference.v1 import types_pb2 as inference_types
from tests.integration.conftest import NodeProcess, init_solo_node, load_dev_accounts
from tests.integration.test_e2e_inference import (
    MODEL_ID,
    free_port,
    patch_genesis,
    register_model,
    write_worker_config,
)

API_KEY = "sk-infera-test-0123456789"
IDLE_MODEL = "tiny-idle"  # registered, served by no worker


@dataclass
class Gateway:
    url: str
    client: Client  # a chain client, to read the job back
    model_dir: Path
    log: Path
    vocab: int  # the model's vocabulary (PromptTokenizer)
    timings: dict[str, float] = field(default_factory=dict)  # seconds from the start, by stage


def start_gateway(
    root: Path, grpc_address: str, rpc: str, mnemonic: str, models: dict[str, Path],
    max_tokens: int = 16,
) -> tuple[subprocess.Popen[bytes], str, Path]:  # fmt: skip
    """`infera gateway` in its own process; returns once it is started (not yet listening)."""
    home = root / "gateway"
    Keyring(home).add("gw", mnemonic)
    keys = home / "api-keys"
    keys.write_text(f"# test key\n{API_KEY}\n")
    port = free_port()
    log = home / "gateway.log"
    served = [arg for model, path in models.items() for arg in ("--model", f"{model}={path}")]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chain.cli.main", "gateway", "--home", str(home),
             "--key", "gw", "--api-keys", str(keys), "--grpc", grpc_address, "--rpc", rpc,
             *served, "--listen", f"127.0.0.1:{port}",
             "--max-tokens", str(max_tokens), "--timeout", "240"],
            stdout=out, stderr=subprocess.STDOUT,
            env={**node_env(), "HF_HUB_OFFLINE": "1"}, start_new_session=True,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}/v1", log


def wait_listening(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{url}/models", timeout=2)
            return
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the gateway never listened"
            time.sleep(0.1)


def register_idle_model(client: Client, owner, model_dir: Path) -> None:
    from inference_worker.models import read_manifest

    manifest = read_manifest(model_dir)
    client.register_model(
        owner, model_id=IDLE_MODEL, family=manifest.family, num_layers=manifest.num_layers,
        layer_commitments=[bytes.fromhex(c) for c in manifest.layer_commitments],
        weights_root=bytes.fromhex(manifest.weights_root), bytes_per_layer=1 << 20,
        tokenizer_hash=bytes.fromhex(manifest.tokenizer_hash), dtype="float32",
        price_per_token="1", min_redundancy=1,
    )  # fmt: skip


@contextmanager
def gateway_network(
    root: Path, chain_id: str, spans: list[tuple[int, int]], *, model: Path | None = None,
    timeout_commit: str = "200ms", idle_model: bool = False, max_tokens: int = 16,
) -> Iterator[Gateway]:  # fmt: skip
    """The node, one worker process per span of ``model`` (default: the tiny seeded Llama,
    registered as MODEL_ID with min_redundancy 1) and the gateway, all started and ready."""
    from inference_worker.models import make_tiny_model, read_manifest

    began = time.monotonic()
    timings: dict[str, float] = {}

    def mark(stage: str) -> None:
        timings[stage] = round(time.monotonic() - began, 2)

    with ThreadPoolExecutor(1) as pool:  # `infera init` (a process) while the model is made
        init = pool.submit(init_solo_node, root, chain_id, timeout_commit)
        if model is None:
            model_dir = make_tiny_model("llama", root / "model", seed=1234)
        else:  # write_worker_config serves ROOT/model
            (root / "model").symlink_to(model, target_is_directory=True)
            model_dir = root / "model"
        home, rpc, grpc_address = init.result()
    patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    mark("init")
    workers = [
        write_worker_config(root, f"w{i}-{a}-{b}", accounts[1 + i], (a, b), rpc, grpc_address)
        for i, (a, b) in enumerate(spans)
    ]
    client = Client(grpc_address, chain_id=chain_id)
    models = {MODEL_ID: model_dir, **({IDLE_MODEL: model_dir} if idle_model else {})}
    process = None
    node.start()
    try:
        node.wait_height(2)
        mark("node at height 2")
        owner = Client.wallet(accounts[0].mnemonic)
        register_model(client, owner, model_dir)  # min redundancy 1
        if idle_model:
            register_idle_model(client, owner, model_dir)
        mark("model registered")
        for worker in workers:
            worker.start()
        # with the workers (not on the critical path), once the node's websocket answers
        process, url, log = start_gateway(
            root, grpc_address, rpc, accounts[7].mnemonic, models, max_tokens
        )
        wait_listening(process, url, log)
        mark("gateway listening")
        for worker in workers:
            worker.wait_log(r"watching job assignments", timeout=240)
        mark("workers ready")
        vocab = read_manifest(model_dir).vocab_size
        yield Gateway(url, client, model_dir, log, vocab, timings)
    finally:  # every process (the node too) is told to stop at once, then waited for
        stopping = time.monotonic()
        running = [w.process for w in workers if w.process is not None]
        running += [process] if process is not None else []
        for child in [*running, *([node.process] if node.process is not None else [])]:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in running:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        client.close()
        if node.process is not None:
            node.stop()  # waits for it (SIGKILL after its grace)
        print(f"teardown: {time.monotonic() - stopping:.2f} s")


def finalized_text(gateway: Gateway, job_id: int) -> tuple[str, int]:
    """The text and token count of the output the chain finalized for ``job_id``."""
    from inference_worker.pipeline.route import PromptTokenizer

    job = gateway.client.job(job_id)
    assert job.state == inference_types.JOB_STATE_FINALIZED, job
    history = gateway.client.job_history(job_id)
    [won] = [o for o in history.outputs if o.output_hash == job.output_hash]
    return PromptTokenizer(gateway.model_dir, gateway.vocab).decode(list(won.tokens)), len(
        won.tokens
    )
