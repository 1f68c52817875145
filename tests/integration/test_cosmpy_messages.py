"""Every Infera message, signed and broadcast by cosmpy alone, against one real node.

Signing and broadcasting use only cosmpy's public API: ``LocalWallet.from_mnemonic``,
``LedgerClient`` with a ``NetworkConfig`` for Infera, ``Transaction.add_message``,
``prepare_and_broadcast_basic_transaction`` (gas from Simulate) and
``SubmittedTx.wait_to_complete``. Each message must execute (code 0) and its effect must show in
a query (read with the SDK's typed queries). MsgCreateValidator is covered in test_cosmpy.py.

Accounts: dev0 owns the models, dev1 and dev2 are the workers of model "m" (layers [0, 2) and
[2, 4): the only route), dev3 runs a worker through its whole lifecycle on its own model, dev4
submits jobs. The agreement windows are the defaults (5 blocks each), so each round's
transactions are broadcast together and awaited afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import chain.pb  # noqa: F401

import pytest
from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.utils import prepare_and_broadcast_basic_transaction
from cosmpy.aerial.tx import Transaction
from cosmpy.aerial.tx_helpers import SubmittedTx, TxResponse
from cosmpy.aerial.wallet import LocalWallet
from google.protobuf.message import Message

from chain import crypto
from chain.client import Client
from infera.agreement.v1 import tx_pb2 as agreement_tx
from infera.base.v1 import coin_pb2
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import tx_pb2 as models_tx
from infera.workers.v1 import tx_pb2 as workers_tx
from infera.workers.v1 import types_pb2 as workers_types
from modules.agreement.logic import compute_commitment, compute_output_hash
from modules.models.logic import compute_merkle_root
from tests.integration.conftest import NodeProcess, free_port_base, infera, load_dev_accounts

pytestmark = pytest.mark.integration

CHAIN_ID = "infera-cosmpy-msgs"
DENOM = "uinfera"
TIMEOUT_COMMIT = "300ms"  # blocks of ~0.3-0.5 s: the 5-block windows last about 2 s
POLL = 0.1  # seconds between GetTx polls
STAKE = 2_000_000  # above the default min_stake (1 000 000)
BYTES_PER_LAYER = 1_000
PRICE = "1"  # uinfera per token
PROMPT = b"hello, infera"  # 13 bytes: priced as 4 tokens
OUTPUT = [11, 12, 13, 14]  # what both hops "generated"
MAX_FEE = 1_000


@dataclass
class Net:
    """The node, a cosmpy client and wallets dev0..dev4, and the SDK for queries."""

    ledger: LedgerClient
    wallets: list[LocalWallet]
    sdk: Client

    def address(self, index: int) -> str:
        return str(self.wallets[index].address())


def broadcast(net: Net, signer: int, *msgs: Message) -> SubmittedTx:
    """One tx of ``msgs`` signed by wallet ``signer``; gas and fee from cosmpy's simulation."""
    tx = Transaction()
    for msg in msgs:
        tx.add_message(msg)
    return prepare_and_broadcast_basic_transaction(net.ledger, tx, net.wallets[signer])


def completed(*submitted: SubmittedTx) -> list[TxResponse]:
    """Wait for every tx; each must have executed with code 0."""
    responses = []
    for tx in submitted:
        response = tx.wait_to_complete(timeout=30, poll_period=POLL).response
        assert response is not None and response.code == 0, response
        responses.append(response)
    return responses


def execute(net: Net, signer: int, *msgs: Message) -> TxResponse:
    return completed(broadcast(net, signer, *msgs))[0]


# -- message builders ------------------------------------------------------------------------------


def register_model_msg(owner: str, model_id: str, num_layers: int) -> models_tx.MsgRegisterModel:
    leaves = [hashlib.sha256(f"{model_id}/{i}".encode()).digest() for i in range(num_layers)]
    return models_tx.MsgRegisterModel(
        owner=owner,
        id=model_id,
        family="llama",
        num_layers=num_layers,
        layer_commitments=leaves,
        weights_root=compute_merkle_root(leaves),
        bytes_per_layer=BYTES_PER_LAYER,
        tokenizer_hash=hashlib.sha256(b"tokenizer").digest(),
        dtype="float32",
        price_per_token=PRICE,
        min_redundancy=1,
    )


def register_worker_msg(operator: str, name: str) -> workers_tx.MsgRegisterWorker:
    return workers_tx.MsgRegisterWorker(
        operator=operator,
        endpoint=f"{name}.workers.example:7000",
        hardware=workers_types.Hardware(device="cpu", memory_bytes=10**9, throughput=10),
        runtime=workers_types.Runtime(
            torch_version="2.5.1", transformers_version="4.46.0", dtype="float32"
        ),
        encryption_pubkey=hashlib.sha256(name.encode()).digest(),
        stake=coin_pb2.Coin(denom=DENOM, amount=str(STAKE)),
    )


def submit_job_msg(submitter: str, model_id: str = "m") -> inference_tx.MsgSubmitJob:
    return inference_tx.MsgSubmitJob(
        submitter=submitter,
        model_id=model_id,
        prompt=PROMPT,
        decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
        max_new_tokens=8,
        redundancy=1,
        max_fee=coin_pb2.Coin(denom=DENOM, amount=str(MAX_FEE)),
        deadline_blocks=40,
    )


def fingerprint(worker: str, job_id: int) -> bytes:
    return hashlib.sha256(f"fingerprint/{job_id}/{worker}".encode()).digest()


def salt(worker: str, job_id: int) -> bytes:
    return hashlib.sha256(f"salt/{job_id}/{worker}".encode()).digest()


def commit_msg(worker: str, job_id: int) -> agreement_tx.MsgCommitOutput:
    commitment = compute_commitment(
        compute_output_hash(OUTPUT, b""),
        fingerprint(worker, job_id),
        salt(worker, job_id),
        crypto.from_bech32(worker),
    )
    return agreement_tx.MsgCommitOutput(worker=worker, job_id=job_id, commitment=commitment)


def reveal_msg(worker: str, job_id: int) -> agreement_tx.MsgRevealOutput:
    return agreement_tx.MsgRevealOutput(
        worker=worker,
        job_id=job_id,
        output_tokens=OUTPUT,
        shard_fingerprint=fingerprint(worker, job_id),
        salt=salt(worker, job_id),
    )


# -- the node --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """One validator; model "m" (4 layers) registered by dev0 and served by dev1 and dev2."""
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("cosmpy-msgs") / "home"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", TIMEOUT_COMMIT, "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "5",
    )  # fmt: skip
    process = NodeProcess("solo", home, f"http://127.0.0.1:{base + 1}")
    process.start()
    try:
        process.wait_height(2)
        config = NetworkConfig(
            chain_id=CHAIN_ID,
            url=f"grpc+http://127.0.0.1:{base + 3}",
            fee_minimum_gas_price=0.025,
            fee_denomination=DENOM,
            staking_denomination=DENOM,
        )
        accounts = load_dev_accounts(home / "dev-accounts.json")
        wallets = [LocalWallet.from_mnemonic(a.mnemonic, prefix="infera") for a in accounts]
        with Client(f"127.0.0.1:{base + 3}") as sdk:
            net = Net(LedgerClient(config, query_interval_secs=POLL), wallets, sdk)
            _register_model_and_route_workers(net)
            yield net
    finally:
        if process.process is not None:
            assert process.stop() == 0, "infera start did not exit cleanly on SIGTERM"


def _register_model_and_route_workers(net: Net) -> None:
    completed(
        broadcast(net, 0, register_model_msg(net.address(0), "m", num_layers=4)),
        broadcast(net, 1, register_worker_msg(net.address(1), "w1")),
        broadcast(net, 2, register_worker_msg(net.address(2), "w2")),
    )
    completed(
        broadcast(net, 1, workers_tx.MsgServeSpan(operator=net.address(1), model_id="m", start=0, end=2)),
        broadcast(net, 2, workers_tx.MsgServeSpan(operator=net.address(2), model_id="m", start=2, end=4)),
    )  # fmt: skip


# -- models ----------------------------------------------------------------------------------------


def test_cosmpy_registers_a_model_and_workers_serve_it(net: Net) -> None:
    model = net.sdk.model("m")
    assert model is not None and model.owner == net.address(0) and model.num_layers == 4
    assert model.weights_root == compute_merkle_root(list(model.layer_commitments))
    for index, (start, end) in ((1, (0, 2)), (2, (2, 4))):
        worker = net.sdk.worker(net.address(index))
        assert worker is not None and worker.bonded == str(STAKE)
        assert [(s.model_id, s.start, s.end) for s in worker.spans] == [("m", start, end)]


def test_cosmpy_updates_then_retires_a_second_model(net: Net) -> None:
    owner = net.address(0)
    execute(net, 0, register_model_msg(owner, "m2", num_layers=2))
    execute(
        net, 0, models_tx.MsgUpdateModel(owner=owner, id="m2", price_per_token="2.50", min_redundancy=2)
    )  # fmt: skip
    updated = net.sdk.model("m2")
    assert (updated.price_per_token, updated.min_redundancy) == ("2.5", 2)
    assert not updated.retired

    response = execute(net, 0, models_tx.MsgRetireModel(owner=owner, id="m2"))
    retired = net.sdk.model("m2")
    assert retired.retired and retired.retired_height == response.height
    assert not net.sdk.model("m").retired


# -- workers ---------------------------------------------------------------------------------------


def test_cosmpy_runs_a_worker_from_registration_to_unbonding(net: Net) -> None:
    operator = net.address(3)
    execute(
        net, 3,
        register_model_msg(operator, "side", num_layers=2),
        register_worker_msg(operator, "w3"),
        workers_tx.MsgServeSpan(operator=operator, model_id="side", start=0, end=2),
    )  # fmt: skip
    worker = net.sdk.worker(operator)
    assert [(s.model_id, s.start, s.end) for s in worker.spans] == [("side", 0, 2)]

    execute(
        net, 3,
        workers_tx.MsgUpdateWorker(
            operator=operator, endpoint="w3-new.workers.example:7001",
            add_stake=coin_pb2.Coin(denom=DENOM, amount="500000"),
        ),
    )  # fmt: skip
    worker = net.sdk.worker(operator)
    assert worker.endpoint == "w3-new.workers.example:7001"
    assert worker.bonded == str(STAKE + 500_000)

    beat = execute(net, 3, workers_tx.MsgHeartbeat(operator=operator))
    worker = net.sdk.worker(operator)
    assert worker.last_heartbeat_height == beat.height > worker.registered_height

    stop = workers_tx.MsgStopServing(operator=operator, model_id="side", start=0, end=2)
    execute(net, 3, stop)
    assert list(net.sdk.worker(operator).spans) == []

    unbond = execute(net, 3, workers_tx.MsgUnbondWorker(operator=operator))
    worker = net.sdk.worker(operator)
    assert worker.status == workers_types.WORKER_STATUS_UNBONDING
    assert (worker.bonded, worker.unbonding) == ("0", str(STAKE + 500_000))
    assert worker.unbonding_completion_height > unbond.height
    assert unbond.events["unbond_worker"]["completion_height"] == str(
        worker.unbonding_completion_height
    )


# -- inference and agreement -----------------------------------------------------------------------


def _next_job_id(sdk: Client) -> int:
    return max((job.id for job in sdk.jobs()), default=0) + 1


def test_cosmpy_submits_and_cancels_a_job_before_assignment(net: Net) -> None:
    # A job is assigned in the end-block of the block that included it, so a cancel succeeds
    # only in that block: the same tx, right after the submit, with the id the chain will give.
    submitter = net.address(4)
    job_id = _next_job_id(net.sdk)
    cancel = inference_tx.MsgCancelJob(submitter=submitter, job_id=job_id)
    response = execute(net, 4, submit_job_msg(submitter), cancel)
    assert response.events["infera.job_submitted"]["job_id"] == str(job_id)
    assert response.events["infera.job_cancelled"]["refunded"] == str(MAX_FEE)
    job = net.sdk.job(job_id)
    assert job.state == inference_types.JOB_STATE_CANCELLED
    assert (job.escrow, job.refunded, len(job.routes)) == ("0", str(MAX_FEE), 0)


def test_cosmpy_commits_and_reveals_a_job_to_finalization(net: Net) -> None:
    submitted = execute(net, 4, submit_job_msg(net.address(4)))
    job_id = int(submitted.events["infera.job_submitted"]["job_id"])
    job = net.sdk.job(job_id)
    workers = [hop.worker for route in job.routes for hop in route.hops]
    assert job.state == inference_types.JOB_STATE_ASSIGNED
    assert workers == [net.address(1), net.address(2)]  # the only route that tiles "m"
    signer = {net.address(i): i for i in (1, 2)}
    before = {w: net.sdk.balance(w) for w in workers}

    # commit round: both hops together, well inside the window (10 + 2 blocks per token)
    completed(*(broadcast(net, signer[w], commit_msg(w, job_id)) for w in workers))
    job = net.sdk.job(job_id)
    assert job.state == inference_types.JOB_STATE_REVEALING  # every hop committed
    assert job.commit_end_height - job.assign_height == job.commit_window_blocks == 10 + 2 * 8

    # reveal round: the last reveal tallies the job at the end of its block
    completed(*(broadcast(net, signer[w], reveal_msg(w, job_id)) for w in workers))
    job = net.sdk.job(job_id)
    assert job.state == inference_types.JOB_STATE_FINALIZED
    assert job.output_hash == compute_output_hash(OUTPUT, b"")
    history = net.sdk.job_history(job_id)
    assert [c.worker for c in history.commitments] == workers
    assert [r.worker for r in history.reveals] == workers
    assert [list(o.tokens) for o in history.outputs] == [OUTPUT]
    paid = {p.recipient: int(p.amount) for p in history.settlement.payouts if p.layers}
    assert sorted(paid) == sorted(workers) and all(amount > 0 for amount in paid.values())
    assert all(net.sdk.balance(w) != before[w] for w in workers)  # tx fees paid, payout received
