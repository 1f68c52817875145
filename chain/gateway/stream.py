"""A streamed chat completion: the route's tokens as server-sent events, then the chain's verdict.

Order of what a client reads (docs/gateway.md, "Streaming"), every event ``data: {json}``:

1. a chunk whose delta is ``{"role": "assistant", "content": ""}``;
2. content chunks (``{"content": text}``, ``"finish_reason": null``) as route 0's first hop
   generates the tokens (``Backend.watch_tokens``; NOT verified yet);
3. once the chain decided: a last content chunk with what the finalized output adds to the
   streamed text (all of it when no token could be streamed), then a chunk with an empty delta,
   the ``finish_reason`` and an ``infera`` object (job id, state, ``finalized``, output hash);
4. with ``stream_options.include_usage``, a chunk with ``"choices": []`` and the usage (the other
   chunks then carry ``"usage": null``);
5. ``data: [DONE]``.

When the chain did not finalize what was streamed (the job expired, timed out, or finalized an
output that does not continue the streamed text), the chunk of step 3 says ``"finalized":
false`` and, instead of step 4, an error event ``data: {"error": {...}}`` follows before
``[DONE]``. ``: keep-alive`` comments go out whenever nothing else did for ``keepalive_s``.
A client that disconnects cancels the producer, which closes the route watch and its waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from chain.client import ClientError, QueryError
from chain.gateway.backend import Backend, JobOutcome, WatchError
from chain.gateway.errors import GatewayError
from chain.gateway.metrics import GatewayMetrics
from chain.gateway.request import ChatRequest
from chain.gateway.tokenizer import Tokenizer
from infera.inference.v1 import types_pb2 as inference_types

log = structlog.get_logger("gateway.stream")
DONE = "data: [DONE]\n\n"
KEEPALIVE = ": keep-alive\n\n"
WATCH_RETRY_S = 0.05  # pause between WatchTokens tries while the worker has not started the route
INCOMPLETE = "\ufffd"  # a decoded text ending in this waits for the rest of its UTF-8 sequence


@dataclass
class StreamJob:
    """What one streamed request is about."""

    chat: ChatRequest
    tokenizer: Tokenizer
    prompt: bytes
    job_id: int
    txhash: str
    started: float  # time.monotonic() at the request's start
    created: int = field(default_factory=lambda: int(time.time()))


class ChatStream:
    """Produces the SSE text of one streamed completion."""

    def __init__(
        self,
        job: StreamJob,
        *,
        backend: Backend,
        wait: Callable[[int], Awaitable[JobOutcome]],  # until FINALIZED; raises GatewayError
        wait_assigned: Callable[[int, float], Awaitable[JobOutcome]],
        keepalive_s: float,
        deadline: float,  # time.monotonic() after which the route is no longer watched
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.job, self.backend, self._wait, self._wait_assigned = job, backend, wait, wait_assigned
        self.keepalive_s, self.deadline, self.metrics = keepalive_s, deadline, metrics
        self.streamed: list[int] = []  # tokens whose text went out
        self.sent = ""  # the text that went out
        self.first_token_s: float | None = None

    async def events(self) -> AsyncIterator[str]:
        """The SSE stream; keep-alives between events; cleans up when the client leaves."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        producer = asyncio.get_running_loop().create_task(self._produce(queue.put_nowait))
        outcome = "disconnected"
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.keepalive_s)
                except TimeoutError:
                    yield KEEPALIVE
                    continue
                if item is None:
                    outcome = producer.result()
                    return
                yield item
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            if self.metrics is not None:
                self.metrics.stream_ended(outcome, time.monotonic() - self.job.started)

    async def _produce(self, put: Callable[[str | None], None]) -> str:
        """Puts every event, then None; returns the stream's outcome (for the metrics)."""
        try:
            if self.job.chat.prompt_text is None:  # chat only: legacy completions have no role
                put(self.chunk({"role": "assistant", "content": ""}))
            await self._relay_route(put)
            try:
                final = await self._wait(self.job.job_id)
            except (QueryError, ClientError, TimeoutError) as err:
                raise GatewayError(502, "chain_error", str(err)) from None
            return self._finish(put, final)
        except GatewayError as err:
            self._failed(put, err)
            return err.code
        except Exception as err:  # a bug must still end the stream in the protocol
            log.exception("stream failed", job_id=self.job.job_id)
            self._failed(put, GatewayError(500, "internal_error", f"{type(err).__name__}"))
            return "internal_error"
        finally:
            put(DONE)
            put(None)

    async def _relay_route(self, put: Callable[[str | None], None]) -> None:
        """Route 0's tokens as they come; returns when its stream ends or cannot be had."""
        try:
            assigned = await self._wait_assigned(self.job.job_id, self.deadline)
        except (QueryError, ClientError, TimeoutError, GatewayError):
            return  # the finalization wait reports what went wrong
        if not assigned.routes:
            return
        while time.monotonic() < self.deadline:
            watch = self.backend.watch_tokens(self.job.job_id, 0, assigned.routes[0])
            try:
                async for token in watch:
                    self.streamed.append(token)
                    self._emit_text(put, self.streamed, final=False)
                return
            except WatchError as err:
                if not (err.retry and not self.streamed):
                    log.info("route stream ended", job_id=self.job.job_id, error=str(err))
                    return
            finally:
                await watch.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(WATCH_RETRY_S)

    def _failed(self, put: Callable[[str | None], None], err: GatewayError) -> None:
        put(self.chunk({}, finish_reason=self._reason(len(self.streamed)), infera={
            "job_id": self.job.job_id, "finalized": False, "txhash": self.job.txhash,
            "streamed_tokens": len(self.streamed)}))  # fmt: skip
        put(error_event(err))
        if self.metrics is not None:
            self.metrics.job_failed(err.code)

    def _finish(self, put: Callable[[str | None], None], final: JobOutcome) -> str:
        """The verdict chunk (and usage) once the chain finalized; "finalized" or "mismatch"."""
        continues = tuple(final.tokens[: len(self.streamed)]) == tuple(self.streamed)
        if continues and self._emit_text(put, list(final.tokens), final=True):
            put(self.chunk({}, finish_reason=self._reason(len(final.tokens)),
                           infera=self._infera(final, finalized=True)))  # fmt: skip
            if self.job.chat.include_usage:
                put(self._usage_chunk(len(final.tokens)))
            if self.metrics is not None:
                self.metrics.job_finalized(time.monotonic() - self.job.started, len(final.tokens))
            return "finalized"
        put(self.chunk({}, finish_reason=self._reason(len(self.streamed)),
                       infera=self._infera(final, finalized=False)))  # fmt: skip
        put(error_event(GatewayError(
            502, "stream_not_finalized",
            f"job {final.job_id} finalized another output than the one streamed (route 0 was "
            "outvoted or disagreed); the streamed text is not the chain's answer: request it "
            "without streaming or query the job")))  # fmt: skip
        if self.metrics is not None:
            self.metrics.job_failed("stream_not_finalized")
        return "mismatch"

    def _emit_text(
        self, put: Callable[[str | None], None], tokens: list[int], *, final: bool
    ) -> bool:
        """Send what the text of ``tokens`` adds to the sent text; False when it does not
        continue it (a tokenizer may decode a prefix differently)."""
        text = self.job.tokenizer.decode(tokens)
        if not text.startswith(self.sent):
            return False
        if not final and text.endswith(INCOMPLETE):
            return True  # the rest of the character comes with the next token
        delta, self.sent = text[len(self.sent) :], text
        if delta:
            if self.first_token_s is None:
                self.first_token_s = time.monotonic() - self.job.started
                if self.metrics is not None:
                    self.metrics.stream_first_token(self.first_token_s)
            put(self.chunk({"content": delta}))
        return True

    def _reason(self, tokens: int) -> str:
        return "length" if tokens >= self.job.chat.max_tokens else "stop"

    def _infera(self, final: JobOutcome, *, finalized: bool) -> dict[str, Any]:
        return {
            "job_id": final.job_id,
            "state": inference_types.JobState.Name(final.state).removeprefix("JOB_STATE_"),
            "finalized": finalized,
            "output_hash": final.output_hash.hex(),
            "final_height": final.final_height,
            "txhash": self.job.txhash,
            "streamed_tokens": len(self.streamed),
        }

    def chunk(
        self, delta: dict[str, Any], *, finish_reason: str | None = None, infera: Any = None
    ) -> str:
        body: dict[str, Any] = {
            "id": str(self.job.job_id),
            "object": "chat.completion.chunk",
            "created": self.job.created,
            "model": self.job.chat.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        if self.job.chat.prompt_text is not None:  # legacy /v1/completions chunk
            body["object"] = "text_completion"
            body["choices"] = [{"text": delta.get("content", ""), "index": 0, "logprobs": None,
                                "finish_reason": finish_reason}]  # fmt: skip
        if self.job.chat.include_usage:
            body["usage"] = None
        if infera is not None:
            body["infera"] = infera
        return sse(body)

    def _usage_chunk(self, completion_tokens: int) -> str:
        prompt_tokens = self.job.tokenizer.count(self.job.prompt)
        legacy = self.job.chat.prompt_text is not None
        return sse({
            "id": str(self.job.job_id),
            "object": "text_completion" if legacy else "chat.completion.chunk",
            "created": self.job.created,
            "model": self.job.chat.model,
            "choices": [],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })  # fmt: skip


def sse(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"


def error_event(err: GatewayError) -> str:
    return sse(err.body())
