"""TEE-required jobs on a real node (issue 17), with the test-only attestation type.

A test network's genesis (chain id "infera-tee-it") allows INSECURE_TEST. Three workers serve
the model; two attest through the CLI (``infera tx tee attest --type insecure-test``), the third
tries a report bound to another worker (refused: code 14), a wrong measurement (13) and an
expired epoch (15). The Worker query (gRPC and ``infera query workers worker``) shows each
attestation. The owner requires the test type (``infera tx tee require``): a public job is
refused (tee 23); a sealed job with two routes goes to the two attested workers only, is sealed
to their attested keys (MsgSealPrompt re-checks them) and finalizes by their commit/reveal of
keyed output hashes. Once the attestations pass their epoch boundary they are no longer valid
and no job can be routed. The workers here are accounts sending the workers' messages, not
worker processes (tests/integration/test_sealed_job.py runs real ones on a model without a
requirement)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import chain.pb  # noqa: F401

import pytest
from typer.testing import CliRunner

import chain.cli.main  # noqa: F401  (registers `infera tx tee` on the tx app CliNode runs)
from chain import sealing
from chain.cli import query as query_cli
from chain.cli.tx import get_account
from infera.inference.v1 import tx_pb2 as inference_tx
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
from tests.modules.inference.test_sealed_jobs import sealed_commit, sealed_fingerprint
from tests.modules.jobs import OUTPUT, reveal_msg, submit_msg
from tests.modules.serving import register_model_msg, register_worker_msg, serve_msg

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAIN_ID = "infera-tee-it"  # "it" makes it a test network id (modules/tee/logic.py)
MEASUREMENT = "ab" * 48
EPOCH_BLOCKS = 60  # an attestation lives 60..120 blocks (12..24 s at 200 ms blocks)
STAKE = 1_000_000
PROMPT = b"a prompt only the attested workers see"
ROOM = 64  # padded prompt room in bytes


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
    """(codespace, code) of a tx: refused at CheckTx (the ante checks only), or its result in
    a block (where MsgAttest is verified)."""
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


def _worker(net: LocalNetwork, actor: Actor) -> workers_query.QueryWorkerResponse:
    return net.nodes[0].rpc.query(
        "/infera.workers.v1.Query/Worker",
        workers_query.QueryWorkerRequest(operator=actor.bech32),
        workers_query.QueryWorkerResponse,
    )


def _sealed_submit(submitter: Actor, secrets: sealing.JobSecrets, redundancy: int = 2):  # type: ignore[no-untyped-def]
    return submit_msg(
        submitter,
        redundancy=redundancy,
        deadline_blocks=80,  # seal 10 + commit 30 + reveal 10 blocks, with room
        prompt=b"",
        privacy=J.PRIVACY_MODE_SEALED,
        prompt_commitment=secrets.prompt_commitment(PROMPT),
        sealed_prompt_bytes=ROOM,
        reply_pubkey=secrets.reply_pubkey,
    )


def _seal(net: LocalNetwork, job: J.Job, secrets: sealing.JobSecrets) -> inference_tx.MsgSealPrompt:
    """Boxes for each hop, sealed to the key its worker registers (the one it attested)."""
    routes = []
    for r, route in enumerate(job.routes):
        boxes = []
        for h, hop in enumerate(route.hops):
            key = bytes(_worker(net, _Named(hop.worker)).worker.encryption_pubkey)
            if h == 0:
                payload = sealing.encode_prompt_payload(secrets.output_key, PROMPT, ROOM)
                place = sealing.Place(CHAIN_ID, job.id, r, h, sealing.PURPOSE_PROMPT)
            else:
                payload = sealing.encode_key_payload(secrets.output_key)
                place = sealing.Place(CHAIN_ID, job.id, r, h, sealing.PURPOSE_KEY)
            boxes.append(sealing.seal_for_hop(secrets, key, payload, place))
        routes.append(J.SealedRoute(boxes=boxes))
    return inference_tx.MsgSealPrompt(submitter=job.submitter, job_id=job.id, routes=routes)


def _sealed_reveal(worker: Actor, secrets: sealing.JobSecrets, route: int):  # type: ignore[no-untyped-def]
    """A one-hop route's reveal of a sealed job: the keyed hash, the output sealed to the
    submitter."""
    place = sealing.Place(CHAIN_ID, 1, route, 0, sealing.PURPOSE_OUTPUT)
    return reveal_msg(
        worker,
        1,
        output_tokens=[],
        keyed_output_hash=sealing.compute_keyed_output_hash(secrets.output_key, OUTPUT),
        output_token_count=len(OUTPUT),
        sealed_output=sealing.seal(
            secrets.reply_pubkey, sealing.encode_output_payload(OUTPUT), place
        ),
        shard_fingerprint=sealed_fingerprint(worker, 1, secrets),
    )


class _Named:
    """An address in the shape ``_worker`` reads."""

    def __init__(self, bech32: str) -> None:
        self.bech32 = bech32


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

    # the Worker query shows the attestation, over gRPC and in `infera query workers worker`
    shown = _worker(network, workers[0]).attestation
    assert shown.tee_type == "TEE_TYPE_INSECURE_TEST" and shown.valid and shown.binds_current_key
    assert shown.expires_height == first.attestation.expires_height
    assert not _worker(network, third).HasField("attestation")
    printed = CliRunner().invoke(query_cli.app, ["workers", "worker", workers[1].bech32,
                                                 "--node", network.nodes[0].rpc_url, "-o", "json"])  # fmt: skip
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["attestation"]["valid"] is True

    # the owner requires the test type: a public job is refused, a sealed one goes to the
    # attested workers only and is sealed to the keys their attestations bind
    cli.ok("tee", "require", "m", "--type", "insecure-test", "--from", "dev0")
    public = submit_msg(submitter, redundancy=2, deadline_blocks=80)
    assert _broadcast(network, submitter, public) == ("tee", 23)
    secrets = sealing.JobSecrets(os.urandom(32))
    _send(network, submitter, _sealed_submit(submitter, secrets))
    job = _wait(lambda: (j := _job(network)).routes and j, "assignment")
    hops = {h.worker for route in job.routes for h in route.hops}
    assert hops == {workers[0].bech32, workers[1].bech32}
    _send(network, submitter, _seal(network, job, secrets))
    sealed = _wait(lambda: (j := _job(network)).sealed.sealed_height and j, "seal")
    by_address = {w.bech32: w for w in workers}
    route_of = {h.worker: r for r, route in enumerate(job.routes) for h in route.hops}
    _send_all(network, [(w, (sealed_commit(w, 1, secrets),)) for w in workers[:2]])
    _wait(lambda: network.nodes[0].height() > sealed.commit_end_height, "commit end", 120)
    _send_all(network, [(by_address[a], (_sealed_reveal(by_address[a], secrets, route_of[a]),))
                        for a in sorted(hops)])  # fmt: skip
    _wait(lambda: _job(network).state == J.JOB_STATE_FINALIZED, "finalization", 120)

    # past the epoch boundary the attestations are expired: no route for a new job
    expires = _attestation(network, workers[0]).attestation.expires_height
    # CometBFT reports a height once the block is stored, before the app commits it: one more
    # block makes sure the app's latest state is at or past the boundary
    network.nodes[0].wait_height(expires + 1, timeout=120)
    assert not _attestation(network, workers[0]).valid
    late = _sealed_submit(submitter, sealing.JobSecrets(os.urandom(32)), redundancy=1)
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
