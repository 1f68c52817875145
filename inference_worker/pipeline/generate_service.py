"""The Pipeline `Generate` call: run a whole route with this worker as the first hop.

The request names the route; `route.drive_route` runs it over the server's channel pool and
compute thread, and every token is streamed back to the caller as it comes, then the route's
statistics (or a SessionError saying which hop failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.pipeline.route import (
    RouteError,
    RouteRequest,
    drive_route,
    hop_to_pb,
    route_request_from_pb,
)
from inference_worker.pipeline.sessions import HostedSpan

if TYPE_CHECKING:
    from inference_worker.pipeline.server import PipelineServer


async def serve_generate(
    server: PipelineServer, request: pb.GenerateRequest
) -> AsyncIterator[pb.GenerateEvent]:
    """Drive the route `request` names from this worker; yields its tokens, then its stats."""
    try:
        span, route = _route_request(server, request)
    except (RouteError, ValueError) as err:
        yield _generate_error(request, pb.ERROR_CODE_UNSUPPORTED, str(err))
        return
    tokens: asyncio.Queue[pb.Token] = asyncio.Queue()
    key = request.session

    def on_token(step: int, token: int) -> None:
        tokens.put_nowait(pb.Token(session=key, step=step, token_id=token))

    driving = asyncio.get_running_loop().create_task(
        server.metrics.track_route(  # counts it active, then its outcome and tokens/s
            drive_route(
                span.shard,
                route,
                channels=server.channels,
                executor=server.executor,
                on_token=on_token,
                signer=server.frame_signer,
                accel=span.accel,
            )  # fmt: skip
        )
    )
    try:
        while not (driving.done() and tokens.empty()):
            getter = asyncio.ensure_future(tokens.get())
            await asyncio.wait({getter, driving}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield pb.GenerateEvent(token=getter.result())
            else:
                getter.cancel()
        result = driving.result()
    except RouteError as err:
        yield _generate_error(request, pb.ERROR_CODE_HOP_FAILED, str(err))
        return
    finally:
        driving.cancel()
    stats = pb.GenerateStats(
        time_to_first_token_us=round(result.time_to_first_token_s * 1e6),
        total_us=round(result.total_s * 1e6),
        wire_bytes=result.wire_bytes,
        replacements=result.replacements,
        hops=[hop_to_pb(h) for h in result.hops],
        stopped_at_eos=result.stopped_at_eos,
    )
    yield pb.GenerateEvent(done=stats)


def _route_request(
    server: PipelineServer, request: pb.GenerateRequest
) -> tuple[HostedSpan, RouteRequest]:
    first = request.hops[0] if request.hops else pb.Hop()
    span = server.spans.get((request.model_id, first.layer_start, first.layer_end))
    if span is None:
        raise RouteError(f"this worker does not drive {request.model_id!r} routes from here")
    default_s = server.limits.default_progress_timeout_s
    return span, route_request_from_pb(request, span.shard, span.model_dir, default_s)


def _generate_error(request: pb.GenerateRequest, code: int, message: str) -> pb.GenerateEvent:
    return pb.GenerateEvent(
        error=pb.SessionError(session=request.session, code=code, message=message)
    )
