"""The validator's verifier sidecar: re-checks disputed and audited jobs and leaves verdicts.

A validator that wants a say in disputes runs ``infera verifier run`` next to its node. Every few
seconds the sidecar asks the node which jobs are open for verdicts
(``infera.agreement.v1.Query/OpenVerifications``), reads each one's full history
(``Query/JobHistory``: prompt, decoding, routes, reveals with shard fingerprints, outputs) and
the job's precision class (``Job.precision``, fixed at assignment: every hop of every route
computes in it, whatever a worker declares later), re-runs every complete route with
``verifier.verify_route`` (teacher-forced re-scoring plus per-hop fingerprints) and writes one
``Verdict`` per job to the node's verdict inbox (chain/verdict_inbox.py). The node's ExtendVote
carries it to the other validators.

The reference model is held in every dtype a job's class names (a bf16 job is recomputed in
bf16, VERIFICATION.md), each loaded the first time a job needs it; ``dtypes`` restricts which
may be loaded (memory). A job in a class outside it is not judged.

Tolerances: the class defaults, unless the served model's registration (``Query/Model``, read
once: it never changes) carries a calibrated tolerance for the job's class (`model_params`;
VERIFICATION.md, "Per-model tolerances").

Received frames (the dispute data path): for every hop k >= 1 whose reveal carries its
sender's late evidence, the sidecar asks hop k's worker for the signed frames it received
(`frames_fetch.PipelineFrameSource`: `Pipeline.ReceivedFrames` on the worker's registered
endpoint, size-capped and with a deadline) and puts them in the claim
(`HopClaim.received_frames`); the verifier uses them only when they check against the
sender's signature (VERIFICATION.md, "Judging a hop on what it received"). Missing or garbage
frames leave the hop judged from the reference input, as before.

``decide_verdict`` is pure (no I/O but its `frames` source) so it can be tested and
benchmarked on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import chain.pb  # noqa: F401

import structlog
import torch

from chain import sealing
from chain.verdict_inbox import VerdictInbox
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.agreement.v1 import types_pb2 as agreement_types
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import query_pb2 as models_query
from infera.models.v1 import types_pb2 as models_types
from inference_worker.pipeline.generate import Sampling, eos_token_ids
from inference_worker.pipeline.route import PromptTokenizer
from inference_worker.verify.evidence import RouteClaim, hop_claim_from_reveal
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.frames_fetch import (
    FrameSource,
    FramesUnavailable,
    PipelineFrameSource,
    decode_fetched,
    frames_byte_bound,
)
from inference_worker.verify.tolerances import with_model_tolerance
from inference_worker.verify.verifier import (
    ReferenceModel,
    VerifierError,
    VerifierParams,
    verify_route,
)

log = structlog.get_logger("infera.verifier")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
ALL_DTYPES = tuple(DTYPES.values())
COMPLETE = agreement_types.ROUTE_STATUS_COMPLETE


@dataclass(frozen=True)
class RouteOutcome:
    """What the sidecar found for one complete route."""

    route_index: int
    output_hash: bytes
    ok: bool
    culprit_hop: int | None


def job_dtype(job: inference_types.Job) -> torch.dtype:
    """The dtype every hop of the job computes in: its precision class, recorded at assignment
    (a job assigned before classes were recorded counts as float32)."""
    return DTYPES.get(job.precision, torch.float32)


def model_params(model: models_types.Model | None, job: inference_types.Job) -> VerifierParams:
    """The verifier params for `job`: the class defaults, with the fingerprint and noise bounds
    of the job's precision class replaced by the model's calibrated tolerance when its
    registration carries one (models README, "Verifier tolerances")."""
    params = VerifierParams()
    precision = job.precision or "float32"
    for tolerance in model.verifier_tolerances if model is not None else ():
        if tolerance.dtype == precision:
            return with_model_tolerance(
                params, job_dtype(job), tolerance.fingerprint_ppm, tolerance.noise_ppm
            )
    return params


def _every_hop_in(dtype: torch.dtype) -> Callable[[str], torch.dtype]:
    """The per-worker dtype lookup decide_verdict takes: the job's class for every hop."""
    return lambda _worker: dtype


def job_sampling(job: inference_types.Job) -> Sampling | None:
    """The seeded sampler a job's workers used (None for greedy decoding)."""
    if job.decoding.mode != inference_types.DECODING_MODE_SAMPLING:
        return None
    return Sampling(
        seed=int.from_bytes(job.seed[:8], "big"),
        temperature=job.decoding.temperature_milli / 1000,
        top_k=job.decoding.top_k,
    )


def disclosed_output_key(job: inference_types.Job) -> bytes | None:
    """A disclosed sealed job's output key (its late evidence derives from the sealed output
    hash under it); None for a public job. An undisclosed sealed job has no tokens on chain,
    so no claim is built for it."""
    if job.privacy != inference_types.PRIVACY_MODE_SEALED or not job.sealed.disclosed_job_key:
        return None
    return sealing.JobSecrets(bytes(job.sealed.disclosed_job_key)).output_key


def route_claims(
    history: agreement_query.QueryJobHistoryResponse,
    prompt_ids: list[int],
    eos_ids: frozenset[int],
    dtype_of: Callable[[str], torch.dtype],
    frames: FrameSource | None = None,
    hidden_size: int = 0,
) -> list[tuple[int, bytes, RouteClaim]]:
    """(route index, output hash, claim) for every route whose hops all revealed one output;
    with `frames` (and the model's `hidden_size`), each receiving hop's fetched frames."""
    job = history.job
    reveals = {(r.route_index, r.hop_index): r for r in history.reveals}
    outputs = {o.output_hash: o for o in history.outputs}
    claims = []
    for route_index, route in enumerate(job.routes):
        hops = [
            reveals[route_index, h] for h in range(len(route.hops)) if (route_index, h) in reveals
        ]
        if len(hops) != len(route.hops) or len({r.output_hash for r in hops}) != 1:
            continue  # a hop never revealed, or the route's hops revealed different outputs
        output = outputs.get(hops[-1].output_hash)
        if output is None or not output.tokens:
            continue
        hop_claims = tuple(
            hop_claim_from_reveal(
                hop.layer_start,
                hop.layer_end,
                dtype_of(hop.worker),
                bytes(reveal.shard_fingerprint),
                worker=hop.worker,  # the signer the next hop's frame evidence must name
            )
            for hop, reveal in zip(route.hops, hops, strict=True)
        )
        claim = RouteClaim(
            prompt_ids=tuple(prompt_ids),
            tokens=tuple(output.tokens),
            hops=hop_claims,
            max_new_tokens=job.max_new_tokens,
            eos_ids=eos_ids,
            sampling=job_sampling(job),
            probe_seed=derive_probe_seed(job.id),
            job_id=job.id,
            route_index=route_index,
            output_key=disclosed_output_key(job),
        )
        if frames is not None:
            claim = with_received_frames(claim, frames, hidden_size)
        claims.append((route_index, bytes(output.output_hash), claim))
    return claims


def with_received_frames(claim: RouteClaim, source: FrameSource, hidden_size: int) -> RouteClaim:
    """`claim` with, for every hop >= 1 that revealed its sender's late evidence, the frames
    its worker hands over (None where it hands over nothing usable: judged as before)."""
    positions = len(claim.sequence)
    limit = frames_byte_bound(positions, hidden_size)
    hops = list(claim.hops)
    for index, hop in enumerate(hops):
        if index == 0 or hop.received is None or claim.job_id is None:
            continue
        try:
            data = source(claim.job_id, claim.route_index, index, hop.worker, limit)
        except FramesUnavailable as err:
            log.info("no received frames", job_id=claim.job_id, route=claim.route_index,
                     hop=index, reason=str(err))  # fmt: skip
            continue
        hops[index] = replace(hop, received_frames=decode_fetched(data, hidden_size))
    return replace(claim, hops=tuple(hops))


def decide_verdict(
    reference: ReferenceModel,
    tokenizer: PromptTokenizer,
    history: agreement_query.QueryJobHistoryResponse,
    dtype_of: Callable[[str], torch.dtype],
    params: VerifierParams | None = None,
    frames: FrameSource | None = None,
) -> agreement_types.Verdict:
    """Check every complete route of a job: which outputs pass, which hops deviated (each
    receiving hop on the frames `frames` gets for it, when they check)."""
    config = reference.shards[next(iter(reference.shards))][-1].config
    eos = frozenset(eos_token_ids(config))
    hidden = int(config.hidden_size)
    prompt_ids = tokenizer.encode(bytes(history.job.prompt))
    passing: set[bytes] = set()
    culprits: set[tuple[int, int]] = set()
    # The passing output closest to this validator's own recomputation (smallest largest
    # logit gap to the reference's arg-max; ties by hash): the chain delivers the one most
    # power selects when several pass, not simply the lowest hash.
    closest: tuple[float, bytes] | None = None
    for route_index, output_hash, claim in route_claims(
        history, prompt_ids, eos, dtype_of, frames, hidden
    ):
        try:
            verdict = verify_route(reference, claim, params)
        except VerifierError as exc:  # e.g. spans that do not tile the model: the route is bad
            log.warning("route cannot be verified", route=route_index, error=str(exc))
            continue
        if verdict.ok:
            passing.add(output_hash)
            candidate = (verdict.output.max_gap, output_hash)
            closest = candidate if closest is None else min(closest, candidate)
        elif verdict.culprit_hop is not None:
            culprits.add((route_index, verdict.culprit_hop))
    return agreement_types.Verdict(
        job_id=history.job.id,
        passing_output_hashes=sorted(passing),
        culprits=[agreement_types.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
        selected_output_hash=closest[1] if closest is not None else b"",
    )


class Sidecar:
    """The polling loop: node queries in, verdict files out."""

    def __init__(
        self, *, rpc: object, model_id: str, model_dir: Path, inbox: VerdictInbox,
        dtypes: tuple[torch.dtype, ...] = ALL_DTYPES, frames: FrameSource | None = None,
    ) -> None:  # fmt: skip
        if not dtypes:
            raise ValueError("the sidecar needs at least one dtype it may load")
        self.rpc = rpc
        self.model_id = model_id
        self.model_dir = model_dir
        self.dtypes = dtypes  # the dtypes it may hold; the first is loaded now, others on demand
        self.reference = ReferenceModel.load(model_dir, dtypes[:1])
        self.tokenizer = PromptTokenizer(model_dir, self.reference.vocab_size)
        self.inbox = inbox
        # where receiving hops' frames come from (default: their workers' ReceivedFrames RPC)
        self.frames = frames if frames is not None else PipelineFrameSource(rpc)
        self.done: set[int] = set()
        self.model: models_types.Model | None = None  # the registration, read once (immutable)

    def _query(self, path: str, request: object, response: type) -> object:
        return self.rpc.query(path, request, response)  # type: ignore[attr-defined]

    def registered_model(self) -> models_types.Model:
        """The served model's registration (its calibrated tolerances never change)."""
        if self.model is None:
            response = self._query(
                "/infera.models.v1.Query/Model",
                models_query.QueryModelRequest(id=self.model_id),
                models_query.QueryModelResponse,
            )
            self.model = response.model  # type: ignore[attr-defined]
        return self.model

    def load_dtypes_for(self, job: inference_types.Job) -> None:
        """Load the reference in the job's precision class if it is not held yet (and `dtypes`
        allows it: otherwise the job's routes fail verification and are skipped)."""
        needed = {job_dtype(job)}
        for dtype in self.dtypes:
            if dtype in needed and dtype not in self.reference.shards:
                started = time.monotonic()
                loaded = ReferenceModel.load(self.model_dir, (dtype,))
                self.reference.shards[dtype] = loaded.shards[dtype]
                log.info("reference loaded", dtype=str(dtype),
                         seconds=round(time.monotonic() - started, 2))  # fmt: skip

    def step(self) -> list[agreement_types.Verdict]:
        """One pass over the open jobs; returns the verdicts written."""
        open_ids = self._query(
            "/infera.agreement.v1.Query/OpenVerifications",
            agreement_query.QueryOpenVerificationsRequest(),
            agreement_query.QueryOpenVerificationsResponse,
        ).job_ids  # type: ignore[attr-defined]
        written = []
        for job_id in sorted(set(open_ids) - self.done):
            history = self._query(
                "/infera.agreement.v1.Query/JobHistory",
                agreement_query.QueryJobHistoryRequest(job_id=job_id),
                agreement_query.QueryJobHistoryResponse,
            )
            if history.job.model_id != self.model_id:  # type: ignore[attr-defined]
                self.done.add(job_id)
                continue  # this sidecar holds another model: abstain
            params = model_params(self.registered_model(), history.job)  # type: ignore[attr-defined]
            self.done.add(job_id)  # (a failed model query leaves the job for the next pass)
            self.load_dtypes_for(history.job)  # type: ignore[attr-defined]
            started = time.monotonic()
            dtype_of = _every_hop_in(job_dtype(history.job))  # type: ignore[attr-defined]
            verdict = decide_verdict(
                self.reference,
                self.tokenizer,
                history,
                dtype_of,
                params,
                frames=self.frames,  # type: ignore[arg-type]
            )
            self.inbox.write(verdict)
            written.append(verdict)
            log.info(
                "verdict written", job_id=job_id, passing=len(verdict.passing_output_hashes),
                culprits=[(c.route_index, c.hop_index) for c in verdict.culprits],
                seconds=round(time.monotonic() - started, 2),
            )  # fmt: skip
        return written

    def run(self, interval: float = 2.0, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            try:
                self.step()
            except Exception as exc:  # node restarting, transient RPC errors: try again
                log.warning("verifier pass failed", error=str(exc))
            time.sleep(interval)
