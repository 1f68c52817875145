"""What the explorer shows, read from the node's gRPC port (``chain.rest.caller``) per page view.

Everything is read live, at the latest height, with bounded fan-out: at most ``MAX_MODELS``
models, ``MAX_WORKERS`` workers, the ``RECENT_JOBS`` most recent jobs and ``MAX_OPEN`` open
verifications (disputes and audits awaiting a verdict). Calls run concurrently; a service the node
does not serve (UNIMPLEMENTED, e.g. the tee module on a chain without it) shows as "none", never
as an error page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import chain.pb  # noqa: F401

import grpc
import structlog

from chain.rest.caller import GrpcCaller
from chain.rest.errors import RestError
from cosmos.base.query.v1beta1 import pagination_pb2 as cosmos_page
from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb2
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.base.v1 import pagination_pb2 as infera_page
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import query_pb2 as models_query
from infera.sharding.v1 import query_pb2 as sharding_query
from infera.staking.v1 import query_pb2 as staking_query
from infera.tee.v1 import query_pb2 as tee_query
from infera.workers.v1 import query_pb2 as workers_query

log = structlog.get_logger("explorer")
MAX_MODELS = 50
MAX_WORKERS = 200
MAX_VALIDATORS = 100
RECENT_JOBS = 25  # jobs on the overview, newest first
MAX_OPEN = 25  # open disputes / audits shown
JOB_WINDOWS = (100, 1_000, 10_000, 0)  # blocks back searched for recent jobs (0: all)
JOB_PAGE = 200  # jobs per Jobs page
JOB_PAGES = 5  # most pages read per window
ITEM_ERRORS = frozenset({grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.NOT_FOUND,
                         grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION})  # fmt: skip


@dataclass(frozen=True)
class ValidatorView:
    moniker: str
    operator: str
    tokens: str
    jailed: bool
    consensus_address: str  # bech32 valcons ("" when not in the CometBFT set)
    voting_power: int


@dataclass(frozen=True)
class WorkerView:
    worker: Any  # infera.workers.v1.Worker
    stake: str
    reputation: int  # micro-units, 1_000_000 = 1.0
    active: bool
    attestation: str  # "none", or "<tee type> <tcb status> (valid|expired)"


@dataclass(frozen=True)
class ModelView:
    model: Any  # infera.models.v1.Model
    coverage: Any | None  # infera.sharding.v1.QueryCoverageResponse; None if unavailable


@dataclass(frozen=True)
class JobView:
    job: Any  # infera.inference.v1.Job
    history: Any | None  # infera.agreement.v1.QueryJobHistoryResponse


@dataclass(frozen=True)
class Overview:
    chain_id: str
    height: int
    block_time: str
    validators: list[ValidatorView]
    models: list[ModelView]
    workers: list[WorkerView]
    jobs: list[JobView]
    open_verifications: list[JobView]


class ChainReader:
    """The explorer's queries, over one ``GrpcCaller``."""

    def __init__(self, caller: GrpcCaller) -> None:
        self.caller = caller

    async def optional(self, path: str, request: Any, response_class: type[Any]) -> Any | None:
        """``path``'s answer, or None when the node lacks the method or the item, or refuses the
        request (one model or worker never breaks the page); node failures still raise."""
        try:
            return await self.caller.call(path, request, response_class)
        except RestError as err:
            if err.status in ITEM_ERRORS:
                if err.status == grpc.StatusCode.INVALID_ARGUMENT:
                    log.info("explorer item skipped", path=path, error=err.message)
                return None
            raise

    async def latest_header(self) -> Any:
        block = await self.caller.call("/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock",
                                       tm_query.GetLatestBlockRequest(),
                                       tm_query.GetLatestBlockResponse)  # fmt: skip
        return block.sdk_block.header

    async def height(self) -> int:
        return int((await self.latest_header()).height)

    async def overview(self) -> Overview:
        header = await self.latest_header()
        validators, models, workers, jobs, open_jobs = await asyncio.gather(
            self.validators(), self.models(), self.workers(), self.recent_jobs(int(header.height)),
            self.open_verifications(),
        )  # fmt: skip
        return Overview(header.chain_id, int(header.height), header.time.ToJsonString(),
                        validators, models, workers, jobs, open_jobs)  # fmt: skip

    async def validators(self) -> list[ValidatorView]:
        staking = await self.caller.call("/infera.staking.v1.Query/Validators",
            staking_query.QueryValidatorsRequest(pagination=infera_page.PageRequest(limit=MAX_VALIDATORS)),
            staking_query.QueryValidatorsResponse)  # fmt: skip
        cometbft = await self.caller.call("/cosmos.base.tendermint.v1beta1.Service/GetLatestValidatorSet",
            tm_query.GetLatestValidatorSetRequest(pagination=cosmos_page.PageRequest(limit=MAX_VALIDATORS)),
            tm_query.GetLatestValidatorSetResponse)  # fmt: skip
        power: dict[bytes, tuple[str, int]] = {}
        for v in cometbft.validators:
            key = ed25519_pb2.PubKey()
            v.pub_key.Unpack(key)
            power[bytes(key.key)] = (v.address, int(v.voting_power))
        out = []
        for v in staking.validators:
            address, vp = power.get(bytes(v.consensus_pubkey), ("", 0))
            out.append(
                ValidatorView(v.moniker, v.operator_address, v.tokens, v.jailed, address, vp)
            )
        return sorted(out, key=lambda v: (-v.voting_power, v.operator))

    async def models(self) -> list[ModelView]:
        listed = await self.caller.call("/infera.models.v1.Query/Models",
            models_query.QueryModelsRequest(pagination=infera_page.PageRequest(limit=MAX_MODELS)),
            models_query.QueryModelsResponse)  # fmt: skip
        coverages = await asyncio.gather(*(self.optional("/infera.sharding.v1.Query/Coverage",
            sharding_query.QueryCoverageRequest(model_id=m.id),
            sharding_query.QueryCoverageResponse) for m in listed.models))  # fmt: skip
        return [ModelView(m, c) for m, c in zip(listed.models, coverages, strict=True)]

    async def workers(self) -> list[WorkerView]:
        listed = await self.caller.call("/infera.workers.v1.Query/Workers",
            workers_query.QueryWorkersRequest(pagination=infera_page.PageRequest(limit=MAX_WORKERS)),
            workers_query.QueryWorkersResponse)  # fmt: skip
        return list(await asyncio.gather(*(self.worker_view(w) for w in listed.workers)))

    async def worker_view(self, worker: Any) -> WorkerView:
        stats, attestation = await asyncio.gather(
            self.optional("/infera.workers.v1.Query/WorkerStats",
                          workers_query.QueryWorkerStatsRequest(operator=worker.operator),
                          workers_query.QueryWorkerStatsResponse),
            self.attestation(worker.operator),
        )  # fmt: skip
        return WorkerView(worker, stats.stake if stats else worker.bonded,
                          int(stats.reputation) if stats else 0, bool(stats and stats.active),
                          attestation)  # fmt: skip

    async def attestation(self, operator: str) -> str:
        """The worker's TEE attestation in words; "none" when it has none (tee code 20, which
        ``optional`` takes as no item) or the chain has no tee module."""
        answer = await self.optional("/infera.tee.v1.Query/Attestation",
                                     tee_query.QueryAttestationRequest(operator=operator),
                                     tee_query.QueryAttestationResponse)  # fmt: skip
        return attestation_text(answer)

    async def job(self, job_id: int) -> JobView | None:
        history = await self.optional("/infera.agreement.v1.Query/JobHistory",
                                      agreement_query.QueryJobHistoryRequest(job_id=job_id),
                                      agreement_query.QueryJobHistoryResponse)  # fmt: skip
        if history is None or not history.HasField("job"):
            return None
        return JobView(history.job, history)

    async def recent_jobs(self, height: int) -> list[JobView]:
        """The ``RECENT_JOBS`` newest jobs, each with its agreement history, newest first."""
        jobs: list[Any] = []
        for window in JOB_WINDOWS:
            low = max(0, height - window) if window else 0
            jobs = await self.jobs_since(low)
            if len(jobs) >= RECENT_JOBS or low == 0:
                break
        newest = sorted(jobs, key=lambda j: -int(j.id))[:RECENT_JOBS]
        views = await asyncio.gather(*(self.job(int(j.id)) for j in newest))
        return [v for v in views if v is not None]

    async def jobs_since(self, min_height: int) -> list[Any]:
        jobs: list[Any] = []
        key = b""
        for _ in range(JOB_PAGES):
            page = await self.caller.call("/infera.inference.v1.Query/Jobs",
                inference_query.QueryJobsRequest(min_height=min_height,
                    pagination=infera_page.PageRequest(key=key, limit=JOB_PAGE)),
                inference_query.QueryJobsResponse)  # fmt: skip
            jobs.extend(page.jobs)
            key = bytes(page.pagination.next_key)
            if not key:
                break
        return jobs

    async def open_verifications(self) -> list[JobView]:
        listed = await self.optional("/infera.agreement.v1.Query/OpenVerifications",
                                     agreement_query.QueryOpenVerificationsRequest(),
                                     agreement_query.QueryOpenVerificationsResponse)  # fmt: skip
        ids = sorted(int(i) for i in listed.job_ids)[:MAX_OPEN] if listed else []
        views = await asyncio.gather(*(self.job(i) for i in ids))
        return [v for v in views if v is not None]


def attestation_text(answer: Any | None) -> str:
    if answer is None or not answer.HasField("attestation"):
        return "none"
    from infera.tee.v1 import types_pb2 as tee_types

    a = answer.attestation
    kind = (
        tee_types.TeeType.Name(a.tee_type)
        if a.tee_type in tee_types.TeeType.values()
        else str(a.tee_type)
    )
    return f"{kind} {a.tcb_status} ({'valid' if answer.valid else 'expired'})"


def state_name(state: int) -> str:
    """``JOB_STATE_FINALIZED`` -> ``FINALIZED``."""
    try:
        return inference_types.JobState.Name(state).removeprefix("JOB_STATE_")
    except ValueError:
        return str(state)
