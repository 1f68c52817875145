"""A ZK worker's lifecycle: watch the jobs assigned to it, prove each one, submit the proof.

    worker = ZkWorker(ZkWorkerConfig(...), wallet, prover=SnarkjsProver())
    asyncio.run(worker.run(stop))        # scripts/demo_zk.py, tests/integration/test_zk_worker.py

A worker serving a ZK model (one whose model has a verifying key on chain) runs no pipeline: the
circuit is the model. Steps:

1. **Check**: the model exists on chain and its key (``key_id``) is the one linked to it, and is
   the key of the local circuit (same canonical bytes): a worker never proves for another key.
2. **Register**: when the operator has no worker yet, MsgRegisterWorker; MsgServeSpan over all
   of the model's layers, so the chain assigns it the model's jobs.
3. **Jobs**: assignments arrive from `ChainLink.watch_assignments` (websocket, with catch-up
   after a reconnect or a restart from ``state_dir/last_height``). For each job: skip it when
   the chain already holds a pending or verified proof (restarts never resubmit); read the input
   from the prompt (``zk1:<commitment>:<payload>``, modules/zk/logic.py); prove off the event
   loop (the prover interface: ``prove(circuit, inputs, workdir)``); check the proof's last public
   input is the commitment the job declares (else the submitter's payload is not what it
   committed to: nothing to gain by submitting); send MsgSubmitProof; follow the record until the
   end-block batch decides it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import re
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import chain.pb  # noqa: F401  (puts the generated packages on sys.path)

import structlog

from chain.client import ClientError, QueryError
from infera.inference.v1 import types_pb2 as inference_types
from infera.workers.v1 import types_pb2 as workers_types
from infera.zk.v1 import query_pb2 as zk_query
from infera.zk.v1 import tx_pb2 as zk_tx
from infera.zk.v1 import types_pb2 as zk_types
from inference_worker.node.chain import Assignment, ChainLink
from inference_worker.zk.snarkjs import Circuit, ProofResult
from modules.zk import encoding, logic

log = structlog.get_logger("infera.zk.worker")

POLL_S = 0.3  # pause between reads of a proof record while the batch has not decided it
DECIDE_TIMEOUT_S = 60.0  # a submitted proof the chain has not decided by then is left to it
OPEN_STATES = logic.OPEN_STATES
HEIGHT = re.compile(r"[0-9]{1,19}")  # state_dir/last_height (fullmatch)
REGISTER_TIMEOUT_S = 30.0  # registration and MsgServeSpan must be on chain by then
SUBMIT_GAS = 3_000_000  # verify_gas (2,000,000) and the message's own costs (no simulation)


class Prover(Protocol):
    """The prover interface (`SnarkjsProver`, `WarmSnarkjsProver`)."""

    def prove(self, circuit: Circuit, inputs: dict[str, Any], workdir: Path) -> ProofResult: ...


# A job's payload (the prompt after "zk1:<commitment>:") -> the circuit's input.json.
InputsFromPayload = Callable[[str], dict[str, Any]]


class ZkWorkerError(RuntimeError):
    """The worker cannot start: unknown model, no key on chain, a key that is not the circuit's."""


@dataclass(frozen=True)
class ZkWorkerConfig:
    node_rpc: str  # CometBFT RPC, e.g. http://127.0.0.1:26657
    node_grpc: str  # the node's gRPC, host:port
    model_id: str  # the ZK model this worker serves
    key_id: str  # its verifying key on chain (must be the model's and the circuit's)
    state_dir: Path  # last seen height and proving work folders
    chain_id: str = ""  # "" = ask the node
    gas_price: str = "0.025"  # uinfera per gas
    stake: int = 2_000_000  # uinfera bonded when the worker registers itself
    endpoint: str = "zk-prover.invalid:1"  # no pipeline: the endpoint is a label
    memory_bytes: int = 100_000  # declared hardware (a ZK prover needs little)
    throughput: int = 10  # declared throughput


@dataclass(frozen=True)
class ProvedJob:
    """What the worker did with one job (kept in memory for callers and tests)."""

    job_id: int
    status: int  # zk_types.PROOF_STATUS_*; 0 when nothing was submitted
    code: int  # the chain's rejection code, 0 otherwise
    prove_seconds: float
    note: str


class ZkWorker:
    """One ZK proving worker (see the module docstring)."""

    def __init__(
        self,
        config: ZkWorkerConfig,
        wallet: Any,
        *,
        circuit: Circuit,
        prover: Prover,
        inputs_from_payload: InputsFromPayload,
    ):
        self.config = config
        self.wallet = wallet
        self.circuit = circuit
        self.prover = prover
        self.inputs_from_payload = inputs_from_payload
        self.chain: ChainLink | None = None
        self.done: dict[int, ProvedJob] = {}
        self._seen: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ready = threading.Event()  # set once the chain shows this worker serving the model
        self._prove_lock = asyncio.Lock()  # one proof at a time (the prover uses every core)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Check, register, then prove assigned jobs until ``stop`` is set (or forever)."""
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.chain = ChainLink(
            rpc_url=self.config.node_rpc,
            grpc_address=self.config.node_grpc,
            wallet=self.wallet,
            gas_price=self.config.gas_price,
            chain_id=self.config.chain_id or None,
        )
        try:
            await asyncio.to_thread(self._check_key)
            await asyncio.to_thread(self._ensure_registered)
            since = self._last_height()
            log.info("zk worker watching", address=self.chain.address, since=since,
                     model=self.config.model_id, key=self.config.key_id)  # fmt: skip
            self._spawn(self.chain.watch_assignments(since, self._on_assignment, self._on_height))
            await (stop.wait() if stop is not None else asyncio.Future())
        finally:
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*self._tasks, return_exceptions=True)
            self.chain.close()

    # --- startup -----------------------------------------------------------------------------

    def _check_key(self) -> None:
        """The model exists, its key on chain is ``key_id``, and equals the local circuit's."""
        assert self.chain is not None
        model = self.chain.model(self.config.model_id)
        if model is None:
            raise ZkWorkerError(f"model {self.config.model_id!r} is not registered on chain")
        try:
            key = self.chain.client.query(
                "/infera.zk.v1.Query/VerifyingKey",
                zk_query.QueryVerifyingKeyRequest(id=self.config.key_id),
                zk_query.QueryVerifyingKeyResponse,
            ).key
        except QueryError as err:
            raise ZkWorkerError(f"verifying key {self.config.key_id!r}: {err}") from None
        if key.model_id != self.config.model_id:
            raise ZkWorkerError(f"key {key.id!r} belongs to model {key.model_id!r}")
        local = encoding.verifying_key_from_snarkjs(self.circuit.verification_key())
        if bytes(key.key) != bytes(local):
            raise ZkWorkerError(f"key {key.id!r} on chain is not this circuit's key")
        if key.dev_setup:
            log.warning("the model's key comes from a development setup (forgeable)", key=key.id)

    def _ensure_registered(self) -> None:
        assert self.chain is not None
        model = self.chain.model(self.config.model_id)
        assert model is not None
        worker = self.chain.worker()
        if worker is None:
            self.chain.register(
                endpoint=self.config.endpoint,
                hardware=workers_types.Hardware(
                    device="cpu",
                    memory_bytes=self.config.memory_bytes,
                    throughput=self.config.throughput,
                ),
                runtime=workers_types.Runtime(
                    torch_version=_version("torch"),
                    transformers_version=_version("transformers"),
                    dtype=model.dtype or "float32",
                ),
                encryption_pubkey=bytes(32),  # a ZK prover takes no encrypted prompts
                stake=self.config.stake,
            )
            log.info("registered zk worker", endpoint=self.config.endpoint)
        span = (self.config.model_id, 0, int(model.num_layers))
        served = {(s.model_id, s.start, s.end) for s in worker.spans} if worker else set()
        if span not in served:
            self.chain.serve_span(*span)
            log.info("serving model", model=span[0], layers=span[2])
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while not self._serves(span):  # the transactions above may still be in the mempool
            if time.monotonic() > deadline:
                raise ZkWorkerError(f"the chain does not show this worker serving {span}")
            time.sleep(POLL_S)
        self.ready.set()

    def _serves(self, span: tuple[str, int, int]) -> bool:
        assert self.chain is not None
        worker = self.chain.worker()
        return worker is not None and span in {(s.model_id, s.start, s.end) for s in worker.spans}

    # --- events ------------------------------------------------------------------------------

    def _last_height(self) -> int:
        path = self.config.state_dir / "last_height"
        text = path.read_text().strip() if path.is_file() else ""
        return int(text) if HEIGHT.fullmatch(text) else 0

    def _on_height(self, height: int) -> None:
        (self.config.state_dir / "last_height").write_text(str(height))

    def _on_assignment(self, assignment: Assignment) -> None:
        if assignment.job_id in self._seen:
            return
        self._seen.add(assignment.job_id)
        log.info("assigned", job=assignment.job_id, height=assignment.height)
        self._spawn(self._take_job(assignment.job_id))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one job -----------------------------------------------------------------------------

    async def _take_job(self, job_id: int) -> None:
        try:
            result = await self._prove_and_submit(job_id)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # one job's failure must not stop the worker
            log.exception("zk job failed", job=job_id)
            result = ProvedJob(job_id, 0, 0, 0.0, f"{type(err).__name__}: {err}")
        self.done[job_id] = result
        log.info("zk job done", job=job_id, status=zk_types.ProofStatus.Name(result.status),
                 code=result.code, prove_s=round(result.prove_seconds, 3), note=result.note)  # fmt: skip

    async def _prove_and_submit(self, job_id: int) -> ProvedJob:
        chain = self.chain
        assert chain is not None
        job = await asyncio.to_thread(chain.job, job_id)
        if job is None or job.model_id != self.config.model_id:
            return ProvedJob(job_id, 0, 0, 0.0, "not a job of this worker's model")
        if job.state not in OPEN_STATES:
            return ProvedJob(
                job_id, 0, 0, 0.0, f"job is {inference_types.JobState.Name(job.state)}"
            )
        record = await asyncio.to_thread(self._record, job_id)
        if record is not None and record.status != zk_types.PROOF_STATUS_REJECTED:
            return ProvedJob(job_id, record.status, record.code, 0.0, "already proven")
        declared = logic.compute_declared_input(bytes(job.prompt))
        if declared is None or declared < 0:
            return ProvedJob(job_id, 0, 0, 0.0, "the prompt declares no valid input commitment")
        try:
            inputs = self.inputs_from_payload(payload_of(bytes(job.prompt)))
        except (ValueError, UnicodeDecodeError) as err:
            return ProvedJob(job_id, 0, 0, 0.0, f"payload: {err}")
        log.info("proving", job=job_id)
        async with self._prove_lock:
            proof = await asyncio.to_thread(
                self.prover.prove, self.circuit, inputs, self.config.state_dir / f"job-{job_id}"
            )
        log.info("proved", job=job_id, seconds=round(proof.seconds, 3), public=proof.public)
        if int(proof.public[-1]) != declared:
            return ProvedJob(job_id, 0, 0, proof.seconds, "the payload is not the committed input")
        msg = zk_tx.MsgSubmitProof(
            prover=chain.address,
            job_id=job_id,
            proof=encoding.proof_from_snarkjs(proof.proof),
            public_inputs=encoding.public_inputs_from_snarkjs(proof.public),
        )
        try:
            sent = await asyncio.to_thread(
                chain.client.execute, self.wallet, [msg], gas=SUBMIT_GAS, wait=True
            )
        except ClientError as err:
            return ProvedJob(job_id, 0, 0, proof.seconds, f"refused: {err}")
        log.info("proof submitted", job=job_id, txhash=sent.txhash[:12], height=sent.height)
        return await self._await_verdict(job_id, proof.seconds)

    async def _await_verdict(self, job_id: int, seconds: float) -> ProvedJob:
        """Follow the proof record until the end-block batch has decided it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DECIDE_TIMEOUT_S
        while loop.time() < deadline:
            record = await asyncio.to_thread(self._record, job_id)
            if record is not None and record.status != zk_types.PROOF_STATUS_PENDING:
                note = "verified" if record.status == zk_types.PROOF_STATUS_VERIFIED else "rejected"
                return ProvedJob(job_id, record.status, record.code, seconds, note)
            await asyncio.sleep(POLL_S)
        return ProvedJob(job_id, zk_types.PROOF_STATUS_PENDING, 0, seconds, "undecided")

    def _record(self, job_id: int) -> zk_types.ProofRecord | None:
        assert self.chain is not None
        try:
            response = self.chain.client.query(
                "/infera.zk.v1.Query/JobProof",
                zk_query.QueryJobProofRequest(job_id=job_id),
                zk_query.QueryJobProofResponse,
            )
        except QueryError as err:
            if "(codespace zk, code 21)" in err.details:  # ErrProofNotFound
                return None  # no proof submitted for the job yet
            raise
        return response.record


def _version(package: str) -> str:
    """An installed package's version without importing it (a ZK prover needs no torch)."""
    try:
        return importlib.metadata.version(package).split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return "none"


def digits_inputs(payload: str) -> dict[str, Any]:
    """The digits circuit's input.json from a job's payload (64 pixel characters)."""
    from inference_worker.zk import circuit, digits

    return circuit.witness_input(digits.decode_pixels(payload))


def digits_prompt(commitment: str | int, pixels: list[int]) -> bytes:
    """A digits job's prompt: ``zk1:<commitment, 64 hex>:<64 pixel characters>``."""
    from inference_worker.zk import digits

    value = int(commitment)
    return f"zk1:{value:064x}:{digits.encode_pixels(pixels)}".encode("ascii")


def payload_of(prompt: bytes) -> str:
    """The payload of a ``zk1:<commitment>:<payload>`` prompt ("" when there is none)."""
    parts = prompt.decode("ascii").split(":", 2)
    return parts[2] if len(parts) == 3 else ""
