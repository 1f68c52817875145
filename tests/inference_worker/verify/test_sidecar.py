"""The verifier sidecar turns a job's on-chain history into a verdict: honest outputs pass, the
hop that deviated is named, routes with missing reveals are left alone."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest
import torch

from infera.agreement.v1 import query_pb2 as agreement_query
from infera.inference.v1 import types_pb2 as inference_types
from inference_worker.pipeline.route import PromptTokenizer
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from inference_worker.verify.evidence import generate_claim, reveal_payload
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.sidecar import decide_verdict
from inference_worker.verify.verifier import ReferenceModel
from modules.agreement import logic

SPANS = ((0, 2), (2, 4), (4, 5))
PROMPT = b"verify me"
JOB_ID = 7


def _route(model_dir, attacks):
    return [
        load_adversarial_shard(model_dir, a, b, attacks.get(i, ComputeAttack()))
        for i, (a, b) in enumerate(SPANS)
    ]


def _history(routes_claims, missing=()):
    """A JobHistory as the chain would return it, from each route's claim."""
    job = inference_types.Job(id=JOB_ID, model_id="tiny", prompt=PROMPT, max_new_tokens=12,
                              state=inference_types.JOB_STATE_DISPUTED)  # fmt: skip
    job.decoding.mode = inference_types.DECODING_MODE_GREEDY
    history = agreement_query.QueryJobHistoryResponse()
    seen = set()
    for r, claim in enumerate(routes_claims):
        route = job.routes.add()
        output_hash = logic.compute_output_hash(list(claim.tokens), b"")
        for h, (start, end) in enumerate(SPANS):
            route.hops.add(worker=f"w{r}{h}", layer_start=start, layer_end=end)
            if (r, h) in missing:
                continue
            history.reveals.add(job_id=JOB_ID, route_index=r, hop_index=h, output_hash=output_hash,
                                shard_fingerprint=reveal_payload(claim, h))  # fmt: skip
        if output_hash not in seen:
            seen.add(output_hash)
            history.outputs.add(output_hash=output_hash, tokens=list(claim.tokens))
    history.job.CopyFrom(job)
    return history


@pytest.fixture(scope="module")
def setup(tiny_models):
    model_dir = tiny_models["llama"]
    reference = ReferenceModel.load(model_dir)
    tokenizer = PromptTokenizer(model_dir, reference.vocab_size)
    prompt_ids = tokenizer.encode(PROMPT)

    def claim(attacks):
        return generate_claim(_route(model_dir, attacks), prompt_ids, max_new_tokens=12,
                              probe_seed=derive_probe_seed(JOB_ID))  # fmt: skip

    return reference, tokenizer, claim


def test_honest_routes_pass_and_the_deviating_hop_is_named(setup):
    reference, tokenizer, claim = setup
    honest = claim({})
    cheat = claim({1: ComputeAttack(ComputeMode.NOISE, noise_std=0.5, seed=3)})
    verdict = decide_verdict(
        reference, tokenizer, _history([honest, cheat, honest]), lambda w: torch.float32
    )
    assert verdict.job_id == JOB_ID
    assert list(verdict.passing_output_hashes) == [
        logic.compute_output_hash(list(honest.tokens), b"")
    ]
    assert [(c.route_index, c.hop_index) for c in verdict.culprits] == [(1, 1)]
    # the one passing output is also the one this validator selects for delivery
    assert verdict.selected_output_hash == logic.compute_output_hash(list(honest.tokens), b"")


def test_a_skipped_layer_in_the_last_hop_is_caught(setup):
    reference, tokenizer, claim = setup
    verdict = decide_verdict(reference, tokenizer, _history([claim({}), claim({2: ComputeAttack(ComputeMode.SKIP_LAYER)})]),
                             lambda w: torch.float32)  # fmt: skip
    assert [(c.route_index, c.hop_index) for c in verdict.culprits] == [(1, 2)]


def test_routes_with_a_missing_reveal_are_not_judged(setup):
    reference, tokenizer, claim = setup
    honest = claim({})
    verdict = decide_verdict(
        reference, tokenizer, _history([honest, honest], missing={(1, 0)}), lambda w: torch.float32
    )
    assert len(verdict.passing_output_hashes) == 1 and not verdict.culprits


class NodeStub:
    """Answers the sidecar's queries from one job history; workers declare `dtype` now (which
    the sidecar must ignore: the job's recorded precision class decides)."""

    def __init__(self, history, dtype: str):
        self.history, self.dtype = history, dtype

    def query(self, path, request, response):
        from infera.agreement.v1 import query_pb2 as q
        from infera.workers.v1 import query_pb2 as wq

        if path.endswith("/OpenVerifications"):
            return q.QueryOpenVerificationsResponse(job_ids=[JOB_ID])
        if path.endswith("/JobHistory"):
            return self.history
        if path.endswith("/Model"):  # registered without calibrated tolerances: class defaults
            from infera.models.v1 import query_pb2 as mq

            return mq.QueryModelResponse()
        answer = wq.QueryWorkerResponse()
        answer.worker.operator = request.operator
        answer.worker.runtime.dtype = self.dtype
        return answer


class InboxStub:
    def __init__(self):
        self.verdicts = []

    def write(self, verdict):
        self.verdicts.append(verdict)


def _bf16_history(model_dir, tokenizer):
    def claim(attacks):
        shards = [load_adversarial_shard(model_dir, a, b, attacks.get(i, ComputeAttack()),
                                         dtype=torch.bfloat16) for i, (a, b) in enumerate(SPANS)]  # fmt: skip
        return generate_claim(shards, tokenizer.encode(PROMPT), max_new_tokens=12,
                              probe_seed=derive_probe_seed(JOB_ID))  # fmt: skip

    honest, cheat = claim({}), claim({1: ComputeAttack(ComputeMode.SKIP_LAYER)})
    history = _history([honest, cheat])
    history.job.precision = "bfloat16"  # the class recorded at assignment
    return history, honest


def test_bf16_hops_get_a_verdict_by_default_with_the_bf16_copy_loaded_on_demand(setup, tiny_models):
    from inference_worker.verify.sidecar import Sidecar

    _, tokenizer, _ = setup
    history, honest = _bf16_history(tiny_models["llama"], tokenizer)
    inbox = InboxStub()
    sidecar = Sidecar(rpc=NodeStub(history, "bfloat16"), model_id="tiny",
                      model_dir=tiny_models["llama"], inbox=inbox)  # type: ignore[arg-type]  # fmt: skip
    assert set(sidecar.reference.shards) == {torch.float32}  # nothing else until a job needs it
    [verdict] = sidecar.step()
    assert set(sidecar.reference.shards) == {torch.float32, torch.bfloat16}
    assert list(verdict.passing_output_hashes) == [
        logic.compute_output_hash(list(honest.tokens), b"")
    ]
    assert [(c.route_index, c.hop_index) for c in verdict.culprits] == [(1, 1)]
    assert inbox.verdicts == [verdict]


def test_a_sidecar_restricted_to_float32_judges_no_bf16_route(setup, tiny_models):
    from inference_worker.verify.sidecar import Sidecar

    _, tokenizer, _ = setup
    history, _ = _bf16_history(tiny_models["llama"], tokenizer)
    sidecar = Sidecar(rpc=NodeStub(history, "bfloat16"), model_id="tiny",
                      model_dir=tiny_models["llama"], inbox=InboxStub(),  # type: ignore[arg-type]
                      dtypes=(torch.float32,))  # fmt: skip
    [verdict] = sidecar.step()
    assert set(sidecar.reference.shards) == {torch.float32}  # bf16 never loaded
    assert not verdict.passing_output_hashes and not verdict.culprits  # abstains on both routes


@pytest.mark.parametrize("dtypes", ["float64", "", "float32,int8"])
def test_verifier_cli_refuses_unknown_dtypes(tiny_models, tmp_path, dtypes):
    from chain.cli.common import CLIError
    from chain.cli.verifier import run

    with pytest.raises(CLIError, match="--dtypes"):
        run(model_id="tiny", model_dir=tiny_models["llama"], home=tmp_path,
            node="http://127.0.0.1:1", interval=1.0, dtypes=dtypes)  # fmt: skip


def test_a_worker_changing_its_dtype_after_assignment_changes_nothing_about_the_verdict(
    setup, tiny_models
):
    from inference_worker.verify.sidecar import Sidecar

    _, tokenizer, _ = setup
    history, _ = _bf16_history(tiny_models["llama"], tokenizer)
    verdicts = []
    for declared_now in ("bfloat16", "float32"):  # the hops re-declared float32 after assignment
        sidecar = Sidecar(rpc=NodeStub(history, declared_now), model_id="tiny",
                          model_dir=tiny_models["llama"], inbox=InboxStub())  # type: ignore[arg-type]  # fmt: skip
        [verdict] = sidecar.step()
        assert torch.bfloat16 in sidecar.reference.shards  # recomputed in the job's class
        verdicts.append(verdict.SerializeToString(deterministic=True))
    assert verdicts[0] == verdicts[1]


def _sealed_history(claims, secrets, *, disclosed: bool):
    """A sealed job's history once disclosed: every output hash is the sealed hash, and the
    chain opened the outputs' tokens (modules/inference disclosure)."""
    from chain import sealing

    history = _history(claims)
    sealed = sealing.compute_sealed_output_hash(
        sealing.compute_keyed_output_hash(secrets.output_key, claims[0].tokens),
        len(claims[0].tokens),
    )
    for reveal in history.reveals:
        reveal.output_hash = sealed
    for output in history.outputs:
        output.output_hash = sealed
    history.job.privacy = inference_types.PRIVACY_MODE_SEALED
    if disclosed:
        history.job.sealed.disclosed_job_key = secrets.job_key
    return history, sealed


def test_a_disclosed_sealed_job_is_verified_on_its_sealed_late_probes(setup, tiny_models):
    """Issue 16: a sealed job's hops fingerprint with the late seed of the sealed hash; the
    disclosed key lets the sidecar derive it (`disclosed_output_key`) and pass the route.
    Deriving it from the plain hash instead (no key) finds every hop far off."""
    import hashlib

    from chain import sealing

    reference, tokenizer, _ = setup
    secrets = sealing.JobSecrets(hashlib.sha256(b"sidecar job key").digest())
    honest = generate_claim(_route(tiny_models["llama"], {}), tokenizer.encode(PROMPT),
                            max_new_tokens=12, probe_seed=derive_probe_seed(JOB_ID),
                            output_key=secrets.output_key)  # fmt: skip
    history, sealed = _sealed_history([honest, honest], secrets, disclosed=True)
    verdict = decide_verdict(reference, tokenizer, history, lambda w: torch.float32)
    assert list(verdict.passing_output_hashes) == [sealed] and not verdict.culprits
    history, _ = _sealed_history([honest, honest], secrets, disclosed=False)
    blind = decide_verdict(reference, tokenizer, history, lambda w: torch.float32)
    assert list(blind.passing_output_hashes) == [] and blind.culprits
