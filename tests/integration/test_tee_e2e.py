"""TEE-required jobs on a real node (issue 17), with the test-only attestation type.

A test network's genesis (chain id "infera-tee-it") allows INSECURE_TEST. Three workers serve
the model; two attest through the CLI (``infera tx tee attest --type insecure-test``), the third
tries a report bound to another worker (refused: code 14), a wrong measurement (13) and an
expired epoch (15). The owner requires the test type (``infera tx tee require``); a job with two
routes goes to the two attested workers only and finalizes by their commit/reveal. Once the
attestations pass their epoch boundary they are no longer valid and no job can be routed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import chain.pb  # noqa: F401

import pytest

import chain.cli.main  # noqa: F401  (registers `infera tx tee` on the tx app CliNode runs)
from chain.cli.tx import get_account
from infera.inference.v1 import types_pb2 as J
from infera.tee.v1 import query_pb2 as tee_query
from infera.tee.v1 import tx_pb2 as tee_tx
from infera.tee.v1 import types_pb2 as T
from infera.workers.v1 import query_pb2 as workers_query
from modules.tee import logic
from modules.tee.verifiers import insecure
from tests.harness import build_tx
from tests.integration.conftest import (
    LocalNetwork,
    NodeProcess,
    init_solo_node,
    load_dev_accounts,
    tx_hash,
    wait_committed,
)
from tests.integration.test_cli_infera_tx import CliNode
from tests.integration.test_verdict_votes import FEE, GAS, Actor, _job, _send, _send_all, _wait
from tests.modules.jobs import OUTPUT, commit_msg, reveal_msg, submit_msg
from tests.modules.serving import register_model_msg, register_worker_msg, serve_msg

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAIN_ID = "infera-tee-it"  # "it" makes it a test network id (modules/tee/logic.py)
MEASUREMENT = "ab" * 48
EPOCH_BLOCKS = 60  # an attestation lives 60..120 blocks (12..24 s at 200 ms blocks)
STAKE = 1_000_000


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalNetwork, CliNode]]:
    root = tmp_path_factory.mktemp("tee")
    home, rpc, grpc = init_solo_node(root, CHAIN_ID, "200ms")
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["app_state"]["tee"] = {
        "params": {
            "allowed_types": ["TEE_TYPE_INTEL_TDX", "TEE_TYPE_INSECURE_TEST"],
            "allowed_intel_tcb_statuses": ["UpToDate"],
            "measurements": [MEASUREMENT],
            "epoch_blocks": str(EPOCH_BLOCKS),
            "validity_epochs": "2",
            "gas_intel": "400000", "gas_snp": "3000000", "gas_nvidia": "1200000",
            "gas_insecure_test": "10000", "gas_per_byte": "10",
            "max_report_bytes": 16384, "max_collateral_bytes": 65536,
            "max_cert_chain_bytes": 16384,
            "test_network": True,
        }
    }  # fmt: skip
    path.write_text(json.dumps(genesis, indent=2))
    process = NodeProcess("solo", home, rpc)
    process.start()
    network = LocalNetwork(root, CHAIN_ID, [process], load_dev_accounts(home / "dev-accounts.json"))
    try:
        process.wait_height(2)
        yield network, CliNode(home, grpc, [a.address for a in network.accounts])
    finally:
        network.close()


def _broadcast(net: LocalNetwork, actor: Actor, msg) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """(codespace, code) of a tx refused or accepted (CheckTx runs the same tee checks)."""
    rpc = net.nodes[0].rpc
    state = get_account(rpc, actor.bech32)
    raw = build_tx([msg], [actor], sequences=[state.sequence],
                   account_numbers=[state.account_number], chain_id=CHAIN_ID, fee=FEE, gas=GAS)  # fmt: skip
    result = rpc.broadcast_tx_sync(raw)
    if int(result["code"]) != 0:
        return result.get("codespace", ""), int(result["code"])
    done = wait_committed(rpc, [tx_hash(raw)])[tx_hash(raw)]["tx_result"]
    return done.get("codespace", ""), int(done.get("code", 0))


def _attestation(net: LocalNetwork, actor: Actor) -> tee_query.QueryAttestationResponse:
    return net.nodes[0].rpc.query(
        "/infera.tee.v1.Query/Attestation",
        tee_query.QueryAttestationRequest(operator=actor.bech32),
        tee_query.QueryAttestationResponse,
    )


def _report(
    net: LocalNetwork, bound_to: Actor, *, epoch: int, measurement: str = MEASUREMENT
) -> bytes:
    """A test report whose report_data binds ``bound_to``'s worker (its key as registered)."""
    worker = (
        net.nodes[0]
        .rpc.query(
            "/infera.workers.v1.Query/Worker",
            workers_query.QueryWorkerRequest(operator=bound_to.bech32),
            workers_query.QueryWorkerResponse,
        )
        .worker
    )
    key = bytes(worker.encryption_pubkey)
    digest = logic.compute_report_data(CHAIN_ID, epoch, key, bound_to.address)
    return insecure.build_report(
        bytes.fromhex(measurement), logic.compute_report_data_field(digest, 64)
    )


def _test_attest(actor: Actor, report: bytes, epoch: int) -> tee_tx.MsgAttest:
    return tee_tx.MsgAttest(
        operator=actor.bech32, tee_type=T.TEE_TYPE_INSECURE_TEST, report=report, epoch=epoch
    )


def test_tee_required_job_routes_only_to_attested_workers_and_finalizes(net) -> None:  # type: ignore[no-untyped-def]
    network, cli = net
    actors = [Actor(a.name, a.private, a.public) for a in network.accounts]
    owner, workers, submitter = actors[0], actors[1:4], actors[7]
    _send(network, owner, register_model_msg(owner))
    _send_all(network, [(w, (register_worker_msg(w, stake=STAKE), serve_msg(w, 0, 8)))
                        for w in workers])  # fmt: skip

    # two workers attest with the CLI; the chain verifies at block time and stores the verdict
    for index in (1, 2):
        done = cli.ok("tee", "attest", "--type", "insecure-test", "--measurement", MEASUREMENT,
                      "--from", f"dev{index}")  # fmt: skip
        assert int(done["expires_height"]) > done["height"]
    first = _attestation(network, workers[0])
    assert first.valid and first.attestation.verifier == "insecure-test"
    assert first.attestation.measurement.hex() == MEASUREMENT

    # the third worker's attempts: another worker's report, a wrong measurement, an old epoch
    height = network.nodes[0].height()
    epoch = (height + 1) // EPOCH_BLOCKS
    third = workers[2]
    stolen = _test_attest(third, _report(network, workers[0], epoch=epoch), epoch)
    assert _broadcast(network, third, stolen) == ("tee", 14)  # mis-bound: another worker's
    wrong = _test_attest(third, _report(network, third, epoch=epoch, measurement="cd" * 48), epoch)
    assert _broadcast(network, third, wrong) == ("tee", 13)
    future = _test_attest(third, _report(network, third, epoch=epoch + 5), epoch + 5)
    assert _broadcast(network, third, future) == ("tee", 15)

    # the owner requires the test type; a two-route job goes to the attested workers only
    cli.ok("tee", "require", "m", "--type", "insecure-test", "--from", "dev0")
    _send(network, submitter, submit_msg(submitter, redundancy=2, deadline_blocks=60))
    job = _wait(lambda: (j := _job(network)).routes and j, "assignment")
    hops = {h.worker for route in job.routes for h in route.hops}
    assert hops == {workers[0].bech32, workers[1].bech32}
    _send_all(network, [(w, (commit_msg(w, 1),)) for w in workers[:2]])
    _wait(lambda: network.nodes[0].height() > _job(network).commit_end_height, "commit end", 120)
    _send_all(network, [(w, (reveal_msg(w, 1, tokens=OUTPUT),)) for w in workers[:2]])
    _wait(lambda: _job(network).state == J.JOB_STATE_FINALIZED, "finalization", 120)

    # past the epoch boundary the attestations are expired: no route for a new job
    expires = _attestation(network, workers[0]).attestation.expires_height
    network.nodes[0].wait_height(expires, timeout=120)
    assert not _attestation(network, workers[0]).valid
    late = submit_msg(submitter, redundancy=1, deadline_blocks=60)
    assert _broadcast(network, submitter, late) == ("sharding", 5)
    # and an attestation bound to an epoch whose validity (2 epochs) is over is refused
    old = (network.nodes[0].height() + 1) // EPOCH_BLOCKS - 2
    assert old >= 0
    assert _broadcast(
        network, third, _test_attest(third, _report(network, third, epoch=old), old)
    ) == ("tee", 15)


def test_the_node_reports_tee_params(net) -> None:  # type: ignore[no-untyped-def]
    network, _ = net
    answer = network.nodes[0].rpc.query(
        "/infera.tee.v1.Query/Params", tee_query.QueryParamsRequest(), tee_query.QueryParamsResponse
    )
    assert answer.params.test_network and T.TEE_TYPE_INSECURE_TEST in answer.params.allowed_types
