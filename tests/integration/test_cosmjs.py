"""The stock cosmjs client (npm @cosmjs/stargate 0.39) against a real node, over CometBFT RPC only.

cosmjs never speaks the app's gRPC port: it reads accounts and balances, and simulates for the
``"auto"`` fee, through ``abci_query`` (the node routes gRPC method paths there as the Cosmos
SDK does), and it broadcasts and finds txs through CometBFT RPC. The client is a small script
(``test_cosmjs_client.js``) run with node; ``make install`` puts cosmjs in the project cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.utils import prepare_and_broadcast_basic_transaction
from cosmpy.aerial.tx import Transaction
from cosmpy.aerial.wallet import LocalWallet
from google.protobuf.message import Message

from chain.client import Client
from infera.inference.v1 import types_pb2 as inference_types
from infera.workers.v1 import tx_pb2 as workers_tx
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    DevAccount,
    NodeProcess,
    free_port_base,
    infera,
    load_dev_accounts,
)
from tests.integration.test_cosmpy_messages import register_model_msg, register_worker_msg

COSMJS_VERSION = "0.39.0"  # keep in step with scripts/install.sh
CACHE = Path(os.environ.get("INFERA_CACHE", Path.home() / ".cache" / "infera"))
COSMJS_DIR = CACHE / f"cosmjs-{COSMJS_VERSION}"
SCRIPT = Path(__file__).with_name("test_cosmjs_client.js")
CHAIN_ID = "infera-cosmjs"
DENOM = "uinfera"
MAX_FEE = 1_000

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("node") is None or not (COSMJS_DIR / ".complete").is_file(),
        reason=f"node or cosmjs {COSMJS_VERSION} not installed (make install)",
    ),
]


@dataclass
class Net:
    rpc_url: str
    accounts: list[DevAccount]
    sdk: Client


def _execute(ledger: LedgerClient, wallet: LocalWallet, *msgs: Message) -> None:
    tx = Transaction()
    for msg in msgs:
        tx.add_message(msg)
    submitted = prepare_and_broadcast_basic_transaction(ledger, tx, wallet)
    response = submitted.wait_to_complete(timeout=30, poll_period=0.1).response
    assert response is not None and response.code == 0, response


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """One validator; model "m" (4 layers) registered by dev0 and served by dev1 and dev2."""
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("cosmjs") / "home"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", TIMEOUT_COMMIT, "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "6",
    )  # fmt: skip
    process = NodeProcess("solo", home, f"http://127.0.0.1:{base + 1}")
    process.start()
    try:
        process.wait_height(2)
        accounts = load_dev_accounts(home / "dev-accounts.json")
        config = NetworkConfig(
            chain_id=CHAIN_ID,
            url=f"grpc+http://127.0.0.1:{base + 3}",
            fee_minimum_gas_price=0.025,
            fee_denomination=DENOM,
            staking_denomination=DENOM,
        )
        ledger = LedgerClient(config, query_interval_secs=0.1)
        wallets = [LocalWallet.from_mnemonic(a.mnemonic, prefix="infera") for a in accounts]
        _execute(ledger, wallets[0], register_model_msg(accounts[0].address, "m", num_layers=4))
        for index, (name, start, end) in ((1, ("w1", 0, 2)), (2, ("w2", 2, 4))):
            operator = accounts[index].address
            _execute(ledger, wallets[index], register_worker_msg(operator, name))
            span = workers_tx.MsgServeSpan(operator=operator, model_id="m", start=start, end=end)
            _execute(ledger, wallets[index], span)
        with Client(f"127.0.0.1:{base + 3}") as sdk:
            yield Net(f"http://127.0.0.1:{base + 1}", accounts, sdk)
    finally:
        if process.process is not None:
            assert process.stop() == 0, "infera start did not exit cleanly on SIGTERM"


def run_cosmjs(net: Net) -> dict:
    request = {
        "rpc": net.rpc_url,
        "denom": DENOM,
        "gasPrice": "0.025",
        "mnemonics": [net.accounts[3].mnemonic, net.accounts[4].mnemonic],
        "recipient": net.accounts[5].address,
        "amount": 4321,
        "job": {
            "modelId": "m",
            "prompt": "hello, infera",
            "maxNewTokens": 8,
            "redundancy": 1,
            "maxFee": MAX_FEE,
            "deadlineBlocks": 40,
        },
    }
    env = dict(os.environ, NODE_PATH=str(COSMJS_DIR / "node_modules"))
    done = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    out = json.loads(done.stdout or "{}")
    assert done.returncode == 0 and "error" not in out, (out, done.stderr[-2000:])
    return out


@pytest.fixture(scope="module")
def cosmjs(net: Net) -> dict:
    return run_cosmjs(net)


def test_cosmjs_sends_with_auto_fee_and_reads_the_balance(net: Net, cosmjs: dict) -> None:
    assert cosmjs["chainId"] == CHAIN_ID
    send = cosmjs["send"]
    assert send["code"] == 0 and send["height"] > 0
    # "auto": gas = simulated gas x 1.4 (cosmjs' default multiplier), never below what was used
    assert 0 < send["gasUsed"] <= send["gasWanted"]
    assert int(cosmjs["recipientAfter"]) == int(cosmjs["recipientBefore"]) + 4321


def test_cosmjs_finds_its_tx(cosmjs: dict) -> None:
    found = cosmjs["getTx"]
    assert found is not None and found["code"] == 0
    assert (found["hash"], found["height"]) == (cosmjs["send"]["hash"], cosmjs["send"]["height"])


def test_cosmjs_signs_an_infera_submit_job_with_a_custom_registry(net: Net, cosmjs: dict) -> None:
    submitted = cosmjs["submitJob"]
    assert submitted["code"] == 0, submitted["rawLog"]
    assert submitted["msgResponseType"] == "/infera.inference.v1.MsgSubmitJobResponse"
    job = net.sdk.job(int(submitted["jobId"]))
    assert job is not None and job.submitter == net.accounts[4].address
    assert job.model_id == "m" and job.prompt == b"hello, infera"
    assert job.decoding.mode == inference_types.DECODING_MODE_GREEDY
    assert job.max_fee == str(MAX_FEE)
