"""The issue-13 capture scenario on a real node (`infera start`: app + CometBFT): two Sybil workers
with the minimum stake (1 INFERA) declaring throughput 2^64 - 1 and the full span, against six
honest workers staking 10,000 INFERA each, registered and served through signed txs over gRPC.
1,000 jobs are submitted; the Sybils must get at most their stake share of the routes (3.3e-5:
expected 0.1 of 3,000 routes). The workers are registrations only (no worker processes): route
assignment is what is measured; tests/integration/test_e2e_inference.py runs real workers."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format

from chain.client import Client
from infera.base.v1 import coin_pb2
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as inference_types
from infera.workers.v1 import tx_pb2 as workers_tx
from infera.workers.v1 import types_pb2 as workers_types
from modules.agreement.params import default_params as agreement_defaults
from modules.models.logic import compute_merkle_root
from modules.workers.params import default_params as workers_defaults
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    NodeProcess,
    free_port_base,
    infera,
    load_dev_accounts,
)

pytestmark = pytest.mark.integration

CHAIN_ID = "infera-capture"
INFERA = 1_000_000
JOBS = 1_000
PER_TX = 50
LAYERS = 8
U64_MAX = 2**64 - 1


def _init(root: Path) -> tuple[Path, str, str]:
    base = free_port_base(1)
    home = root / "node"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", TIMEOUT_COMMIT, "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "10",
    )  # fmt: skip
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    state = genesis["app_state"]
    workers = json_format.MessageToDict(workers_defaults(), preserving_proto_field_name=True)
    workers["heartbeat_timeout_blocks"] = "1000000"  # no heartbeats needed during the test
    state.setdefault("workers", {})["params"] = workers
    agreement = json_format.MessageToDict(agreement_defaults(), preserving_proto_field_name=True)
    agreement.update(reputation_penalty_absent="1", slash_fraction_absent="0")  # nobody commits
    agreement["audit_probability"] = "0"
    state.setdefault("agreement", {})["params"] = agreement
    path.write_text(json.dumps(genesis, indent=2))
    return home, f"http://127.0.0.1:{base + 1}", f"127.0.0.1:{base + 3}"


def _model_msg(owner: str):
    from infera.models.v1 import tx_pb2 as models_tx

    leaves = [hashlib.sha256(b"layer%d" % i).digest() for i in range(LAYERS)]
    return models_tx.MsgRegisterModel(
        owner=owner, id="m", family="llama", num_layers=LAYERS, layer_commitments=leaves,
        weights_root=compute_merkle_root(leaves), bytes_per_layer=100,
        tokenizer_hash=hashlib.sha256(b"tok").digest(), dtype="float32", price_per_token="1",
        min_redundancy=1,
    )  # fmt: skip


def _worker_msgs(operator: str, stake: int, throughput: int, start: int, end: int):
    register = workers_tx.MsgRegisterWorker(
        operator=operator,
        endpoint=f"w{operator[-6:]}.example:7000",
        hardware=workers_types.Hardware(device="cpu", memory_bytes=800, throughput=throughput),
        runtime=workers_types.Runtime(
            torch_version="2.5.1", transformers_version="4.46.0", dtype="float32"
        ),
        encryption_pubkey=hashlib.sha256(operator.encode()).digest(),
        stake=coin_pb2.Coin(denom="uinfera", amount=str(stake)),
    )
    serve = workers_tx.MsgServeSpan(operator=operator, model_id="m", start=start, end=end)
    return [register, serve]


def _submit_msgs(submitter: str, count: int):
    return [
        inference_tx.MsgSubmitJob(
            submitter=submitter,
            model_id="m",
            prompt=b"hello world!",
            max_new_tokens=4,
            decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
            redundancy=3,
            max_fee=coin_pb2.Coin(denom="uinfera", amount="1000"),
            deadline_blocks=10_000,
        )  # fmt: skip
        for _ in range(count)
    ]


def test_min_stake_sybils_get_at_most_their_stake_share_on_a_real_node(tmp_path):
    home, rpc, grpc_address = _init(tmp_path)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    node = NodeProcess("solo", home, rpc)
    client = Client(grpc_address, chain_id=CHAIN_ID)
    node.start()
    try:
        node.wait_height(2)
        wallets = [Client.wallet(a.mnemonic) for a in accounts]
        client.execute(wallets[0], [_model_msg(accounts[0].address)], gas=2_000_000)
        spans = [(0, 4), (4, 8)] * 3
        for i, (start, end) in enumerate(spans, start=1):
            msgs = _worker_msgs(accounts[i].address, 10_000 * INFERA, 10, start, end)
            client.execute(wallets[i], msgs, gas=2_000_000)
        for i in (7, 8):
            client.execute(
                wallets[i], _worker_msgs(accounts[i].address, INFERA, U64_MAX, 0, 8), gas=2_000_000
            )
        for _ in range(JOBS // PER_TX):
            client.execute(wallets[9], _submit_msgs(accounts[9].address, PER_TX), gas=50_000_000)
        deadline = time.monotonic() + 300
        while True:
            jobs = list(client.jobs(submitter=accounts[9].address))
            if len(jobs) == JOBS and all(j.routes for j in jobs):
                break
            assert time.monotonic() < deadline, "jobs still waiting for routes"
            time.sleep(1)
    finally:
        client.close()
        node.stop()
    sybils = {accounts[7].address, accounts[8].address}
    routes = [route for job in jobs for route in job.routes]
    assert len(routes) == 3 * JOBS
    held = sum(1 for route in routes if any(h.worker in sybils for h in route.hops))
    assert held / len(routes) < 0.001, held
    assert {j.precision for j in jobs} == {"float32"}
