"""Issue 14 framing attacks on the real chain: with the receivers' frames reaching the
validators' sidecar (frames_fetch; the harness serves each worker's kept frames in process, as
`Pipeline.ReceivedFrames` does over gRPC), the SENDER of a perturbation that keeps every
fingerprint is named, never the honest receiver. The rows are the bench's own
(bench/bench_onchain_adversaries.py `scenarios()`), tiny seeded llama, 3 hops, real Sidecar
voting through vote extensions.

Job placement (onchain_jobs.guilty_positions): job i's cheat sits on route (i // 3) mod 2,
hop i mod 3. With the rng of the row's name, job 7 (route 0, hop 1) is the one where the 10 %
probe-orthogonal noise leaves the output unchanged (its predicted late probes are right), the
job the attack frames the receiver in without the frames (`test_without_the_frames_...`)."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")  # validators install no torch: these need the worker extra

from bench.bench_onchain_adversaries import scenarios  # noqa: E402
from bench.onchain_jobs import JobOutcome, OnChain, tiny_model_dirs  # noqa: E402
from inference_worker.verify.frames_fetch import FramesUnavailable  # noqa: E402

TOKENS = 12
ORTHOGONAL = "probe_orthogonal 10%, late probes predicted"
CLIP = "clip_shift 20%, massive channels"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tiny_model_dirs(tmp_path_factory.mktemp("onchain-frames-models"))


def _run(tmp_path, models, name: str, jobs: int, *, frames: bool = True) -> list[JobOutcome]:
    torch.set_num_threads(1)
    (scenario,) = [s for s in scenarios(TOKENS, models[1]) if s.name == name]
    onchain = OnChain(tmp_path / "run", scenario, *models)
    if not frames:  # every receiver withholds (the code before: nothing reached validators)
        onchain.sidecar.frames = _withhold
    rng = random.Random(scenario.name)
    try:
        return [onchain.run_job(index, rng) for index in range(jobs)]
    finally:
        onchain.chain.store.close()


def _withhold(job_id, route_index, hop_index, worker, max_bytes):
    raise FramesUnavailable("withheld")


def _kept_output(o: JobOutcome) -> bool:
    """The cheat left the output unchanged (no dispute): its late probes were predicted."""
    return not o.outputs_differ


def test_predicted_orthogonal_noise_names_the_sender_never_the_receiver(tmp_path, models):
    outcomes = _run(tmp_path, models, ORTHOGONAL, jobs=8)
    for o in outcomes:
        assert not o.honest_slashed, (o.job_id, o.slashed_positions, o.guilty_positions)
        (route, hop) = o.guilty_positions[0]
        if hop < 2:  # a sender: named, whether the output moved (late rows) or not (frames)
            assert o.slashed_positions == o.guilty_positions, (o.job_id, o.slashed_positions)
    framing = [o for o in outcomes if _kept_output(o) and o.guilty_positions[0][1] < 2]
    assert framing, "no job where the cheat kept the output: the row no longer tests framing"
    for o in framing:
        assert o.audited and o.slashed_guilty and o.honest_output_delivered


def test_without_the_frames_the_same_attack_frames_the_honest_receiver(tmp_path, models):
    """What the code before did (no frames reach validators), and what a receiver that
    withholds its frames gets: in the job where the cheat keeps the output, the honest next
    hop is named and slashed. The test above is the same jobs with the frames."""
    outcomes = _run(tmp_path, models, ORTHOGONAL, jobs=8, frames=False)
    framed = [o for o in outcomes if o.honest_slashed]
    assert framed, [(o.job_id, o.slashed_positions, o.guilty_positions) for o in outcomes]
    for o in framed:
        (route, hop) = o.guilty_positions[0]
        assert _kept_output(o) and o.slashed_positions == [(route, hop + 1)]


def test_a_clip_shift_between_massive_channels_names_the_sender(tmp_path, models):
    """The tokens stay, but the moved channels ride the residual stream to the last hop, so
    the chain audits the job (divergence) and the verifier names the shifting hop (its
    unclipped late rows and, for senders, the exact distance to what its receiver got)."""
    for o in _run(tmp_path, models, CLIP, jobs=3):
        assert not o.honest_slashed and not o.outputs_differ
        assert o.audited and o.slashed_positions == o.guilty_positions, o.slashed_positions
        assert o.honest_routes_paid and o.honest_output_delivered
