"""A worker's lifecycle: load and verify its spans, serve them, take jobs, commit and reveal.

    worker = Worker(load_config("worker.toml"))
    asyncio.run(worker.run())          # `infera worker run --config worker.toml`

1. **Load**: each configured span is loaded from its prepared folder and checked against the
   weight commitments the model has *on chain* (layers, embedding, head, config); on any
   mismatch the worker refuses to start (WorkerError) rather than serve other weights.
2. **Serve**: the Pipeline service (`server.PipelineServer`) on `listen`.
3. **Register**: when the operator has no worker yet, MsgRegisterWorker (stake, endpoint,
   hardware, runtime, encryption key); the endpoint is updated if it changed; every configured
   span not yet announced gets MsgServeSpan. Heartbeats every `heartbeat_every_blocks`.
4. **Jobs**: assignments arrive from `chain.ChainLink.watch_assignments`. On the first hop of a
   route the worker drives the route (`route.drive_route`); on any other hop it waits for the
   session to end normally on its server. Either way it then has the route's output tokens and
   its own shard fingerprint, and commits, then reveals once the chain opens reveals.
5. **Restarts**: every step is recorded on disk first (`commits.CommitStore`): after a restart the
   worker resumes each open job where it stopped, checks the chain before re-sending anything
   (never two commits), and reveals with the salt it committed with (never a lost commitment).
   A first hop that restarts before its output is known drives its route again (deterministic:
   same tokens); another hop waits for its driver to rejoin it and replay the session.
6. **Sealed jobs** (docs/private-jobs.md): the worker waits for the submitter's MsgSealPrompt,
   opens its own box with its encryption key (STATE_DIR/encryption.key): the first hop gets the
   prompt and the job's output key, later hops only the key. It commits to and reveals the
   keyed output hash; the first hop seals the output tokens to the submitter's reply key.
   Neither the prompt nor the output is logged or sent to the chain in plaintext. A box that
   does not open is contested on chain (MsgContestSeal) instead of committing.
7. **Adversary** (tests only): with worker.toml's ``[adversary]`` (and INFERA_UNSAFE_ADVERSARY=1)
   the worker serves a cheating shard, commits to a colluders' lie or misbehaves instead of
   revealing; `cheating.py` holds each departure from the honest path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chain.pb  # noqa: F401  (puts the generated packages on sys.path)

import torch
import transformers

from chain import sealing
from chain.client import ClientError, TxResult
from infera.inference.v1 import types_pb2 as inference_types
from infera.workers.v1 import types_pb2 as workers_types
from inference_worker.metrics import WorkerMetrics
from inference_worker.models import Manifest, WeightCommitmentError, read_manifest
from inference_worker.node import cheating
from inference_worker.node.chain import Assignment, ChainLink
from inference_worker.node.config import WorkerConfig
from inference_worker.pipeline.frames import FrameSigner
from inference_worker.pipeline.generate import eos_token_ids
from inference_worker.pipeline.placement import HopSpec
from inference_worker.pipeline.route import (
    DecodingSpec,
    PromptTokenizer,
    RouteError,
    RouteRequest,
    drive_route,
)
from inference_worker.pipeline.server import (
    HostedSpan,
    PipelineServer,
    ServerLimits,
    SessionRecord,
    start_server,
)
from inference_worker.pipeline.shard import ShardError, load_shard
from inference_worker.verify import commits
from inference_worker.verify.adversary import AdversaryConfig, ComputeMode, ProtocolMode
from inference_worker.verify.commits import CommitStore, JobRecord

if TYPE_CHECKING:
    from inference_worker.accel.hop import HopAccelerator

log = logging.getLogger("infera.worker")

POLL_S = 0.3  # pause between chain polls while waiting for a window or a transaction
RESEND_AFTER_BLOCKS = 5  # a broadcast not on chain after this many blocks is sent again
BROADCAST_ATTEMPTS = 5  # a commit or reveal the node refuses this many times in a row: give up
EARLY_OUTPUTS_KEPT = 1024  # sessions that ended before their assignment was seen
TERMINAL = {
    inference_types.JOB_STATE_FINALIZED,
    inference_types.JOB_STATE_EXPIRED,
    inference_types.JOB_STATE_CANCELLED,
    inference_types.JOB_STATE_DISPUTED,
}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class WorkerError(RuntimeError):
    """The worker cannot start: missing model, weights that do not match the chain, ..."""


class Worker:
    """One worker process (see the module docstring)."""

    def __init__(self, config: WorkerConfig):
        self.config = config
        self.store = CommitStore(config.state_dir)
        self.chain: ChainLink | None = None
        self.server: PipelineServer | None = None
        self.spans: list[HostedSpan] = []
        self._seen_jobs: set[int] = set()
        self._waiting: dict[tuple[int, int], asyncio.Future[SessionRecord]] = {}
        self._early: dict[tuple[int, int], SessionRecord] = {}
        self._refusals: dict[tuple[int, str], int] = {}  # (job, "commit"/"reveal") -> in a row
        self._tasks: set[asyncio.Task[Any]] = set()
        self._height_saved = 0
        self._opened: dict[int, tuple[bytes, bytes | None]] = {}  # sealed job -> (key, prompt)
        self.adversary = config.adversary or AdversaryConfig()  # honest unless configured
        self.metrics = WorkerMetrics()  # Prometheus, served on [metrics] listen when enabled
        self.accel = _route_accelerator(config)  # None: acceleration = "plain"

    # --- startup -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Start everything and serve until `stop` is set (or forever)."""
        self.metrics.serve(self.config.metrics)  # a busy address fails before anything loads
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.chain = ChainLink(
            rpc_url=self.config.node_rpc,
            grpc_address=self.config.node_grpc,
            wallet=_load_wallet(self.config),
            gas_price=self.config.gas_price,
            chain_id=self.config.chain_id or None,
        )
        log.info("worker %s starting", self.chain.address)
        self.spans = await asyncio.to_thread(self._load_spans)
        limits = ServerLimits(
            max_frame_bytes=self.config.max_frame_bytes,
            max_sessions=self.config.max_sessions,
            session_idle_timeout_s=self.config.session_idle_timeout_s,
        )
        grpc_server, self.server, port = await start_server(
            self.spans, self.config.listen, limits, on_session_done=self._on_session_done,
            frame_signer=FrameSigner(self.chain.wallet.signer().private_key_bytes),
            require_signed_frames=True,  # every worker on chain signs its frames (frames.py)
            metrics=self.metrics, output_hash_of=self._chain_output_hash,
        )  # fmt: skip
        log.info("serving %d span(s) on port %d", len(self.spans), port)
        try:
            await asyncio.to_thread(self._ensure_registered)
            for record in self.store.open_records():
                self._seen_jobs.add(record.job_id)
                self._spawn(self._resume(record))
            since = self.store.last_height()
            self._spawn(self.chain.watch_assignments(since, self._on_assignment, self._on_height))
            self._spawn(self._heartbeats())
            await (stop.wait() if stop is not None else asyncio.Future())
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self.server.shutdown()
            await grpc_server.stop(grace=1)
            self.chain.close()
            self.metrics.close()

    def _load_spans(self) -> list[HostedSpan]:
        """Load every configured span, verified against the model's commitments on chain."""
        assert self.chain is not None
        out = []
        for model in self.config.models:
            registered = self.chain.model(model.id)
            if registered is None:
                raise WorkerError(f"model {model.id!r} is not registered on chain")
            manifest = manifest_from_chain(registered, read_manifest(model.path))
            for start, end in model.spans:
                try:
                    shard = load_shard(
                        model.path,
                        start,
                        end,
                        dtype=DTYPES[self.config.dtype],
                        device=self.config.device,
                        manifest=manifest,
                    )
                    shard = cheating.serve_shard(shard, self.adversary.compute, model.path)
                except (WeightCommitmentError, ValueError) as err:
                    raise WorkerError(f"{model.id} [{start}, {end}): {err}") from None
                if self.adversary.compute.mode is not ComputeMode.HONEST:
                    log.warning(
                        "ADVERSARY: [%d, %d) cheats: %s", start, end, self.adversary.compute
                    )
                log.info("loaded %s layers [%d, %d), weights verified", model.id, start, end)
                out.append(
                    HostedSpan(
                        model_id=model.id, shard=shard, model_dir=model.path, accel=self.accel
                    )
                )
        return out

    def _ensure_registered(self) -> None:
        """Register, update the endpoint and announce the spans, as far as still needed."""
        assert self.chain is not None
        endpoint = self.config.advertised_endpoint
        worker = self.chain.worker()
        if worker is None:
            runtime = workers_types.Runtime(
                torch_version=torch.__version__.split("+")[0],
                transformers_version=transformers.__version__,
                dtype=self.config.dtype,
            )
            hardware = workers_types.Hardware(
                device=self.config.device,
                memory_bytes=self.config.memory_bytes or self._memory_needed(),
                throughput=self.config.throughput,
            )
            self.chain.register(
                endpoint=endpoint,
                hardware=hardware,
                runtime=runtime,
                encryption_pubkey=_encryption_pubkey(self.config.state_dir),
                stake=self.config.stake,
            )
            log.info("registered worker at %s", endpoint)
        elif worker.endpoint != endpoint:
            self.chain.update_endpoint(endpoint)
            log.info("endpoint updated to %s", endpoint)
        served = {(s.model_id, s.start, s.end) for s in worker.spans} if worker else set()
        for span in self.spans:
            key = (span.model_id, span.shard.span_start, span.shard.span_end)
            if key not in served:
                self.chain.serve_span(*key)
                log.info("announced %s layers [%d, %d)", *key)

    def _memory_needed(self) -> int:
        assert self.chain is not None
        total = 0
        for model in self.config.models:
            registered = self.chain.model(model.id)
            layers = sum(end - start for start, end in model.spans)
            total += 2 * layers * int(registered.bytes_per_layer if registered else 0)
        return max(total, 1)

    # --- events ------------------------------------------------------------------------------

    def _on_height(self, height: int) -> None:
        if height > self._height_saved:
            self._height_saved = height
            self.store.set_last_height(height)

    def _on_assignment(self, assignment: Assignment) -> None:
        if assignment.job_id in self._seen_jobs:
            return
        self._seen_jobs.add(assignment.job_id)
        log.info("assigned job %d at height %d", assignment.job_id, assignment.height)
        self._spawn(self._take_job(assignment.job_id))

    def _on_session_done(self, record: SessionRecord) -> None:
        key = (record.job_id, record.route_index)
        waiter = self._waiting.get(key)
        if waiter is not None and not waiter.done():
            waiter.set_result(record)
            return
        self._early[key] = record
        while len(self._early) > EARLY_OUTPUTS_KEPT:
            self._early.pop(next(iter(self._early)))

    # --- one job -----------------------------------------------------------------------------

    async def _take_job(self, job_id: int) -> None:
        assert self.chain is not None
        job = await asyncio.to_thread(self.chain.job, job_id)
        position = _find_hop(job, self.chain.address) if job is not None else None
        if job is None or position is None:
            return
        record = self.store.get(job_id) or JobRecord(job_id, *position)
        self.store.put(record)
        await self._resume(record, job=job)

    async def _resume(self, record: JobRecord, job: inference_types.Job | None = None) -> None:
        """Carry one job from wherever its record stands to REVEALED or ABANDONED."""
        assert self.chain is not None
        try:
            if job is None:
                job = await asyncio.to_thread(self.chain.job, record.job_id)
            if job is None:
                self._abandon(record, "the chain does not know the job")
                return
            if logic_is_sealed(job):
                job = await self._await_seal(job)
                if job is None:
                    self._abandon(record, "the submitter did not seal the job in time")
                    return
                try:
                    await asyncio.to_thread(self._open_seal, job, record)
                except sealing.SealingError as err:
                    if record.phase == commits.ASSIGNED:  # nothing committed: say so on chain
                        await asyncio.to_thread(self.chain.contest_seal, job.id)
                    self._abandon(record, f"the sealed box does not open ({err}); contested")
                    return
            if record.phase == commits.ASSIGNED:
                output = await self._output(job, record)
                if output is None:
                    self._abandon(record, "no output for this hop")
                    return
                tokens, fingerprint = output
                if self.adversary.protocol.mode is ProtocolMode.COLLUDE:
                    tokens = cheating.claimed_tokens(
                        tokens, record.route_index, self.adversary.protocol, self._vocab_size(job)
                    )
                address = _raw_address(self.chain.address)
                if logic_is_sealed(job):
                    record = _with_sealed_output(
                        record, tokens, fingerprint, address, self._opened[job.id][0]
                    )
                else:
                    record = record.with_output(tokens, fingerprint, address)
                self.store.put(record)
                log.info("job %d: output of %d tokens, committing", job.id, len(tokens))
            record = await self._commit(record)
            if record.phase == commits.COMMITTED or record.phase == commits.REVEAL_SENT:
                if self.adversary.protocol.mode in cheating.INSTEAD_OF_REVEAL:
                    record = await self._act_instead_of_revealing(record)
                else:
                    record = await self._reveal(record)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # one job's failure must not stop the worker
            self.metrics.error("job_failed")
            log.exception("job %d failed", record.job_id)
            self._abandon(record, f"{type(err).__name__}: {err}")

    async def _output(
        self, job: inference_types.Job, record: JobRecord
    ) -> tuple[tuple[int, ...], bytes] | None:
        """(tokens, fingerprint): drive the route on the first hop, else wait for the session."""
        if record.hop_index == 0:
            try:
                result = await self.metrics.track_route(self._drive(job, record.route_index))
            except (RouteError, ShardError, ValueError) as err:
                log.warning("job %d route %d failed: %s", job.id, record.route_index, err)
                return None
            return tuple(result.tokens), result.fingerprint
        key = (job.id, record.route_index)
        session: SessionRecord | None
        if key in self._early:
            session = self._early.pop(key)
        else:
            waiter = self._waiting.setdefault(key, asyncio.get_running_loop().create_future())
            try:
                session = await self._wait_session(waiter, job)
            finally:
                self._waiting.pop(key, None)
        if session is None or session.hop_index != record.hop_index:
            return None
        return session.tokens, session.fingerprint

    async def _wait_session(
        self, waiter: asyncio.Future[SessionRecord], job: inference_types.Job
    ) -> SessionRecord | None:
        """The session's record, or None once the commit window has closed without it."""
        assert self.chain is not None
        while True:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(waiter), 2.0)
            if await asyncio.to_thread(self.chain.height) > job.commit_end_height:
                return None

    async def _drive(self, job: inference_types.Job, route_index: int) -> Any:
        assert self.server is not None
        hops = tuple(
            HopSpec(h.worker, h.endpoint, h.layer_start, h.layer_end)
            for h in job.routes[route_index].hops
        )
        span = self._span(job.model_id, hops[0].start, hops[0].end)
        shard = span.shard
        tokenizer = PromptTokenizer(span.model_dir, int(shard.config.vocab_size))
        sampling = job.decoding.mode == inference_types.DECODING_MODE_SAMPLING
        request = RouteRequest(
            job_id=job.id,
            route_index=route_index,
            model_id=job.model_id,
            hops=hops,
            prompt_ids=tuple(tokenizer.encode(self._prompt_of(job))),
            max_new_tokens=job.max_new_tokens,
            eos_ids=frozenset(eos_token_ids(shard.config)),
            decoding=DecodingSpec(
                sample=sampling,
                temperature_milli=job.decoding.temperature_milli or 1000,
                top_k=job.decoding.top_k,
                seed=int.from_bytes(job.seed[:8], "big"),
            ),
            codec=self.config.codec,
            candidates=await asyncio.to_thread(self._candidates, job, hops),
            progress_timeout_s=self.config.progress_timeout_s,
            exclude_workers=frozenset(h.worker for r in job.routes for h in r.hops),
            rejoin_timeout_s=self.config.rejoin_timeout_s,
            output_key=self._opened[job.id][0] if logic_is_sealed(job) else None,
        )
        log.info("job %d: driving route %d over %d hops", job.id, route_index, len(hops))
        # The submitter may watch a public job's tokens as they come (Pipeline.WatchTokens,
        # token_watch.py); a sealed job's never go out in plaintext.
        if job.privacy != inference_types.PRIVACY_MODE_PUBLIC:
            return await drive_route(
                shard, request, channels=self.server.channels, executor=self.server.executor,
                signer=self.server.frame_signer, accel=span.accel,
            )  # fmt: skip
        hub = self.server.tokens
        hub.open(job.id, route_index, _raw_address(job.submitter))
        try:
            result = await drive_route(
                shard, request, channels=self.server.channels, executor=self.server.executor,
                signer=self.server.frame_signer, accel=span.accel,
                on_token=lambda step, token: hub.push(job.id, route_index, step, token),
            )  # fmt: skip
        except BaseException as err:
            hub.finish(job.id, route_index, error=f"{type(err).__name__}: {err}")
            raise
        hub.finish(job.id, route_index, stopped_at_eos=result.stopped_at_eos)
        return result

    def _candidates(
        self, job: inference_types.Job, hops: tuple[HopSpec, ...]
    ) -> tuple[HopSpec, ...]:
        """Other operators serving one of the route's spans (only when configured to use
        them: the chain credits a route's own hops only)."""
        if not self.config.replace_with_other_workers or self.chain is None:
            return ()
        spans = {h.span for h in hops}
        out = []
        for worker in self.chain.client.workers():
            for span in worker.spans:
                if span.model_id == job.model_id and (span.start, span.end) in spans:
                    out.append(HopSpec(worker.operator, worker.endpoint, span.start, span.end))
        return tuple(out)

    def _vocab_size(self, job: inference_types.Job) -> int:
        span = next(s for s in self.spans if s.model_id == job.model_id)
        return int(span.shard.config.vocab_size)

    def _span(self, model_id: str, start: int, end: int) -> HostedSpan:
        for span in self.spans:
            if (span.model_id, span.shard.span_start, span.shard.span_end) == (
                model_id,
                start,
                end,
            ):
                return span
        raise RouteError(f"this worker does not serve {model_id} [{start}, {end})")

    # --- sealed jobs -------------------------------------------------------------------------

    async def _chain_output_hash(self, job_id: int, tokens: tuple[int, ...]) -> bytes | None:
        """The output hash the chain compares for `tokens` of job `job_id`, which this hop's
        late probes and signatures derive from (server.OutputHasher): for a sealed job the
        sealed hash under the output key its box gave (waited for while the commit window is
        open; None after it), never the plain hash a guessed output would confirm."""
        assert self.chain is not None
        job = None
        for _ in range(10):  # a passing query failure must not cost a public job its reveal
            try:
                job = await asyncio.to_thread(self.chain.job, job_id)
                break
            except ClientError:
                await asyncio.sleep(POLL_S)
        if job is None:
            return None
        if not logic_is_sealed(job):
            return commits.compute_output_hash(tokens)
        while job_id not in self._opened:
            if job.state in TERMINAL or await asyncio.to_thread(self.chain.height) > (
                job.commit_end_height
            ):
                return None
            await asyncio.sleep(POLL_S)
        return commits.compute_chain_output_hash(tokens, self._opened[job_id][0])

    async def _await_seal(self, job: inference_types.Job) -> inference_types.Job | None:
        """The job once its submitter sealed it; None when the seal window passed without
        it or the job closed."""
        assert self.chain is not None
        while job.sealed.sealed_height == 0:
            if job.state in TERMINAL:
                return None
            if await asyncio.to_thread(self.chain.height) > job.sealed.seal_end_height:
                return None
            await asyncio.sleep(POLL_S)
            fresh = await asyncio.to_thread(self.chain.job, job.id)
            if fresh is None:
                return None
            job = fresh
        return job

    def _open_seal(self, job: inference_types.Job, record: JobRecord) -> None:
        """Open this hop's box (cached): the output key, and on a first hop the prompt."""
        if job.id in self._opened:
            return
        assert self.chain is not None
        seals = self.chain.job_seals(job.id)
        box = seals.routes[record.route_index].boxes[record.hop_index]
        first = record.hop_index == 0
        place = sealing.Place(
            self.chain.chain_id,
            job.id,
            record.route_index,
            record.hop_index,
            sealing.PURPOSE_PROMPT if first else sealing.PURPOSE_KEY,
        )
        opened = sealing.open_box(_encryption_private(self.config.state_dir), box, place)
        if first:
            self._opened[job.id] = sealing.decode_prompt_payload(opened)
        else:
            self._opened[job.id] = (sealing.decode_key_payload(opened), None)
        log.info("job %d: opened the sealed box of route %d hop %d", job.id, place.route, place.hop)

    def _prompt_of(self, job: inference_types.Job) -> bytes:
        if not logic_is_sealed(job):
            return bytes(job.prompt)
        prompt = self._opened[job.id][1]
        if prompt is None:
            raise RouteError(f"job {job.id}: only a first hop holds the prompt")
        return prompt

    def _sealed_reveal(self, job: inference_types.Job, record: JobRecord) -> Callable[[], TxResult]:
        """The reveal of a sealed hop: keyed output hash, token count, and on a first hop the
        output sealed to the submitter's reply key."""
        assert self.chain is not None
        output_key = self._opened[job.id][0]
        sealed_output = b""
        if record.hop_index == 0:
            place = sealing.Place(
                self.chain.chain_id, job.id, record.route_index, 0, sealing.PURPOSE_OUTPUT
            )
            payload = sealing.encode_output_payload(record.tokens)
            sealed_output = sealing.seal(bytes(job.sealed.reply_pubkey), payload, place)
        return functools.partial(
            self.chain.reveal_sealed,
            record.job_id,
            keyed_output_hash=sealing.compute_keyed_output_hash(output_key, record.tokens),
            token_count=len(record.tokens),
            sealed_output=sealed_output,
            fingerprint=bytes.fromhex(record.fingerprint),
            salt=bytes.fromhex(record.salt),
        )

    # --- commit and reveal -------------------------------------------------------------------

    async def _commit(self, record: JobRecord) -> JobRecord:
        """Bring the record to COMMITTED (or ABANDONED); sends at most what the chain lacks."""
        chain = self.chain
        assert chain is not None
        while record.phase in (commits.OUTPUT, commits.COMMIT_SENT):
            key = (record.job_id, record.route_index, record.hop_index)
            if await asyncio.to_thread(chain.has_committed, *key):
                record = self._save(record.advance(commits.COMMITTED))
                break
            height = await asyncio.to_thread(chain.height)
            if record.phase == commits.COMMIT_SENT:
                status = await self._tx_status(record.commit_txhash)
                if status == "pending" and height <= record.commit_height + RESEND_AFTER_BLOCKS:
                    await asyncio.sleep(POLL_S)
                    continue
            job = await asyncio.to_thread(chain.job, record.job_id)
            if job is None or height >= job.commit_end_height or job.state in TERMINAL:
                return self._abandon(record, "the commit window closed")
            # Record the intent first: after a crash the chain is checked before sending again.
            record = self._save(
                record.advance(commits.COMMIT_SENT, commit_height=height, commit_txhash="")
            )
            result = await self._broadcast(
                record, "commit", chain.commit, record.job_id, bytes.fromhex(record.commitment)
            )
            if result is None:
                continue  # refused this time: the loop checks the chain and the window again
            record = self._save(replace(record, commit_txhash=result.txhash))
            log.info("job %d: commit broadcast (%s)", record.job_id, result.txhash[:12])
        return record

    async def _reveal(self, record: JobRecord) -> JobRecord:
        """Bring a committed record to REVEALED (or ABANDONED) once reveals are open."""
        chain = self.chain
        assert chain is not None
        key = (record.job_id, record.route_index, record.hop_index)
        while record.phase in (commits.COMMITTED, commits.REVEAL_SENT):
            job = await asyncio.to_thread(chain.job, record.job_id)
            height = await asyncio.to_thread(chain.height)
            if await asyncio.to_thread(chain.has_revealed, *key):
                record = self._save(record.advance(commits.REVEALED))
                log.info("job %d: revealed", record.job_id)
                break
            if job is None or job.state in TERMINAL or height > job.reveal_end_height:
                return self._abandon(record, "the reveal window closed")
            if job.state != inference_types.JOB_STATE_REVEALING:
                await asyncio.sleep(POLL_S)
                continue
            if record.phase == commits.REVEAL_SENT:
                status = await self._tx_status(record.reveal_txhash)
                if status == "pending":
                    await asyncio.sleep(POLL_S)
                    continue
            send = (
                self._sealed_reveal(job, record)
                if logic_is_sealed(job)
                else functools.partial(
                    chain.reveal,
                    record.job_id,
                    tokens=record.tokens,
                    fingerprint=bytes.fromhex(record.fingerprint),
                    salt=bytes.fromhex(record.salt),
                )
            )
            result = await self._broadcast(record, "reveal", send)
            if result is None:
                continue
            record = self._save(record.advance(commits.REVEAL_SENT, reveal_txhash=result.txhash))
            log.info("job %d: reveal broadcast (%s)", record.job_id, result.txhash[:12])
        return record

    async def _act_instead_of_revealing(self, record: JobRecord) -> JobRecord:
        """The adversary's step after its commit; the record ends REVEALED only if the chain
        took its reveal (a copied reveal of identical bytes is accepted)."""
        assert self.chain is not None
        note = await cheating.act_after_commit(self.chain, record, self.adversary.protocol)
        log.warning("ADVERSARY: job %d: %s", record.job_id, note)
        key = (record.job_id, record.route_index, record.hop_index)
        if await asyncio.to_thread(self.chain.has_revealed, *key):
            return self._save(record.advance(commits.REVEALED, note=note))
        return self._abandon(record, note)

    async def _broadcast(
        self, record: JobRecord, what: str, send: Callable[..., TxResult], *args: Any
    ) -> TxResult | None:
        """``send(*args)`` on a thread; None after a refusal worth another try, which the
        caller makes after re-reading the chain (a block committed between the worker's reads
        and the node's checks, a node restarting); raises after BROADCAST_ATTEMPTS in a row."""
        key = (record.job_id, what)
        try:
            result = await asyncio.to_thread(send, *args)
        except ClientError as err:
            self.metrics.error("broadcast_refused")
            failures = self._refusals[key] = self._refusals.get(key, 0) + 1
            if failures >= BROADCAST_ATTEMPTS:
                del self._refusals[key]
                raise
            log.warning("job %d: %s refused (%s), trying again", record.job_id, what, err)
            await asyncio.sleep(POLL_S)
            return None
        self._refusals.pop(key, None)
        return result

    async def _tx_status(self, txhash: str) -> str:
        """ "pending" (not on chain yet, or no hash), "ok" or "failed"."""
        assert self.chain is not None
        if not txhash:
            return "pending"
        result = await asyncio.to_thread(self.chain.tx, txhash)
        if result is None:
            return "pending"
        return "ok" if result.ok else "failed"

    def _save(self, record: JobRecord) -> JobRecord:
        self.store.put(record)
        self.metrics.job_saved(record.phase)  # counts the revealed and abandoned ones
        return record

    def _abandon(self, record: JobRecord, why: str) -> JobRecord:
        log.warning("job %d: giving up (%s)", record.job_id, why)
        return self._save(record.advance(commits.ABANDONED, note=why))

    # --- liveness ----------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        assert self.chain is not None
        last = 0
        while True:
            try:
                height = await asyncio.to_thread(self.chain.height)
                if height >= last + self.config.heartbeat_every_blocks:
                    await asyncio.to_thread(self.chain.heartbeat)
                    last = height
            except Exception as err:  # a missed heartbeat is retried next round
                self.metrics.error("heartbeat")
                log.warning("heartbeat failed: %s", err)
            await asyncio.sleep(1.0)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# --- helpers ---------------------------------------------------------------------------------


def _route_accelerator(config: WorkerConfig) -> HopAccelerator | None:
    """The worker's acceleration of its route sessions (accel/hop.py), or None for "plain"
    (nothing imported, nothing changes). A setting routes cannot apply (prompt lookup, the
    static cache) or a LOSSY method (a route runs the job's precision class) stops the worker
    here with the typed error's code rather than failing every job later."""
    if config.acceleration == "plain":
        return None
    from inference_worker.accel.hop import HopAccelerator
    from inference_worker.accel.methods import AccelError

    try:
        return HopAccelerator(config.acceleration)
    except AccelError as err:
        raise WorkerError(
            f"acceleration {config.acceleration!r} (code {err.code}): {err}"
        ) from None


def manifest_from_chain(model: Any, local: Manifest) -> Manifest:
    """The manifest the chain registered for `model`; optional commitments the chain lacks
    (config, embedding, head) fall back to the local manifest's (unverified against the chain)."""
    return Manifest(
        name=local.name,
        family=model.family,
        model_type=local.model_type,
        num_layers=int(model.num_layers),
        hidden_size=local.hidden_size,
        vocab_size=local.vocab_size,
        dtype=model.dtype,
        config_hash=model.config_hash.hex() or local.config_hash,
        tokenizer_hash=model.tokenizer_hash.hex(),
        embed_commitment=model.embed_commitment.hex() or local.embed_commitment,
        head_commitment=model.head_commitment.hex() or local.head_commitment,
        layer_commitments=tuple(c.hex() for c in model.layer_commitments),
        weights_root=model.weights_root.hex(),
    )


def _find_hop(job: inference_types.Job, address: str) -> tuple[int, int] | None:
    for route_index, route in enumerate(job.routes):
        for hop_index, hop in enumerate(route.hops):
            if hop.worker == address:
                return route_index, hop_index
    return None


def _raw_address(bech32: str) -> bytes:
    from chain import crypto

    return crypto.from_bech32(bech32)


def _load_wallet(config: WorkerConfig) -> Any:
    from chain.keyring import Keyring, wallet_from_mnemonic

    if config.mnemonic_file is not None:
        return wallet_from_mnemonic(Path(config.mnemonic_file).read_text().strip())
    return Keyring(config.keyring_home).get(config.key).wallet()


def _encryption_private(state_dir: Path) -> bytes:
    """This worker's raw X25519 private key (32 bytes) in STATE_DIR/encryption.key, made once."""
    path = Path(state_dir) / "encryption.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sealing.generate_private_key())
        path.chmod(0o600)
    return path.read_bytes()


def _encryption_pubkey(state_dir: Path) -> bytes:
    """This worker's X25519 public key (registered on chain; submitters seal boxes to it)."""
    return sealing.public_key(_encryption_private(state_dir))


def logic_is_sealed(job: inference_types.Job) -> bool:
    return job.privacy == inference_types.PRIVACY_MODE_SEALED


def _with_sealed_output(
    record: JobRecord, tokens: Any, fingerprint: bytes, worker: bytes, output_key: bytes
) -> JobRecord:
    """``JobRecord.with_output`` for a sealed job: the commitment binds the sealed output hash
    (keyed hash and token count), the one the chain recomputes from the reveal."""
    salt = secrets.token_bytes(32)
    keyed = sealing.compute_keyed_output_hash(output_key, tokens)
    output_hash = sealing.compute_sealed_output_hash(keyed, len(tokens))
    commitment = hashlib.sha256(
        output_hash + hashlib.sha256(fingerprint).digest() + salt + worker
    ).digest()
    return record.advance(
        commits.OUTPUT,
        tokens=tuple(int(t) for t in tokens),
        fingerprint=fingerprint.hex(),
        salt=salt.hex(),
        commitment=commitment.hex(),
    )
