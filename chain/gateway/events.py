"""Wake requests when the chain moves their job: one CometBFT websocket subscription per gateway.

A request waiting for its job (assigned, finalized, expired) would otherwise poll the job query
every 0.25 s and notice a change up to 250 ms late. Instead the gateway subscribes once, for all
its requests, to ``tm.event='NewBlockEvents'`` on the node's ``/websocket``: every block's
end-block events (job assignment, reveals opening, finalization, expiry are all end-block
events) arrive as the block commits, and each waiter whose job id an event names is woken to
query its job again.

Bounds and fallback: one subscription whatever the number of requests (CometBFT allows few per
client); at most ``max_waiters`` waiting requests are woken by events, the rest poll every
``poll_s``; while the websocket is down (or none is configured) every waiter polls every
``poll_s``, and the subscription reconnects with backoff. A woken or timed-out waiter always
queries the job itself, so a lost event costs at most ``recheck_s``, never a wrong answer.
``mark()`` / ``wait(job_id, mark)``: an event that came between the waiter's query and its wait
is not missed (the last block naming each recent job is remembered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import structlog

log = structlog.get_logger("gateway.events")
JOB_ID_RE = re.compile(r"[0-9]{1,20}")  # fullmatch
QUERY = "tm.event='NewBlockEvents'"
RECONNECT_MAX_S = 5.0
RECENT_JOBS = 4096  # job ids whose last naming block is remembered


class JobEvents:
    """Job-changed notifications from one websocket subscription (or polling without one)."""

    def __init__(
        self,
        websocket_url: str | None,
        *,
        poll_s: float = 0.25,  # waiting interval without events, seconds
        recheck_s: float = 2.0,  # longest wait for an event before querying anyway, seconds
        max_waiters: int = 4096,  # waiters woken by events; more poll
    ) -> None:
        self.url, self.poll_s, self.recheck_s = websocket_url, poll_s, recheck_s
        self.max_waiters = max_waiters
        self.connected = False  # subscribed right now
        self.blocks = 0  # blocks seen since start
        self._recent: OrderedDict[int, int] = OrderedDict()  # job id -> last naming block
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._count = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.url and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected = False

    def mark(self) -> int:
        """Take before querying the job; pass to ``wait``."""
        return self.blocks

    async def wait(self, job_id: int, mark: int) -> None:
        """Return once a block after ``mark`` names ``job_id``, or after a poll interval."""
        if not self.connected or self._count >= self.max_waiters:
            await asyncio.sleep(self.poll_s)
            return
        if self._recent.get(job_id, -1) > mark:
            return
        event = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(event)
        self._count += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), self.recheck_s)
        finally:
            self._count -= 1
            waiting = self._waiters.get(job_id, set())
            waiting.discard(event)
            if not waiting:
                self._waiters.pop(job_id, None)

    def on_block(self, events: Iterable[dict[str, Any]]) -> None:
        """One block's events: wake every waiter of a job they name."""
        self.blocks += 1
        for job_id in sorted(job_ids(events)):
            self._recent[job_id] = self.blocks
            self._recent.move_to_end(job_id)
            for waiter in self._waiters.get(job_id, ()):
                waiter.set()
        while len(self._recent) > RECENT_JOBS:
            self._recent.popitem(last=False)

    async def _run(self) -> None:
        import websockets

        backoff = 0.5
        while True:
            try:
                async with websockets.connect(str(self.url), max_size=None) as ws:
                    await self._subscribe(ws)
                    backoff = 0.5
                    async for message in ws:
                        self.on_block(block_events(json.loads(message)))
            except asyncio.CancelledError:
                raise
            except Exception as err:  # any failure: poll meanwhile, reconnect
                log.warning("event subscription lost", error=repr(err), retry_s=backoff)
            self.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_S)

    async def _subscribe(self, ws: Any) -> None:
        request = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": QUERY}}
        await ws.send(json.dumps(request))
        reply = json.loads(await ws.recv())
        if "error" in reply:
            raise ConnectionError(f"subscribe refused: {reply['error']}")
        self.connected = True
        log.info("subscribed to block events", url=self.url)


def block_events(message: Any) -> list[dict[str, Any]]:
    """The events of a NewBlockEvents notification; [] for anything else."""
    if not isinstance(message, dict):
        return []
    data = (message.get("result") or {}).get("data") or {}
    if not isinstance(data, dict) or data.get("type") != "tendermint/event/NewBlockEvents":
        return []
    events = (data.get("value") or {}).get("events") or []
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def job_ids(events: Iterable[dict[str, Any]]) -> set[int]:
    """Every job id an event's ``job_id`` attribute names."""
    out: set[int] = set()
    for event in events:
        for attribute in event.get("attributes") or []:
            if not isinstance(attribute, dict) or attribute.get("key") != "job_id":
                continue
            value = attribute.get("value")
            if isinstance(value, str) and JOB_ID_RE.fullmatch(value):
                out.add(int(value))
    return out


def websocket_url(rpc_url: str) -> str:
    """CometBFT's websocket endpoint of an RPC URL (http://host:26657 -> ws://host:26657/websocket)."""
    scheme, _, rest = rpc_url.partition("://") if "://" in rpc_url else ("http", "", rpc_url)
    ws = "wss" if scheme == "https" else "ws"
    return f"{ws}://{rest.rstrip('/')}/websocket"
