"""The Starlette app: ``GET /v1/models`` and ``POST /v1/chat/completions`` (docs/gateway.md).

A chat request becomes one MsgSubmitJob signed by the gateway's key; the handler waits for the
job (woken by the node's block events, chain/gateway/events.py, or polling) until it is
FINALIZED (200 with the winning output), EXPIRED/CANCELLED (502) or the timeout passes (504,
the job id in the message: the job goes on, the client may query it). With ``stream: true``
every check and the submission happen first (HTTP errors), then the answer streams as
server-sent events: route 0's tokens as they are generated, then the chain's verdict
(chain/gateway/stream.py).
``GET /metrics`` (no API key; off with ``Settings.metrics = False``) serves the gateway's
Prometheus metrics (chain/gateway/metrics.py).
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chain.client import ClientError, QueryError
from chain.gateway.backend import Backend, JobOutcome, ModelInfo, is_unavailable
from chain.gateway.errors import GatewayError, no_funds
from chain.gateway.events import JobEvents
from chain.gateway.metrics import GatewayMetrics, MetricsMiddleware
from chain.gateway.request import ChatRequest, Limits, parse_body, parse_chat, parse_completion
from chain.gateway.stream import ChatStream, StreamJob
from chain.gateway.tokenizer import Tokenizer
from infera.inference.v1 import types_pb2 as inference_types
from modules.inference.logic import compute_prompt_tokens_estimate, compute_required_fee

log = structlog.get_logger("gateway")
RETRY_AFTER_S = 5  # seconds a client waits after a 429 (workers announce spans within blocks)
ENDED = {inference_types.JOB_STATE_EXPIRED, inference_types.JOB_STATE_CANCELLED}
SETTLED = ENDED | {inference_types.JOB_STATE_FINALIZED}


@dataclass(frozen=True)
class Settings:
    """How the gateway serves."""

    api_keys: frozenset[str]  # accepted bearer tokens; never empty
    max_body_bytes: int = 65536  # request body, bytes
    max_tokens: int = 256  # cap on (and default of) max_tokens
    timeout_s: float = 120.0  # how long a request waits for its job to finalize, seconds
    poll_s: float = 0.25  # job polling interval without block events, seconds
    metrics: bool = True  # count requests and jobs, serve GET /metrics (no API key)
    keepalive_s: float = 15.0  # streams: a ": keep-alive" comment after this long silent, seconds


def create_app(
    backend: Backend,
    tokenizers: Mapping[str, Tokenizer],
    settings: Settings,
    metrics: GatewayMetrics | None = None,
    events: JobEvents | None = None,
) -> Starlette:
    """The gateway for ``backend``, serving the models in ``tokenizers`` that are on chain.

    With ``settings.metrics`` the app counts into ``metrics`` (a fresh registry if None), also
    found as ``app.state.metrics``; without it nothing is counted and /metrics is a 404.
    ``events`` (started and stopped with the app) wakes waiting requests on block events; None:
    polling every ``settings.poll_s``."""
    if not settings.api_keys:
        raise ValueError("the gateway needs at least one API key")
    if settings.metrics and metrics is None:
        metrics = GatewayMetrics()
    if not settings.metrics:
        metrics = None
    events = events or JobEvents(None, poll_s=settings.poll_s)
    gateway = Gateway(backend, dict(tokenizers), settings, metrics, events)
    routes = [
        Route("/v1/models", guarded(gateway, gateway.list_models), methods=["GET"]),
        Route("/v1/chat/completions", guarded(gateway, gateway.chat), methods=["POST"]),
        Route("/v1/completions", guarded(gateway, gateway.completions), methods=["POST"]),
    ]
    middleware = []
    if metrics is not None:
        routes.append(Route("/metrics", metrics_endpoint(metrics), methods=["GET"]))
        middleware.append(Middleware(MetricsMiddleware, metrics=metrics))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await events.start()
        try:
            yield
        finally:
            await events.stop()

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.metrics = metrics
    app.state.events = events
    return app


def metrics_endpoint(metrics: GatewayMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return endpoint


Handler = Callable[[Request], Awaitable[dict[str, Any] | Response]]


def guarded(gateway: Gateway, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` behind the API-key check, its errors in the OpenAI schema."""

    async def endpoint(request: Request) -> Response:
        try:
            gateway.authorize(request.headers.get("authorization", ""))
            answer = await handler(request)
            return answer if isinstance(answer, Response) else JSONResponse(answer)
        except GatewayError as err:
            return JSONResponse(err.body(), status_code=err.status, headers=err.headers)
        except QueryError as err:
            status = 503 if is_unavailable(err) else 502
            log.warning("chain query failed", error=str(err))
            return JSONResponse(GatewayError(status, "chain_unavailable", str(err)).body(), status)
        except (ClientError, TimeoutError) as err:  # e.g. the submit tx never committed
            log.warning("chain call failed", error=str(err))
            return JSONResponse(GatewayError(502, "chain_error", str(err)).body(), 502)

    return endpoint


class Gateway:
    """The request handlers over one backend."""

    def __init__(
        self,
        backend: Backend,
        tokenizers: dict[str, Tokenizer],
        settings: Settings,
        metrics: GatewayMetrics | None = None,
        events: JobEvents | None = None,
    ):
        self.backend, self.tokenizers, self.settings = backend, tokenizers, settings
        self.metrics = metrics
        self.events = events or JobEvents(None, poll_s=settings.poll_s)

    def authorize(self, header: str) -> None:
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        known = any(hmac.compare_digest(token.encode(), k.encode()) for k in self.settings.api_keys)
        if not token or not known:
            raise GatewayError(401, "invalid_api_key", "missing or unknown API key (Bearer token)")

    async def list_models(self, request: Request) -> dict[str, Any]:
        models = await run_in_threadpool(self.backend.models)
        data = [model_card(m) for m in models if m.id in self.tokenizers]
        return {"object": "list", "data": data}

    async def chat(self, request: Request) -> dict[str, Any] | Response:
        return await self.answer(request, legacy=False)

    async def completions(self, request: Request) -> dict[str, Any] | Response:
        """Legacy ``/v1/completions``: the prompt string goes to the model as it is."""
        return await self.answer(request, legacy=True)

    async def answer(self, request: Request, *, legacy: bool) -> dict[str, Any] | Response:
        started = time.monotonic()
        params = await run_in_threadpool(self.backend.inference_params)
        limits = Limits(
            max_body_bytes=self.settings.max_body_bytes,
            max_tokens=self.settings.max_tokens,
            chain_max_new_tokens=int(params.max_new_tokens),
            max_temperature_milli=int(params.max_temperature_milli),
            max_top_k=int(params.max_top_k),
        )
        raw = await read_body(request, limits.max_body_bytes)
        parse = parse_completion if legacy else parse_chat
        chat = parse(parse_body(raw, limits.max_body_bytes), limits)
        model, tokenizer = await self.served_model(chat.model)
        if chat.prompt_text is not None:
            prompt = chat.prompt_text.encode()
        else:
            prompt = tokenizer.render(chat.messages)
        if len(prompt) > int(params.max_prompt_bytes):
            raise GatewayError(400, "context_length_exceeded",
                               f"the prompt is {len(prompt)} bytes; the chain takes at most "
                               f"{params.max_prompt_bytes}", "prompt" if legacy else "messages")  # fmt: skip
        fee = required_fee(model, prompt, chat.max_tokens)
        balance = await run_in_threadpool(self.backend.balance)
        if balance < fee:
            raise no_funds(f"the gateway account holds {balance}, the job escrows {fee}")
        if not await run_in_threadpool(self.backend.has_routes, model):
            raise GatewayError(429, "no_capacity",
                               f"no {model.min_redundancy} disjoint routes of active workers cover "
                               f"{model.id!r} now; retry later", "model",
                               {"Retry-After": str(RETRY_AFTER_S)})  # fmt: skip
        submitted = time.monotonic()
        job_id, txhash = await run_in_threadpool(
            lambda: self.backend.submit(
                model=model,
                prompt=prompt,
                max_new_tokens=chat.max_tokens,
                max_fee=fee,
                decoding=decoding(chat),
            )  # fmt: skip
        )
        log.info("job submitted", job_id=job_id, model=model.id, txhash=txhash, max_fee=fee)
        if self.metrics is not None:
            self.metrics.job_submitted()
        if chat.stream:
            job = StreamJob(chat, tokenizer, prompt, job_id, txhash, started)
            return self.stream(job)
        try:
            outcome = await self.wait(job_id)
        except GatewayError as err:  # job_not_finalized (EXPIRED/CANCELLED) or timeout
            if self.metrics is not None:
                self.metrics.job_failed(err.code)
            raise
        except (QueryError, ClientError, TimeoutError):
            if self.metrics is not None:
                self.metrics.job_failed("chain_error")
            raise
        seconds = time.monotonic() - submitted
        log.info("job finalized", job_id=job_id, seconds=round(seconds, 3))
        if self.metrics is not None:
            self.metrics.job_finalized(seconds, len(outcome.tokens))
        if legacy:
            return text_completion(chat, outcome, tokenizer, prompt, txhash)
        return completion(chat, outcome, tokenizer, prompt, txhash)

    async def served_model(self, model_id: str) -> tuple[ModelInfo, Tokenizer]:
        tokenizer = self.tokenizers.get(model_id)
        model = await run_in_threadpool(self.backend.model, model_id) if tokenizer else None
        if model is None or tokenizer is None:
            raise GatewayError(404, "model_not_found",
                               f"the model {model_id!r} is not served by this gateway", "model")  # fmt: skip
        return model, tokenizer

    def stream(self, job: StreamJob) -> StreamingResponse:
        stream = ChatStream(
            job, backend=self.backend, wait=self.wait, wait_assigned=self.wait_assigned,
            keepalive_s=self.settings.keepalive_s, metrics=self.metrics,
            deadline=time.monotonic() + self.settings.timeout_s,
        )  # fmt: skip
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream.events(), media_type="text/event-stream", headers=headers)

    async def wait_assigned(self, job_id: int, deadline: float) -> JobOutcome:
        """The job once it names its routes, or has ended, or at ``deadline`` (monotonic)."""
        while True:
            mark = self.events.mark()
            outcome = await run_in_threadpool(self.backend.outcome, job_id)
            if outcome.routes or outcome.state in SETTLED or time.monotonic() >= deadline:
                return outcome
            await self.events.wait(job_id, mark)

    async def wait(self, job_id: int) -> JobOutcome:
        deadline = time.monotonic() + self.settings.timeout_s
        while True:
            mark = self.events.mark()
            outcome = await run_in_threadpool(self.backend.outcome, job_id)
            if outcome.state == inference_types.JOB_STATE_FINALIZED:
                return outcome
            if outcome.state in ENDED:
                name = inference_types.JobState.Name(outcome.state)
                raise GatewayError(502, "job_not_finalized",
                                   f"job {job_id} ended {name}: {outcome.reason}")  # fmt: skip
            if time.monotonic() >= deadline:
                raise GatewayError(504, "timeout",
                                   f"job {job_id} did not finalize within {self.settings.timeout_s} s;"
                                   " it goes on: query it with infera query inference job")  # fmt: skip
            await self.events.wait(job_id, mark)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, read only up to ``max_bytes`` + 1 bytes (a huge body is never buffered)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise GatewayError(413, "request_too_large", f"body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def required_fee(model: ModelInfo, prompt: bytes, max_tokens: int) -> int:
    """The least max fee the chain accepts for this job (the escrow; the unused part is refunded)."""
    estimate = compute_prompt_tokens_estimate(len(prompt))
    return compute_required_fee(model.price_per_token, estimate, max_tokens, model.min_redundancy)


def decoding(chat: ChatRequest) -> inference_types.Decoding:
    if not chat.temperature_milli:
        return inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY)
    return inference_types.Decoding(mode=inference_types.DECODING_MODE_SAMPLING,
                                    temperature_milli=chat.temperature_milli, top_k=chat.top_k)  # fmt: skip


def model_card(model: ModelInfo) -> dict[str, Any]:
    return {
        "id": model.id,
        "object": "model",
        "created": 0,  # chains count heights, not seconds: see infera.registered_height
        "owned_by": model.owner,
        "infera": {
            "price_per_token": model.price_per_token,
            "min_redundancy": model.min_redundancy,
            "registered_height": model.registered_height,
        },
    }


def text_completion(
    chat: ChatRequest, outcome: JobOutcome, tokenizer: Tokenizer, prompt: bytes, txhash: str
) -> dict[str, Any]:
    """The OpenAI (legacy) text_completion object of a finalized job."""
    body = completion(chat, outcome, tokenizer, prompt, txhash)
    choice = body["choices"][0]
    body["object"] = "text_completion"
    body["choices"] = [{"text": choice["message"]["content"], "index": 0, "logprobs": None,
                        "finish_reason": choice["finish_reason"]}]  # fmt: skip
    return body


def completion(
    chat: ChatRequest, outcome: JobOutcome, tokenizer: Tokenizer, prompt: bytes, txhash: str
) -> dict[str, Any]:
    """The OpenAI chat.completion object of a finalized job."""
    prompt_tokens = tokenizer.count(prompt)
    completion_tokens = len(outcome.tokens)
    return {
        "id": str(outcome.job_id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": tokenizer.decode(outcome.tokens)},
                "finish_reason": "length" if completion_tokens >= chat.max_tokens else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "infera": {
            "job_id": outcome.job_id,
            "state": "FINALIZED",
            "output_hash": outcome.output_hash.hex(),
            "final_height": outcome.final_height,
            "txhash": txhash,
        },
    }
