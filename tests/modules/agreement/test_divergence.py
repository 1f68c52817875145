"""Agreeing routes whose last hops' fingerprints diverge are audited whatever the draw.

The distance the chain computes in integers (modules/agreement/divergence.py) is the verifier's
(inference_worker.verify.fingerprint.chunk_distances); the settlement tests play r = 3 jobs on the
module chain (tests/modules/jobs.py) with audit_probability 0, so every audit here comes from
divergence.
"""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.fixed import Decimal
from infera.agreement.v1 import types_pb2 as R
from infera.inference.v1 import types_pb2 as J
from modules.agreement import audits, divergence, logic
from tests.modules.jobs import (
    OUTPUT,
    advance_to,
    commit_msg,
    fingerprint,
    fingerprint_bundle,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    reveal_msg,
    salt,
    submit_msg,
)
from tests.modules.serving import keeper, latest_ctx

BASE_RMS = [100, -50, 7, 0]
BASE_CODES = [10, -20, 30, -40, 5, 6, -7, 8]  # 4 positions x 2 probes


def bundle(log_rms=BASE_RMS, codes=BASE_CODES, **kw) -> bytes:
    return fingerprint_bundle(list(log_rms), list(codes), **kw)


# --- the distance ---------------------------------------------------------------------------------


def test_identical_fingerprints_do_not_diverge_even_at_zero_tolerance():
    assert not divergence.diverge(bundle(), bundle(), Decimal.parse("0"))


def test_one_probe_code_apart_is_measured_exactly():
    moved = list(BASE_CODES)
    moved[0] += 1
    # one position of four: direction term (1/32)^2 / 2 probes; chunk distance
    # sqrt((1/2048) / 4) = 0.011048...
    assert divergence.diverge(bundle(), bundle(codes=moved), Decimal.parse("0.011"))
    assert not divergence.diverge(bundle(), bundle(codes=moved), Decimal.parse("0.0111"))


def test_a_log_rms_step_is_weighted_by_ln2():
    moved = list(BASE_RMS)
    moved[1] += 4  # 4/256 octave: relative size change ln2 x 4/256 = 0.010830 at one position
    # chunk distance 0.010830 / sqrt(4) = 0.005415...
    assert divergence.diverge(bundle(), bundle(log_rms=moved), Decimal.parse("0.0054"))
    assert not divergence.diverge(bundle(), bundle(log_rms=moved), Decimal.parse("0.0055"))


@pytest.mark.parametrize(
    "other",
    [
        bundle(seed=8),  # another probe seed: not the same late probes
        bundle(hidden=16),
        bundle(log_rms=BASE_RMS + [1], codes=BASE_CODES + [0, 0]),  # another length
        bundle(codes=[c // 2 for c in BASE_CODES] * 2, probes=4),
        bundle(log_rms=[-32768, -50, 7, 0]),  # all-zero position on one side only
        b"",
        b"IFRV" + b"\x03" + b"\x00" * 7,  # header claims nothing
        bundle()[:-1],  # truncated
        bundle().replace(b"IFRV", b"IFRX"),
        bundle(codes=[-128] + BASE_CODES[1:]),  # non-canonical code
    ],
)
def test_what_cannot_be_the_same_states_diverges_at_any_tolerance(other):
    assert divergence.diverge(bundle(), other, Decimal.parse("1000"))
    assert divergence.diverge(other, bundle(), Decimal.parse("1000"))


def test_all_zero_positions_on_both_sides_agree():
    zeros = [-32768, -50, 7, 0]
    assert not divergence.diverge(bundle(log_rms=zeros), bundle(log_rms=zeros), Decimal(0))


torch = pytest.importorskip("torch")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    positions=st.integers(1, 70),
    change=st.floats(0.0, 0.2),
    tolerance=st.sampled_from(["0.005", "0.015", "0.04", "0.1"]),
)
def test_the_chain_agrees_with_the_verifier_distance(seed, positions, change, tolerance):
    from inference_worker.verify.fingerprint import chunk_distances, compute_fingerprint
    from inference_worker.verify.reveal import encode_reveal

    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(positions, 48, generator=generator)
    other = hidden * (1 + change) + change * torch.randn(positions, 48, generator=generator)
    a = compute_fingerprint(hidden, probe_seed=seed)
    b = compute_fingerprint(other, probe_seed=seed)
    largest = float(chunk_distances(a, b).max())
    if abs(largest - float(tolerance)) < 1e-9:
        return  # a tie within float rounding: either answer is right
    chain_says = divergence.diverge(
        encode_reveal(a.to_bytes(), None),
        encode_reveal(b.to_bytes(), None),
        Decimal.parse(tolerance),
    )
    assert chain_says == (largest > float(tolerance))


# --- settlement -----------------------------------------------------------------------------------


def _play(node, last_hop_of_route_2: bytes | None) -> list[list]:
    """r = 3 routes of 2 hops all reveal OUTPUT; route 2's last hop reveals
    ``last_hop_of_route_2`` as its fingerprint when given (committed to, so the reveal opens)."""
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    odd = routes[2][1]
    commits, reveals = [], []
    for worker in [w for route in routes for w in route]:
        if worker is odd and last_hop_of_route_2 is not None:
            output_hash = logic.compute_output_hash(OUTPUT, b"")
            commitment = logic.compute_commitment(
                output_hash, last_hop_of_route_2, salt(worker, 1), worker.address
            )
            commits.append((worker, commit_msg(worker, 1, commitment=commitment)))
            reveals.append((worker, reveal_msg(worker, 1, shard_fingerprint=last_hop_of_route_2)))
        else:
            commits.append((worker, commit_msg(worker, 1)))
            reveals.append((worker, reveal_msg(worker, 1)))
    ok(node, *commits)
    ok(node, *reveals)
    assert job(node, 1).state == J.JOB_STATE_FINALIZED
    return routes


def _shifted(node, delta: int) -> bytes:
    """The honest last hop's fingerprint with every probe code moved by ``delta``."""
    honest = fingerprint(node.keys[0], 1)  # every honest hop of job 1 reveals this one
    codes = divergence.own_fingerprint(honest)
    return fingerprint_bundle(
        list(codes.log_rms),
        [c + delta for c in codes.codes],
        probes=codes.probes,
        seed=codes.probe_seed,
        hidden=codes.hidden_size,
    )


def _chain(tmp_path, dtypes=None):
    return make_job_chain(
        tmp_path,
        vote_extensions_from=1,
        agreement={"audit_probability": "0"},
        dtypes=dtypes,
    )


def test_agreeing_routes_with_matching_fingerprints_are_paid_without_audit(tmp_path):
    node = _chain(tmp_path)
    _play(node, None)
    done = history(node, 1)
    assert not done.HasField("audit")
    assert done.settlement.outcome == R.OUTCOME_FINALIZED and len(done.settlement.payouts) == 7


def test_a_route_off_beyond_the_full_precision_tolerance_is_audited(tmp_path):
    node = _chain(tmp_path)
    _play(node, _shifted(node, 1))  # every code +1: distance 1/32 = 0.031 > 0.015
    done = history(node, 1)
    assert done.HasField("audit") and done.audit.diverged
    assert done.audit.hold_status == R.HOLD_STATUS_HELD and not done.settlement.payouts


def test_a_malformed_last_hop_fingerprint_is_audited(tmp_path):
    node = _chain(tmp_path)
    _play(node, b"not a bundle")
    assert history(node, 1).audit.diverged


def test_half_precision_routes_get_the_half_precision_tolerance(tmp_path):
    node = _chain(tmp_path / "bf16", dtypes=["bfloat16"] * 6)
    _play(node, _shifted(node, 1))  # 0.031: within bf16 noise (0.1)
    assert not history(node, 1).HasField("audit")
    node = _chain(tmp_path / "bf16-far", dtypes=["bfloat16"] * 6)
    _play(node, _shifted(node, 4))  # 0.125 > 0.1
    assert history(node, 1).audit.diverged


def test_an_outvoted_complete_route_is_audited_so_a_verdict_can_name_its_cheat(tmp_path):
    node = _chain(tmp_path)
    _outvoted_job(node)
    done = history(node, 1)
    assert job(node, 1).state == J.JOB_STATE_FINALIZED
    assert done.settlement.winning_output_hash == logic.compute_output_hash(OUTPUT, b"")
    assert done.audit.diverged and done.audit.hold_status == R.HOLD_STATUS_HELD


def test_a_partly_revealed_route_with_another_output_is_audited_too(tmp_path):
    """A colluder that withholds its reveal to leave an honest route incomplete does not keep
    the honest hops' other output from triggering the audit."""
    node = _chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    honest, withholder = routes[2]
    lie = {w.bech32 for r in routes[:2] for w in r}
    claimed = {w.bech32: ([7, 7, 7] if w.bech32 in lie else OUTPUT) for r in routes for w in r}
    workers = [w for r in routes for w in r]
    ok(node, *[(w, commit_msg(w, 1, tokens=claimed[w.bech32])) for w in workers])
    ok(
        node,
        *[(w, reveal_msg(w, 1, tokens=claimed[w.bech32])) for w in workers if w is not withholder],
    )
    advance_to(node, job(node, 1).reveal_end_height)
    done = history(node, 1)
    assert done.settlement.winning_output_hash == logic.compute_output_hash([7, 7, 7], b"")
    assert done.audit.diverged and done.audit.hold_status == R.HOLD_STATUS_HELD


def _verdict_block(node, passing, culprits=()) -> None:
    """The single validator's verdict on job 1, carried by the next block's extended commit."""
    verdict = R.Verdict(
        job_id=1,
        passing_output_hashes=sorted(passing),
        culprits=[R.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
    )
    extension = R.VoteExtension(verdicts=[verdict]).SerializeToString(deterministic=True)
    node.block(extensions={node.validators[0].name: extension})


def _reputation(node, key) -> int:
    return keeper(node, "workers").get_reputation(latest_ctx(node), key.address)


def _outvoted_job(node) -> list[list]:
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    claimed = {w.bech32: ([7, 7, 7] if w in routes[2] else OUTPUT) for r in routes for w in r}
    workers = [w for r in routes for w in r]
    ok(node, *[(w, commit_msg(w, 1, tokens=claimed[w.bech32])) for w in workers])
    ok(node, *[(w, reveal_msg(w, 1, tokens=claimed[w.bech32])) for w in workers])
    return routes


# r = 3, price 10, prompt 3 tokens, 8 layers on 2 hops of 4, max fee 1000: routes 0 and 1 agree on
# OUTPUT (4 tokens): charge 10 x (3 + 4) x 2 = 140; route 2 revealed [7, 7, 7]: reserve
# 10 x (3 + 3) x 1 = 60 held with it; refunded at finalization 1000 - 200 = 800. Route 2 paid
# when passing: 60, protocol floor(3) = 3, each hop floor(57 x 4 / 8) = 28, dust 1: collector 4.
RESERVE, MINORITY_HOP_PAY = 60, 28


@pytest.mark.parametrize("minority_passes", [True, False])
def test_an_honest_minority_the_verdict_passes_is_paid_from_the_reserve(tmp_path, minority_passes):
    node = _chain(tmp_path)
    routes = _outvoted_job(node)
    held = history(node, 1)
    assert held.audit.reserve_amount == str(RESERVE) and held.audit.held_amount == str(
        140 + RESERVE
    )
    assert held.job.refunded == "800"
    before = {w.bech32: node.balance(w.address) for w in routes[2]}
    agreed = logic.compute_output_hash(OUTPUT, b"")
    minority = logic.compute_output_hash([7, 7, 7], b"")
    _verdict_block(node, {agreed, minority} if minority_passes else {agreed})
    done = history(node, 1)
    assert done.audit.decided and not done.audit.failed
    assert done.audit.hold_status == R.HOLD_STATUS_PAID
    assert [_reputation(node, w) for w in routes[0] + routes[1]] == [1_050_000] * 4
    gains = [node.balance(w.address) - before[w.bech32] for w in routes[2]]
    if minority_passes:  # paid like a winner, and rewarded like one
        assert gains == [MINORITY_HOP_PAY] * 2
        assert [_reputation(node, w) for w in routes[2]] == [1_050_000] * 2
        assert (done.settlement.charge, done.job.refunded) == ("200", "800")
    else:  # mismatch penalty, and the reserve goes back to the submitter
        assert gains == [0, 0]
        assert [_reputation(node, w) for w in routes[2]] == [1_000_000, 950_000]  # last hop
        assert (done.settlement.charge, done.job.refunded) == ("140", "860")
    paid = sum(int(p.amount) for p in done.settlement.payouts)
    assert paid == int(done.settlement.charge)
    assert int(done.job.refunded) + paid == 1000
    assert node.balance(audits.hold_address()) == 0


@settings(max_examples=50, deadline=None)
@given(job_id=st.integers(0, 2**64 - 1), output_hash=st.binary(min_size=32, max_size=32))
def test_the_chain_derives_the_late_probe_seed_as_the_workers_do(job_id, output_hash):
    from inference_worker.verify.fingerprint import derive_late_probe_seed, derive_probe_seed

    worker = derive_late_probe_seed(derive_probe_seed(job_id), output_hash)
    assert divergence.compute_late_probe_seed(job_id, output_hash) == worker
    assert divergence.own_probe_seed(bundle(seed=worker)) == worker
    assert divergence.is_sealed_late_seed(bundle(seed=worker), job_id, output_hash)
    assert not divergence.is_sealed_late_seed(bundle(seed=worker ^ 1), job_id, output_hash)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        bundle()[:30],
        b"IFRV\x02" + bundle()[5:],
        bundle()[:12] + b"IFFQ" + bundle()[16:],
    ],
)
def test_an_unreadable_bundle_has_no_late_seed(data):
    with pytest.raises(divergence.MalformedFingerprint):
        divergence.own_probe_seed(data)
    assert not divergence.is_sealed_late_seed(data, 1, bytes(32))
