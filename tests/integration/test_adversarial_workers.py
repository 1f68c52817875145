"""Adversarial workers on a real chain: a single-validator CometBFT network with the validator's
verifier sidecar (`infera verifier run`, default dtypes) and four real `infera worker run`
processes serving a tiny seeded Llama in bfloat16 on two routes of two hops. One worker is
turned into an adversary through its worker.toml ([adversary], with INFERA_UNSAFE_ADVERSARY=1)
and restarted:

* compute cheat (a skipped layer): the routes' outputs disagree, the job is disputed, the
  sidecar loads its bf16 copy of the model on demand and its verdict reaches the chain in the
  validator's vote extension, the cheating hop loses exactly `slash_fraction_cheat` of its
  stake, nobody else loses stake and the honest route is paid;
* never_reveal: the worker commits and never reveals; its route is incomplete, the other route
  is verified alone and paid, and the withholding worker forfeits like a caught cheat
  (`slash_fraction_withhold`, 0.2).

Everything is asserted on chain state queried through the node. The compute test prints how
many blocks and seconds the dispute took from opening to resolution.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import chain.pb  # noqa: F401

import pytest

from chain.client import Client
from chain.testnet import node_env
from infera.inference.v1 import types_pb2 as inference_types
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    DevAccount,
    NodeProcess,
    init_solo_node,
    load_dev_accounts,
)
from tests.integration.test_e2e_inference import (
    WorkerProcess,
    register_model,
    write_worker_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

pytest.importorskip("torch")

CHAIN_ID = "infera-e2e"  # the e2e helpers' chain id (register_model signs for it)
MODEL_ID = "tiny-llama"
SPANS = [(0, 2), (2, 5)]  # of the tiny 5-layer Llama; each served by two workers
PROMPT = b"Adversaries welcome"
MAX_NEW_TOKENS = 16
STAKE = 2_000_000  # twice the minimum: a slashed worker stays routable for the next test
COMMIT_WINDOW = 60  # blocks (~0.25 s each on an idle host)
REVEAL_WINDOW = 20
DEADLINE = COMMIT_WINDOW + REVEAL_WINDOW + 80  # room for the dispute to be decided
SLASH_CHEAT = (1, 5)  # slash_fraction_cheat 0.2, as a fraction
SLASH_WITHHOLD = (1, 5)  # slash_fraction_withhold 0.2: committed, then withheld
SKIP_LAYER = 'compute = { mode = "skip_layer" }'  # its span's last layer; changes the output
NEVER_REVEAL = 'protocol = { mode = "never_reveal" }'
FINAL = {inference_types.JOB_STATE_FINALIZED, inference_types.JOB_STATE_EXPIRED}


@dataclass
class Network:
    node: NodeProcess
    client: Client
    workers: list[WorkerProcess]  # w0, w1 serve SPANS[0]; w2, w3 serve SPANS[1]
    submitter: DevAccount
    sidecar_log: Path

    def stake(self, worker: WorkerProcess) -> int:
        return int(self.client.worker_stats(worker.account.address).stake)

    def stakes(self) -> dict[str, int]:
        return {w.account.address: self.stake(w) for w in self.workers}


def _patch_genesis(home: Path) -> None:
    """Short windows; no audits (only disputes here); the default slash fractions."""
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["app_state"]["agreement"] = {
        "params": {
            "commit_window_blocks": COMMIT_WINDOW,
            "reveal_window_blocks": REVEAL_WINDOW,
            "audit_probability": "0",
            "slash_fraction_cheat": "0.2",
            "slash_fraction_absent": "0.001",
            "slash_fraction_withhold": "0.2",
        }
    }
    path.write_text(json.dumps(genesis, indent=2))


def _start_sidecar(home: Path, rpc: str, model_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """The validator's verifier sidecar, writing verdicts into the node's inbox."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "chain.cli.main", "verifier", "run", "--model-id", MODEL_ID,
             "--model-dir", str(model_dir), "--home", str(home), "--node", rpc,
             "--interval", "0.5"],
            stdout=out, stderr=subprocess.STDOUT, env={**node_env(), "OMP_NUM_THREADS": "1"},
            start_new_session=True,
        )  # fmt: skip


def _wait_for(predicate, what: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    from inference_worker.models import make_tiny_model

    root = tmp_path_factory.mktemp("adversary")
    home, rpc, grpc_address = init_solo_node(root, CHAIN_ID, TIMEOUT_COMMIT)
    _patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    model_dir = make_tiny_model("llama", root / "model", seed=1234)
    workers = []
    for i, span in enumerate([SPANS[0], SPANS[0], SPANS[1], SPANS[1]]):
        worker = write_worker_config(root, f"w{i}", accounts[1 + i], span, rpc, grpc_address)
        text = worker.config.read_text().replace("stake = 1000000", f"stake = {STAKE}")
        worker.config.write_text(text.replace("threads = 1\n", 'threads = 1\ndtype = "bfloat16"\n'))
        workers.append(worker)
    client = Client(grpc_address, chain_id=CHAIN_ID)
    sidecar_log = root / "sidecar.log"
    sidecar = None
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INFERA_UNSAFE_ADVERSARY", "1")  # inherited by the workers (test-only switch)
        node.start()
        try:
            node.wait_height(2)
            register_model(client, Client.wallet(accounts[0].mnemonic), model_dir)
            sidecar = _start_sidecar(home, rpc, model_dir, sidecar_log)
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.wait_log(r"watching job assignments", timeout=240)
            _wait_for(lambda: b"verifying" in sidecar_log.read_bytes(), "the sidecar")
            yield Network(node, client, workers, accounts[7], sidecar_log)
        finally:
            for worker in workers:
                worker.stop()
            if sidecar is not None:
                sidecar.terminate()
                sidecar.wait(timeout=30)
            client.close()
            if node.process is not None:
                node.stop()


def make_adversary(network: Network, index: int, table: str) -> WorkerProcess:
    """Restart worker `index` with `table` as its [adversary] (every other worker honest) and
    wait until every worker is routable again."""
    for i, worker in enumerate(network.workers):
        honest = worker.config.read_text().split("\n[adversary]\n")[0]
        wanted = honest + (f"\n[adversary]\n{table}\n" if i == index else "")
        if worker.config.read_text() != wanted:
            worker.stop()
            worker.config.write_text(wanted)
            offset = len(worker.text())
            worker.start()
            worker.wait_log(r"watching job assignments", timeout=240, after=offset)
    for worker in network.workers:
        _wait_for(
            lambda w=worker: network.client.worker_stats(w.account.address).active,
            f"{worker.name} to be routable",
        )
    return network.workers[index]


def submit_job(network: Network) -> int:
    wallet = Client.wallet(network.submitter.mnemonic)
    result = network.client.submit_job(
        wallet, model_id=MODEL_ID, prompt=PROMPT, max_new_tokens=MAX_NEW_TOKENS, redundancy=2,
        max_fee=10 * (MAX_NEW_TOKENS + 20) * 2, deadline_blocks=DEADLINE,
        decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
    )  # fmt: skip
    job_id = result.attribute("infera.job_submitted", "job_id")
    assert job_id is not None, result.events
    return int(job_id)


def hop_of(job: inference_types.Job, worker: WorkerProcess) -> tuple[int, int]:
    for r, route in enumerate(job.routes):
        for h, hop in enumerate(route.hops):
            if hop.worker == worker.account.address:
                return r, h
    raise AssertionError(f"{worker.name} is on no route of job {job.id}")


def sidecar_events(network: Network) -> list[dict]:
    lines = network.sidecar_log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def block_time(network: Network, height: int) -> datetime:
    header = network.node.rpc.call("block", height=str(height))["block"]["header"]
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", header["time"]).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp)


def test_a_cheating_bf16_hop_is_slashed_by_the_validators_verdict_and_the_honest_route_is_paid(
    network,
):
    cheat = make_adversary(network, 1, SKIP_LAYER)
    before = network.stakes()
    job_id = submit_job(network)
    job = _wait_for(
        lambda: (j := network.client.job(job_id)) is not None and j.state in FINAL and j,
        "the job to end",
        timeout=400,
    )
    history = network.client.job_history(job_id)
    assert history.dispute.job_id == job_id, "the routes agreed: the cheat changed nothing"
    assert job.state == inference_types.JOB_STATE_FINALIZED, job.reason
    cheat_route, cheat_hop = hop_of(job, cheat)
    honest_route = 1 - cheat_route
    # the validator's verdict, carried by its vote extension, decided the dispute
    loaded = [e["dtype"] for e in sidecar_events(network) if e["event"] == "reference loaded"]
    assert loaded == ["torch.bfloat16"]  # on demand, for this job's hops
    assert history.dispute.resolved
    [vote] = history.votes
    assert [(c.route_index, c.hop_index) for c in vote.culprits] == [(cheat_route, cheat_hop)]
    honest_output = history.dispute.claims[honest_route].output_hash
    assert history.dispute.winning_output_hash == honest_output == job.output_hash
    # the culprit lost exactly the cheat fraction; every other worker's stake is untouched
    after = network.stakes()
    slash = before[cheat.account.address] * SLASH_CHEAT[0] // SLASH_CHEAT[1]
    assert after[cheat.account.address] == before[cheat.account.address] - slash
    assert {a: s for a, s in after.items() if a != cheat.account.address} == {
        a: s for a, s in before.items() if a != cheat.account.address
    }
    # the honest route's hops were paid, nobody on the cheating route was
    paid = {p.recipient: int(p.amount) for p in history.settlement.payouts if p.layers}
    honest_workers = {h.worker for h in job.routes[honest_route].hops}
    assert set(paid) == honest_workers and all(amount > 0 for amount in paid.values())
    opened, resolved = history.dispute.opened_height, history.dispute.resolved_height
    seconds = (block_time(network, resolved) - block_time(network, opened)).total_seconds()
    print(
        f"dispute opened at {opened}, resolved at {resolved}: {resolved - opened} blocks, "
        f"{seconds:.1f} s of block time"
    )
    assert 0 < resolved - opened <= 20


def test_a_worker_that_commits_and_never_reveals_forfeits_like_a_caught_cheat(network):
    absent = make_adversary(network, 2, NEVER_REVEAL)
    before = network.stakes()
    job_id = submit_job(network)
    job = _wait_for(
        lambda: (j := network.client.job(job_id)) is not None and j.state in FINAL and j,
        "the job to be settled",
        timeout=400,
    )
    history = network.client.job_history(job_id)
    route, hop = hop_of(job, absent)
    assert any((c.route_index, c.hop_index) == (route, hop) for c in history.commitments)
    assert not any((r.route_index, r.hop_index) == (route, hop) for r in history.reveals)
    # one complete route of the two required: the validators check it alone (the sidecar's
    # verdict passes it), so the submitter gets its output and only that route is paid
    assert job.state == inference_types.JOB_STATE_FINALIZED
    complete_route = 1 - route
    assert history.dispute.resolved
    complete_output = history.dispute.claims[complete_route].output_hash
    assert history.dispute.winning_output_hash == complete_output == job.output_hash
    paid = {p.recipient: int(p.amount) for p in history.settlement.payouts if p.layers}
    assert set(paid) == {h.worker for h in job.routes[complete_route].hops}
    [penalty] = history.settlement.penalties
    assert (penalty.worker, penalty.reason) == (absent.account.address, "no_reveal")
    after = network.stakes()
    slash = before[absent.account.address] * SLASH_WITHHOLD[0] // SLASH_WITHHOLD[1]
    assert int(penalty.slashed) == slash > 0
    assert after[absent.account.address] == before[absent.account.address] - slash
    assert {a: s for a, s in after.items() if a != absent.account.address} == {
        a: s for a, s in before.items() if a != absent.account.address
    }
    assert re.search(rf"ADVERSARY: job {job_id}: adversary never_reveal", absent.text())
