"""End to end: a real single-validator chain, six real `infera worker run` processes serving a
tiny seeded Llama on two routes of three hops, jobs submitted with cosmpy.

* a job finalizes by output agreement and its revealed text equals the local reference;
* the middle worker of a route is killed mid-generation and restarted: its driver retries it,
  replays the session into the fresh process, and the job finalizes with the identical output
  (the restarted worker commits from its persisted state);
* a middle worker killed for good: its route cannot finish, the job expires, the submitter gets
  the whole fee back.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.utils import prepare_and_broadcast_basic_transaction
from cosmpy.aerial.tx import Transaction
from cosmpy.aerial.wallet import LocalWallet

from chain.client import Client
from chain.testnet import node_env
from infera.base.v1 import coin_pb2 as infera_coin
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as inference_types
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    DevAccount,
    NodeProcess,
    init_solo_node,
    load_dev_accounts,
)

pytestmark = pytest.mark.integration

pytest.importorskip("torch")

CHAIN_ID = "infera-e2e"
MODEL_ID = "tiny-llama"
SPANS = [(0, 1), (1, 3), (3, 5)]  # of the tiny 5-layer Llama; each served by two workers
PROMPT = b"Infera says hello"
DENOM = "uinfera"
COMMIT_WINDOW = 400  # blocks (~0.25 s each): room for a worker restart on a loaded machine
REVEAL_WINDOW = 40
DEADLINE = COMMIT_WINDOW + REVEAL_WINDOW + 10
REJOIN_S = 120.0  # how long a driver waits for a failed hop to come back
STAKE = 3_000_000  # 3 x min_stake: a penalty in one test leaves the worker routable for the next


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WorkerProcess:
    """One `infera worker run` process; its log is `log`."""

    name: str
    account: DevAccount
    config: Path
    log: Path
    span: tuple[int, int]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**node_env(), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "chain.cli.main",
                    "worker",
                    "run",
                    "--config",
                    str(self.config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, pattern: str, timeout: float = 120, after: int = 0) -> None:
        """Wait until the log (from byte offset `after`) matches `pattern`."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()[after:]):
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {pattern!r} in:\n{self.text()[-3000:]}")
            time.sleep(0.05)


@dataclass
class Network:
    node: NodeProcess
    grpc: str
    model_dir: Path
    workers: list[WorkerProcess]
    submitter: DevAccount
    client: Client

    def ledger(self) -> LedgerClient:
        config = NetworkConfig(
            chain_id=CHAIN_ID,
            url=f"grpc+http://{self.grpc}",
            fee_minimum_gas_price=0.025,
            fee_denomination=DENOM,
            staking_denomination=DENOM,
        )
        return LedgerClient(config, query_interval_secs=1)

    def by_address(self, address: str) -> WorkerProcess:
        return next(w for w in self.workers if w.account.address == address)


def patch_genesis(home: Path) -> None:
    """Windows long enough for a worker restart; no audits (validators here run no verifier)."""
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["app_state"]["agreement"] = {
        "params": {
            "commit_window_blocks": COMMIT_WINDOW,
            "commit_milli_blocks_per_token": 0,  # fixed: sized for a restart, not for tokens
            "reveal_window_blocks": REVEAL_WINDOW,
            "audit_probability": "0",
        }
    }
    path.write_text(json.dumps(genesis, indent=2))


def register_model(
    client: Client,
    owner: LocalWallet,
    model_dir: Path,
    *,
    model_id: str = MODEL_ID,
    precision_classes: tuple[str, ...] = ("float32", "bfloat16"),  # adversary tests run bf16
) -> None:
    """Register a prepared folder from its manifest (as ``infera tx models register`` does)."""
    from inference_worker.models import read_manifest

    manifest = read_manifest(model_dir)
    size = (model_dir / "model.safetensors").stat().st_size
    client.register_model(
        owner,
        model_id=model_id,
        family=manifest.family,
        num_layers=manifest.num_layers,
        layer_commitments=[bytes.fromhex(c) for c in manifest.layer_commitments],
        weights_root=bytes.fromhex(manifest.weights_root),
        bytes_per_layer=size // manifest.num_layers + 1,
        tokenizer_hash=bytes.fromhex(manifest.tokenizer_hash),
        dtype="float32",
        precision_classes=list(precision_classes),
        price_per_token="1",
        min_redundancy=1,
        config_hash=bytes.fromhex(manifest.config_hash),
        embed_commitment=bytes.fromhex(manifest.embed_commitment),
        head_commitment=bytes.fromhex(manifest.head_commitment),
    )


def write_worker_config(root: Path, name: str, account: DevAccount, span, rpc: str, grpc: str):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "mnemonic").write_text(account.mnemonic)
    (folder / "mnemonic").chmod(0o600)
    port = free_port()
    config = folder / "worker.toml"
    config.write_text(
        f"""mnemonic_file = "mnemonic"
node_rpc = "{rpc}"
node_grpc = "{grpc}"
listen = "127.0.0.1:{port}"
threads = 1
stake = {STAKE}
throughput = 10
heartbeat_every_blocks = 20
progress_timeout_s = 5.0
rejoin_timeout_s = {REJOIN_S}
state_dir = "state"

[[models]]
id = "{MODEL_ID}"
path = "{root / "model"}"
spans = [[{span[0]}, {span[1]}]]
"""
    )
    return WorkerProcess(name, account, config, folder / "worker.log", span)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    from inference_worker.models import make_tiny_model

    root = tmp_path_factory.mktemp("e2e")
    home, rpc, grpc_address = init_solo_node(root, CHAIN_ID, TIMEOUT_COMMIT)
    patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    model_dir = make_tiny_model("llama", root / "model", seed=1234)
    workers = [
        write_worker_config(root, f"w{i}-{a}-{b}", accounts[1 + i], (a, b), rpc, grpc_address)
        for i, (a, b) in enumerate(SPANS * 2)
    ]
    client = Client(grpc_address, chain_id=CHAIN_ID)
    node.start()
    try:
        node.wait_height(2)
        register_model(client, Client.wallet(accounts[0].mnemonic), model_dir)
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_log(r"watching job assignments", timeout=240)
        yield Network(node, grpc_address, model_dir, workers, accounts[7], client)
    finally:
        for worker in workers:
            worker.stop()
        client.close()
        if node.process is not None:
            node.stop()


def submit_job(network: Network, max_new_tokens: int) -> int:
    """MsgSubmitJob signed and broadcast by cosmpy itself; returns the job id."""
    wallet = LocalWallet.from_mnemonic(network.submitter.mnemonic, prefix="infera")
    msg = inference_tx.MsgSubmitJob(
        submitter=str(wallet.address()),
        model_id=MODEL_ID,
        prompt=PROMPT,
        decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
        max_new_tokens=max_new_tokens,
        redundancy=2,
        max_fee=infera_coin.Coin(denom=DENOM, amount=str(10 * (max_new_tokens + 10) * 2)),
        deadline_blocks=DEADLINE,
    )
    tx = Transaction()
    tx.add_message(msg)
    submitted = prepare_and_broadcast_basic_transaction(network.ledger(), tx, wallet)
    submitted.wait_to_complete()
    for event in submitted.response.events.values():
        if "job_id" in event:
            return int(event["job_id"])
    raise AssertionError(f"no job id in {submitted.response.events}")


def wait_job(network: Network, job_id: int, states: set[int], timeout: float = 300):
    deadline = time.monotonic() + timeout
    while True:
        job = network.client.job(job_id)
        if job is not None and job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck in {job}")
        time.sleep(0.3)


def reference_text(network: Network, max_new_tokens: int) -> tuple[list[int], str]:
    from inference_worker.pipeline.generate import reference_generate
    from inference_worker.pipeline.route import PromptTokenizer

    tokenizer = PromptTokenizer(network.model_dir, 96)
    tokens = reference_generate(network.model_dir, tokenizer.encode(PROMPT), max_new_tokens)
    return tokens, tokenizer.decode(tokens)


def revealed_texts(network: Network, job_id: int) -> list[str]:
    """The text of every hop's reveal (through the distinct outputs the chain stored)."""
    from inference_worker.pipeline.route import PromptTokenizer

    tokenizer = PromptTokenizer(network.model_dir, 96)
    history = network.client.job_history(job_id)
    outputs = {o.output_hash: tokenizer.decode(list(o.tokens)) for o in history.outputs}
    return [outputs[r.output_hash] for r in history.reveals]


FINAL = {inference_types.JOB_STATE_FINALIZED, inference_types.JOB_STATE_EXPIRED}


def test_job_finalizes_with_agreement_and_the_reference_text(network):
    job_id = submit_job(network, max_new_tokens=24)
    job = wait_job(network, job_id, FINAL)
    assert job.state == inference_types.JOB_STATE_FINALIZED, (job.reason, trouble(network))
    _, text = reference_text(network, 24)
    assert revealed_texts(network, job_id) == [text] * 6  # every hop of both routes


def trouble(network: Network) -> dict[str, list[str]]:
    """Every worker's warnings and errors (for a failing assertion's message)."""
    marks = (" WARNING ", " ERROR ", "Error:")
    return {
        w.name: [line for line in w.text().splitlines() if any(m in line for m in marks)][-20:]
        for w in network.workers
    }


def kill_middle_of_route_0(network: Network, submit) -> tuple[int, WorkerProcess, int]:
    """Submit with `submit()`, then SIGKILL the middle hop of route 0 as soon as its session
    opens (the generation is then a few steps in); (job id, the worker, its log offset)."""
    offsets = {w.name: len(w.text()) for w in network.workers}
    job_id = submit()
    pattern = re.compile(rf"session opened: job {job_id} route 0 hop 1 ")
    deadline = time.monotonic() + 120
    while True:
        middle = next(
            (w for w in network.workers if pattern.search(w.text()[offsets[w.name] :])), None
        )
        if middle is not None:
            break
        assert time.monotonic() < deadline, "route 0 never reached its middle hop"
        time.sleep(0.02)
    time.sleep(0.2)  # a few tokens in
    middle.kill()
    return job_id, middle, offsets[middle.name]


def test_killed_middle_worker_restarts_and_the_job_finalizes_with_identical_output(network):
    job_id, middle, offset = kill_middle_of_route_0(network, lambda: submit_job(network, 200))
    assert f"session closed: job {job_id}" not in middle.text()[offset:]  # killed mid-generation
    middle.start()
    job = wait_job(network, job_id, FINAL)
    assert job.state == inference_types.JOB_STATE_FINALIZED, (job.reason, trouble(network))
    _, text = reference_text(network, 200)
    assert revealed_texts(network, job_id) == [text] * 6
    assert re.search(rf"job {job_id}: revealed", middle.text()[offset:])  # the restarted one


def test_middle_worker_dead_for_good_expires_the_job_and_refunds_the_submitter(network):
    before = network.client.balance(network.submitter.address)
    job_id, middle, offset = kill_middle_of_route_0(network, lambda: submit_job(network, 200))
    job = wait_job(network, job_id, FINAL, timeout=600)
    assert job.state == inference_types.JOB_STATE_EXPIRED, job
    assert int(job.refunded) == int(job.max_fee)  # the whole fee came back
    fee = before - network.client.balance(network.submitter.address)
    assert 0 < fee < 10_000  # only the transaction fee is gone
