"""The explorer's routes, mounted on the REST server (``chain.rest.app``; docs/explorer.md).

    GET /explorer                      overview: height, validators, models with per-layer coverage,
                                       workers, recent jobs, open disputes and audits
    GET /explorer/job/{id}             one job: routes, timings, agreement history, verdicts,
                                       settlement, and the link to its state proof
    GET /explorer/static/explorer.css  the only static file (no CDN, no script)

Pages are rendered on the server and refresh themselves (``<meta refresh>``). The overview's data
is read at most once per ``CACHE_S`` seconds however many browsers look (they share one read).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from chain.explorer.data import ChainReader, Overview
from chain.explorer.render import render_error, render_job, render_overview
from chain.rest.caller import GrpcCaller
from chain.rest.errors import RestError
from modules.inference.keys import job_key

log = structlog.get_logger("explorer")
STATIC = Path(__file__).parent / "static"
JOB_ID_RE = re.compile(r"[0-9]{1,19}")  # fullmatch
MAX_JOB_ID = (1 << 64) - 1
CACHE_S = 1.0  # seconds an overview read is reused (blocks come every ~0.2-1 s)


class OverviewCache:
    """The last overview read and when; concurrent requests wait for one read."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.value: Overview | None = None
        self.read_at = 0.0  # time.monotonic() of the read

    async def get(self, reader: ChainReader) -> Overview:
        async with self.lock:
            if self.value is None or time.monotonic() - self.read_at >= CACHE_S:
                self.value = await reader.overview()
                self.read_at = time.monotonic()
            return self.value


def explorer_routes(caller: Callable[[], GrpcCaller], refresh_s: int) -> list[BaseRoute]:
    """The explorer's routes; ``caller()`` gives the server's gRPC caller once it is started."""

    cache = OverviewCache()

    async def overview(request: Request) -> Response:
        try:
            view = await cache.get(ChainReader(caller()))
        except RestError as err:
            return unavailable(err)
        return HTMLResponse(render_overview(view, refresh_s))

    async def job(request: Request) -> Response:
        text = request.path_params["job_id"]
        if not JOB_ID_RE.fullmatch(text) or not 0 < int(text) <= MAX_JOB_ID:
            return HTMLResponse(
                render_error("Bad job id", f"{text[:40]!r} is not a job id", 400), 400
            )
        reader = ChainReader(caller())
        try:
            view = await reader.job(int(text))
            if view is None:
                message = f"job {int(text)} is not on chain"
                return HTMLResponse(render_error("No such job", message, 404), 404)
            height = await reader.height()
        except RestError as err:
            return unavailable(err)
        return HTMLResponse(render_job(view, job_key(int(text)), height, refresh_s))

    return [
        Route("/explorer", overview, methods=["GET"]),
        Route("/explorer/job/{job_id}", job, methods=["GET"]),
        Mount("/explorer/static", app=StaticFiles(directory=STATIC), name="explorer-static"),
    ]


def unavailable(err: RestError) -> Response:
    log.warning("explorer query failed", error=err.message)
    status = 503 if err.http_status >= 500 else err.http_status
    return HTMLResponse(render_error("Node unavailable", err.message, status), status)
