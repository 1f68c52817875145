"""On the wired app: a model owner's TEE requirement takes the model's unattested workers out of
route selection (here none is attested, so a sealed job cannot be routed; a public one is
refused outright, tee 23), and removing it restores them."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import sealing
from infera.inference.v1 import types_pb2 as J
from infera.tee.v1 import query_pb2, tx_pb2
from infera.tee.v1 import types_pb2 as T
from tests.modules.jobs import make_job_chain, submit_msg
from tests.modules.serving import FEE, GAS


def _requirement(owner, types) -> tx_pb2.MsgSetModelRequirement:  # type: ignore[no-untyped-def]
    return tx_pb2.MsgSetModelRequirement(owner=owner.bech32, model_id="m", tee_types=types)


def test_requirement_on_the_app_keeps_unattested_workers_off_routes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chain_ = make_job_chain(
        tmp_path, inference={"seal_window_blocks": 4, "max_deadline_blocks": 60}
    )
    owner, submitter = chain_.keys[0], chain_.keys[8]
    res = chain_.block(
        [chain_.tx(owner, _requirement(owner, [T.TEE_TYPE_INTEL_TDX]), gas=GAS, fee=FEE)]
    )
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    answer = chain_.query(
        "/infera.tee.v1.Query/ModelRequirement",
        query_pb2.QueryModelRequirementRequest(model_id="m"),
    )
    assert list(
        query_pb2.QueryModelRequirementResponse.FromString(answer.value).requirement.tee_types
    ) == [1]
    secrets = sealing.JobSecrets(b"\x07" * 32)
    sealed = submit_msg(
        submitter,
        redundancy=1,
        prompt=b"",
        privacy=J.PRIVACY_MODE_SEALED,
        prompt_commitment=secrets.prompt_commitment(b"secret"),
        sealed_prompt_bytes=16,
        reply_pubkey=secrets.reply_pubkey,
        deadline_blocks=30,
    )
    blocked = chain_.block([chain_.tx(submitter, sealed, gas=GAS, fee=FEE)])
    # MsgSubmitJob checks coverage up front: no attested worker, no route (sharding code 5)
    assert (blocked.tx_results[0].codespace, blocked.tx_results[0].code) == ("sharding", 5)
    public = chain_.block(
        [chain_.tx(submitter, submit_msg(submitter, redundancy=1), gas=GAS, fee=FEE)]
    )
    assert (public.tx_results[0].codespace, public.tx_results[0].code) == ("tee", 23)
    res = chain_.block([chain_.tx(owner, _requirement(owner, []), gas=GAS, fee=FEE)])
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    routed = chain_.block(
        [chain_.tx(submitter, submit_msg(submitter, redundancy=1), gas=GAS, fee=FEE)]
    )
    assert routed.tx_results[0].code == 0, routed.tx_results[0].log
