"""``infera tx inference|models|workers`` (chain/cli/infera_tx.py) against one real node: a model
owner (dev0), a worker (dev1) and a developer (dev2) drive their part through the CLI, and bad
input fails with one clear line.

The first round runs as real ``python -m chain.cli.main`` subprocesses, in parallel (one signer
each), which also proves the entry point's one-line error on stderr and exit code 1. Later
commands run in-process on the ``infera tx`` Typer app (the same commands, parsing and SDK, without
two seconds of interpreter start-up each). Effects are checked with the SDK's queries.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import pytest
from typer.testing import CliRunner, Result

from chain.cli import tx
from chain.cli.common import CLIError
from chain.cli.main import USER_ERRORS  # also registers infera_tx's groups on ``infera tx``
from chain.client import Client
from chain.keyring import KeyringError
from chain.testnet import node_env
from infera.inference.v1 import types_pb2 as inference_types
from infera.workers.v1 import types_pb2 as workers_types
from inference_worker.models import Manifest, merkle_root
from tests.integration.conftest import (
    NodeProcess,
    free_port_base,
    infera,
    load_dev_accounts,
)

pytestmark = pytest.mark.integration

CHAIN_ID = "infera-cli-tx"
MODEL = "tiny-llama"
NUM_LAYERS = 4


@dataclass
class CliNode:
    home: Path
    grpc: str
    addresses: list[str]  # dev0, dev1, dev2: model owner, worker, developer

    def args(self, *args: str) -> list[str]:
        """``infera tx ARGS`` with this node's keyring and (unless ARGS name one) gRPC address."""
        grpc = [] if "--grpc" in args else ["--grpc", self.grpc]
        return [*args, "--home", str(self.home), *grpc]

    def subprocess(self, *args: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "chain.cli.main", "tx", *self.args(*args)]
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=node_env()
        )

    def run(self, *args: str) -> Result:
        """``infera tx ARGS`` in-process; user errors stay in ``result.exception``."""
        return CliRunner().invoke(tx.app, self.args(*args))

    def ok(self, *args: str) -> dict[str, Any]:
        """Run in-process with ``-o json``: it must succeed with code 0 in a block."""
        result = self.run(*args, "-o", "json")
        assert result.exit_code == 0, (args, result.output, result.exception)
        data: dict[str, Any] = json.loads(result.stdout)
        assert data["code"] == 0 and data["height"] > 0, data
        return data


def finished(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=90)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def write_manifest(path: Path) -> Manifest:
    """A manifest.json as inference_worker/models.py writes it, for a model with fake weights."""
    layers = [hashlib.sha256(b"layer %d" % i).digest() for i in range(NUM_LAYERS)]
    manifest = Manifest(
        name=MODEL,
        family="llama",
        model_type="llama",
        num_layers=NUM_LAYERS,
        hidden_size=64,
        vocab_size=256,
        dtype="float32",
        config_hash=hashlib.sha256(b"config").hexdigest(),
        tokenizer_hash=hashlib.sha256(b"tokenizer").hexdigest(),
        embed_commitment=hashlib.sha256(b"embed").hexdigest(),
        head_commitment=hashlib.sha256(b"head").hexdigest(),
        layer_commitments=tuple(h.hex() for h in layers),
        weights_root=merkle_root(layers).hex(),
    )
    path.write_text(manifest.to_json())
    return manifest


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    """One validator made by ``infera init``; its keyring holds dev0..dev2."""
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("cli-tx") / "home"
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
            assert process.stop() == 0, "infera start did not exit cleanly on SIGTERM"


def test_cli_registers_model_and_worker_then_submits_a_job(node: CliNode, tmp_path: Path) -> None:
    owner, worker, developer = node.addresses
    manifest = write_manifest(tmp_path / "manifest.json")
    processes = [
        node.subprocess("models", "register", "--file", str(tmp_path / "manifest.json"),
                        "--price", "0.5", "--bytes-per-layer", "1000", "--from", "dev0", "-o", "json"),
        node.subprocess("workers", "register", "--endpoint", "w1.example:7000",
                        "--stake", "2000000uinfera", "--memory-bytes", "100000",
                        "--throughput", "10", "--encryption-pubkey", "11" * 32,
                        "--torch-version", "2.5.1", "--transformers-version", "4.46.0",
                        "--from", "dev1", "-o", "json"),
        node.subprocess("workers", "heartbeat", "--from", "dev0", "--grpc", "127.0.0.1:1"),
    ]  # fmt: skip
    registered_model, registered_worker, node_down = (finished(p) for p in processes)
    for result in (registered_model, registered_worker):
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["code"] == 0
    assert node_down.returncode == 1 and node_down.stdout == ""
    assert node_down.stderr.splitlines() == [
        "error: no node answers at 127.0.0.1:1 (UNAVAILABLE): is it running? "
        "(set --grpc or $INFERA_GRPC)"
    ]

    node.ok("models", "update", MODEL, "--price", "2", "--from", "dev0")
    node.ok("workers", "serve", MODEL, "0", str(NUM_LAYERS), "--from", worker)  # by address
    beat = node.ok("workers", "heartbeat", "--from", "dev1")
    submitted = node.ok(
        "inference", "submit-job", MODEL, "hello infera", "--max-new-tokens", "8",
        "--max-fee", "1000", "--deadline-blocks", "60", "--sample", "--temperature", "0.7",
        "--top-k", "40", "--from", "dev2",
    )  # fmt: skip
    job_id = int(submitted["job_id"])

    with Client(node.grpc) as sdk:
        model = sdk.model(MODEL)
        assert model.owner == owner and model.price_per_token == "2"
        assert model.weights_root.hex() == manifest.weights_root
        assert model.head_commitment.hex() == manifest.head_commitment
        record = sdk.worker(worker)
        assert record.last_heartbeat_height == beat["height"]
        assert [(s.model_id, s.start, s.end) for s in record.spans] == [(MODEL, 0, NUM_LAYERS)]
        job = sdk.job(job_id)
        assert job.submitter == developer and job.prompt == b"hello infera"
        assert job.redundancy == 1  # the default: the model's min_redundancy
        assert (job.decoding.mode, job.decoding.temperature_milli, job.decoding.top_k) == (
            inference_types.DECODING_MODE_SAMPLING, 700, 40,
        )  # fmt: skip
        assert job.state == inference_types.JOB_STATE_ASSIGNED
        assert [h.worker for r in job.routes for h in r.hops] == [worker]

    # the job was assigned at the end of its own block: too late to cancel, the chain says why
    cancel = node.run("inference", "cancel-job", str(job_id), "--from", "dev2")
    assert isinstance(cancel.exception, CLIError), cancel.output
    assert "can no longer be cancelled" in str(cancel.exception)
    assert "code 15" in str(cancel.exception)

    node.ok("workers", "update", "--endpoint", "w1-new.example:7001", "--memory-bytes", "200000",
            "--from", "dev1")  # fmt: skip
    node.ok("workers", "stop", MODEL, "0", str(NUM_LAYERS), "--from", "dev1")
    node.ok("models", "retire", MODEL, "--from", "dev0")
    unbonded = node.ok("workers", "unbond", "--from", "dev1")
    with Client(node.grpc) as sdk:
        assert sdk.model(MODEL).retired
        record = sdk.worker(worker)
        assert record.endpoint == "w1-new.example:7001"
        assert (record.hardware.memory_bytes, record.hardware.throughput) == (200_000, 10)
        assert record.status == workers_types.WORKER_STATUS_UNBONDING and not record.spans
        assert unbonded["completion_height"] == record.unbonding_completion_height


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (["workers", "heartbeat", "--from", "nobody"], KeyringError, "key 'nobody' not found"),
        (["workers", "heartbeat", "--from", "infera1notanaddress"], CLIError, "invalid bech32"),
        (["inference", "submit-job", MODEL, "hi", "--max-new-tokens", "4", "--max-fee", "10",
          "--top-k", "5", "--from", "dev2"], CLIError, "need --sample"),
        (["inference", "submit-job", MODEL, "hi", "--max-new-tokens", "4", "--max-fee", "10stake",
          "--from", "dev2"], CLIError, "--max-fee: expected one amount in uinfera"),
        (["workers", "heartbeat", "--from", "dev2"], CLIError, "worker not found"),  # chain's
        (["workers", "serve", MODEL, "0", "2", "--from", "dev0", "--grpc", "localhost"],
         CLIError, "invalid --grpc address"),
    ],
)  # fmt: skip
def test_cli_bad_input_is_a_user_error(
    node: CliNode, args: list[str], error: type[Exception], message: str
) -> None:
    result = node.run(*args)
    assert isinstance(result.exception, error), (result.output, result.exception)
    assert message in str(result.exception)
    assert isinstance(result.exception, USER_ERRORS)  # main() prints "error: ..." and exits 1
