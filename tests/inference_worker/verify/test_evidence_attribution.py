"""Attribution with signed frame evidence: the verifier judges hop k by the rows hop k signed on
its frames (revealed by hop k+1), so a hop that lies in its fingerprint cannot shift the blame,
and a receiver cannot frame its sender (VERIFICATION.md, "Signed frame evidence")."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import chain.pb  # noqa: F401

import pytest
import torch

from chain.crypto import to_bech32
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.inference.v1 import types_pb2 as inference_types
from inference_worker.pipeline.frames import (
    EvidenceStatus,
    FrameEvidenceError,
    FrameSigner,
    LateEvidence,
    fingerprint_rows,
    rows_fingerprint,
)
from inference_worker.pipeline.route import PromptTokenizer
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from inference_worker.verify.evidence import (
    RouteClaim,
    generate_claim,
    hop_claim_from_reveal,
    reveal_payload,
)
from inference_worker.verify.fingerprint import (
    compute_fingerprint,
    decode_fingerprint,
    derive_probe_seed,
)
from inference_worker.verify.sidecar import decide_verdict
from inference_worker.verify.verifier import ReferenceModel, late_seed, verify_route
from modules.agreement import logic

SPANS = ((0, 2), (2, 4), (4, 5))
PROMPT = (1, 5, 9, 22, 7, 3)
JOB = 42
SEED = derive_probe_seed(JOB)
KEYS = [FrameSigner(hashlib.sha256(f"hop-{k}".encode()).digest()) for k in range(3)]
LIE = ComputeAttack(ComputeMode.LIE_FINGERPRINT, noise_std=0.05, seed=3)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def model_dir(tiny_models):
    return tiny_models["llama"]


@pytest.fixture(scope="module")
def reference(model_dir) -> ReferenceModel:
    return ReferenceModel.load(model_dir)


def claim_of(model_dir, attacks=None, *, keys=KEYS, n=32, **kw) -> RouteClaim:
    shards = [
        load_adversarial_shard(model_dir, a, b, (attacks or {}).get(i, ComputeAttack()))
        for i, (a, b) in enumerate(SPANS)
    ]
    claim = generate_claim(
        shards, PROMPT, max_new_tokens=n, probe_seed=SEED, job_id=JOB, keys=keys, **kw
    )
    return through_chain(claim)


def through_chain(claim: RouteClaim) -> RouteClaim:
    """The claim as a validator rebuilds it from the reveals (bytes on chain)."""
    hops = tuple(
        hop_claim_from_reveal(h.start, h.end, h.dtype, reveal_payload(claim, k), worker=h.worker)
        for k, h in enumerate(claim.hops)
    )
    return replace(claim, hops=hops)


def with_evidence(claim: RouteClaim, hop: int, evidence: LateEvidence) -> RouteClaim:
    hops = list(claim.hops)
    hops[hop] = replace(hops[hop], received=evidence)
    return through_chain(replace(claim, hops=tuple(hops)))


# (a) honest ----------------------------------------------------------------------------------


def test_an_honest_signed_route_passes_on_signed_rows(model_dir, reference):
    claim = claim_of(model_dir)
    verdict = verify_route(reference, claim)
    assert verdict.ok and verdict.culprit_hop is None
    assert [c.source for c in verdict.hops] == ["signed", "signed", "own"]
    assert [c.evidence for c in verdict.hops] == [
        EvidenceStatus.ABSENT, EvidenceStatus.VALID, EvidenceStatus.VALID
    ]  # fmt: skip
    # The same tokens and own fingerprints as an unsigned run: signing changes no compute.
    plain = claim_of(model_dir, keys=None)
    assert plain.tokens == claim.tokens
    assert [h.fingerprint for h in plain.hops] == [h.fingerprint for h in claim.hops]


def test_signed_evidence_survives_the_int8_codec(model_dir, reference):
    claim = claim_of(model_dir, codec="int8")
    verdict = verify_route(reference, claim)
    assert verdict.ok, verdict.hops


# (b) a compute cheat that signs the truth -----------------------------------------------------


@pytest.mark.parametrize("guilty", [0, 1])
def test_a_hop_that_cheats_and_signs_its_real_states_is_named(model_dir, reference, guilty):
    attack = ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=7)
    verdict = verify_route(reference, claim_of(model_dir, {guilty: attack}))
    assert not verdict.ok and verdict.culprit_hop == guilty
    assert verdict.hops[guilty].source == "signed"


# (c) a hop that lies in its fingerprint -------------------------------------------------------


@pytest.mark.parametrize("liar", [0, 1])
def test_a_checking_receiver_refuses_a_lying_frame(model_dir, liar):
    with pytest.raises(FrameEvidenceError, match="signed fingerprint rows differ") as err:
        claim_of(model_dir, {liar: LIE})
    assert err.value.sender_hop == liar


@pytest.mark.parametrize("liar", [0, 1])
def test_a_receiver_that_accepts_a_lying_frame_is_named(model_dir, reference, liar):
    claim = claim_of(model_dir, {liar: LIE}, unchecked_receivers=frozenset({liar + 1}))
    verdict = verify_route(reference, claim)
    # The liar signed honest rows; the receiver computed on what it was really sent and
    # accepted it: its own output deviates from the recomputation from signed honest input.
    assert not verdict.ok and verdict.culprit_hop == liar + 1
    assert verdict.hops[liar].ok and verdict.hops[liar].source == "signed"


def test_without_signatures_the_lie_blames_the_honest_next_hop(model_dir, reference):
    """The gap this evidence closes, kept as a regression fact: unsigned claims still name the
    honest hop after a liar (real workers always sign; see test_signed_pipeline)."""
    verdict = verify_route(reference, claim_of(model_dir, {0: LIE}, keys=None))
    assert verdict.culprit_hop == 1


# (d) a receiver cannot frame its sender -------------------------------------------------------


def _perturbed(evidence: LateEvidence) -> bytes:
    fp = rows_fingerprint(evidence.rows, hidden_size=evidence.hidden_size,
                          probes=evidence.probes, probe_seed=SEED)  # fmt: skip
    shifted = replace(fp, log_rms=fp.log_rms + 40)  # +15 % RMS on every position
    return fingerprint_rows(shifted)


def test_a_receiver_rewriting_the_signed_rows_is_named_not_its_sender(model_dir, reference):
    claim = claim_of(model_dir)
    received = claim.hops[1].received
    assert received is not None
    forged = replace(received, rows=_perturbed(received))  # still "signed by" hop 0
    verdict = verify_route(reference, with_evidence(claim, 1, forged))
    assert verdict.hops[1].evidence is EvidenceStatus.BAD
    assert verdict.hops[0].ok and verdict.hops[0].source == "own"  # judged on its own reveal
    assert not verdict.ok and verdict.culprit_hop == 1


def test_rows_a_receiver_signs_itself_are_unusable_and_frame_nobody(model_dir, reference):
    claim = claim_of(model_dir)
    # Hop 1 re-signs perturbed rows with its own key: a consistent chain, the wrong signer.
    forged_claim = claim_of(model_dir, keys=[KEYS[1], KEYS[1], KEYS[2]])
    forged = forged_claim.hops[1].received
    assert forged is not None
    forged = replace(forged, rows=_perturbed(forged))
    verdict = verify_route(reference, with_evidence(claim, 1, forged))
    assert verdict.hops[1].evidence is EvidenceStatus.BAD  # the rows changed after signing
    assert verdict.culprit_hop == 1 and verdict.hops[0].ok
    unchanged = verify_route(reference, with_evidence(claim, 1, forged_claim.hops[1].received))
    assert unchanged.hops[1].evidence is EvidenceStatus.FOREIGN
    assert unchanged.ok and unchanged.culprit_hop is None


def test_a_malformed_reveal_names_the_hop_that_revealed_it(model_dir, reference):
    claim = claim_of(model_dir)
    hops = list(claim.hops)
    good = reveal_payload(claim, 2)
    hops[2] = hop_claim_from_reveal(4, 5, torch.float32, good[:-3], worker=hops[2].worker)
    verdict = verify_route(reference, replace(claim, hops=tuple(hops)))
    assert hops[2].malformed and verdict.hops[2].evidence is EvidenceStatus.BAD
    assert not verdict.ok and verdict.culprit_hop == 2
    assert verdict.hops[1].source == "own"  # hop 1 falls back to its own fingerprint


# (e) replaced hops ---------------------------------------------------------------------------


def test_evidence_from_a_replacement_sender_is_foreign_and_falls_back(model_dir, reference):
    replacement = FrameSigner(hashlib.sha256(b"replacement").digest())
    claim = claim_of(model_dir, keys=[KEYS[0], replacement, KEYS[2]])
    hops = list(claim.hops)
    hops[1] = replace(hops[1], worker=to_bech32(KEYS[1].address))  # the route as on chain
    verdict = verify_route(reference, replace(claim, hops=tuple(hops)))
    assert verdict.hops[2].evidence is EvidenceStatus.FOREIGN
    assert verdict.hops[1].source == "own" and verdict.ok


# late probes: secret until the output is known --------------------------------------------


ORTHOGONAL = ComputeAttack(ComputeMode.PROBE_ORTHOGONAL, noise_std=0.1, seed=5, probe_seed=SEED)


@pytest.mark.parametrize("guilty", [0, 1])
def test_a_cheat_orthogonal_to_the_public_probes_is_named_on_its_late_rows(
    model_dir, reference, guilty
):
    """The cheat keeps its in-band rows (public probes) honest, so its receiver accepts every
    frame; the late rows it signs once the output is known use probes it could not aim at."""
    verdict = verify_route(reference, claim_of(model_dir, {guilty: ORTHOGONAL}))
    assert not verdict.ok and verdict.culprit_hop == guilty
    assert verdict.hops[guilty].source == "signed" and not verdict.hops[guilty].ok


def test_the_late_seed_depends_on_the_output_and_the_reveal_on_it(model_dir, reference):
    claim = claim_of(model_dir)
    own = decode_fingerprint(claim.hops[2].fingerprint)
    assert own.probe_seed == late_seed(claim) != SEED
    other = replace(claim, tokens=(*claim.tokens[:-1], (claim.tokens[-1] + 1) % 97))
    assert late_seed(other) != late_seed(claim)


def _without_late(claim: RouteClaim, hop: int) -> RouteClaim:
    hops = list(claim.hops)
    hops[hop] = replace(hops[hop], received=None)
    return through_chain(replace(claim, hops=tuple(hops)))


def test_a_missing_late_evidence_never_names_the_receiver_on_a_deviation_at_its_input(
    model_dir, reference
):
    """Hop 0 cheats orthogonally to the public probes and withholds its late evidence (or hop
    1 drops it): hop 0's own reveal can be honest-looking, so the deviation shows first in
    hop 1's output; hop 1 cannot be told from a framed receiver: the claim fails, nobody is
    named on it."""
    cheat = claim_of(model_dir, {0: ORTHOGONAL})
    hops = list(cheat.hops)  # hop 0 reveals the honest route's own fingerprint
    hops[0] = replace(hops[0], fingerprint=_honest_own(model_dir, cheat, 0))
    verdict = verify_route(reference, _without_late(replace(cheat, hops=tuple(hops)), 1))
    assert verdict.hops[1].evidence is EvidenceStatus.ABSENT
    assert not verdict.ok and verdict.culprit_hop is None
    assert verdict.hops[0].ok and not verdict.hops[1].ok  # the deviation starts at hop 1


def test_a_missing_late_evidence_still_names_a_sender_whose_own_reveal_deviates(
    model_dir, reference
):
    verdict = verify_route(reference, _without_late(claim_of(model_dir, {0: ORTHOGONAL}), 1))
    assert verdict.hops[0].source == "own"
    assert not verdict.ok and verdict.culprit_hop == 0


def test_a_missing_late_evidence_on_an_honest_route_fails_nothing(model_dir, reference):
    verdict = verify_route(reference, _without_late(claim_of(model_dir), 2))
    assert verdict.ok and verdict.hops[1].source == "own"


def _honest_own(model_dir, claim: RouteClaim, hop: int) -> bytes:
    """Hop `hop`'s own late fingerprint as an honest hop fed honest input computes it over
    `claim`'s sequence (what a cheat that kept its honest states would reveal)."""
    shards = [load_adversarial_shard(model_dir, a, b, ComputeAttack()) for a, b in SPANS]
    hidden = shards[0].embed(torch.tensor([list(claim.sequence)]))  # (1, seq, hidden)
    for shard in shards[: hop + 1]:
        hidden = shard.forward(hidden)
    return compute_fingerprint(hidden, probe_seed=late_seed(claim)).to_bytes()


# the sidecar ---------------------------------------------------------------------------------


def test_the_sidecar_uses_signed_evidence_from_the_chain(model_dir, reference):
    tokenizer = PromptTokenizer(model_dir, reference.vocab_size)
    prompt = tokenizer.encode(b"signed")
    shards = [load_adversarial_shard(model_dir, a, b, LIE if i == 0 else ComputeAttack())
              for i, (a, b) in enumerate(SPANS)]  # fmt: skip
    claim = generate_claim(shards, prompt, max_new_tokens=12, probe_seed=SEED, job_id=JOB,
                           keys=KEYS, unchecked_receivers=frozenset({1}))  # fmt: skip
    job = inference_types.Job(id=JOB, model_id="tiny", prompt=b"signed", max_new_tokens=12,
                              state=inference_types.JOB_STATE_DISPUTED)  # fmt: skip
    job.decoding.mode = inference_types.DECODING_MODE_GREEDY
    history = agreement_query.QueryJobHistoryResponse()
    route = job.routes.add()
    output_hash = logic.compute_output_hash(list(claim.tokens), b"")
    for h, (start, end) in enumerate(SPANS):
        route.hops.add(worker=claim.hops[h].worker, layer_start=start, layer_end=end)
        history.reveals.add(job_id=JOB, route_index=0, hop_index=h, output_hash=output_hash,
                            shard_fingerprint=reveal_payload(claim, h))  # fmt: skip
    history.outputs.add(output_hash=output_hash, tokens=list(claim.tokens))
    history.job.CopyFrom(job)
    verdict = decide_verdict(reference, tokenizer, history, lambda w: torch.float32)
    assert [(c.route_index, c.hop_index) for c in verdict.culprits] == [(0, 1)]
    assert not verdict.passing_output_hashes
