"""JobEvents: one websocket subscription wakes waiting requests when a block names their job;
polling when it is down or full; the gateway answers on the event, not on the poll."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import websockets

from chain.gateway.app import Settings, create_app
from chain.gateway.events import JobEvents, block_events, job_ids, websocket_url
from infera.inference.v1 import types_pb2 as inference_types
from tests.gateway.test_app import AUTH, KEY, ByteTokenizer, FakeChain


def block(height: int, *job: int, kind: str = "infera.job_finalized") -> str:
    events = [{"type": kind, "attributes": [{"key": "job_id", "value": str(j), "index": True}]}
              for j in job]  # fmt: skip
    value = {"height": str(height), "events": events}
    data = {"type": "tendermint/event/NewBlockEvents", "value": value}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"data": data}})


class FakeNode:
    """A CometBFT /websocket: answers subscribe, then sends what the test queues."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.subscriptions: list[str] = []
        self.connections = 0

    async def handler(self, ws) -> None:
        self.connections += 1
        request = json.loads(await ws.recv())
        self.subscriptions.append(request["params"]["query"])
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {}}))
        closed = asyncio.ensure_future(ws.wait_closed())
        while True:
            getter = asyncio.ensure_future(self.outbox.get())
            await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return
            await ws.send(getter.result())


async def connected(events: JobEvents, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not events.connected:
        assert time.monotonic() < deadline, "never subscribed"
        await asyncio.sleep(0.01)


def test_parsing_takes_job_ids_of_block_events_only():
    assert job_ids(block_events(json.loads(block(5, 3, 12)))) == {3, 12}
    assert block_events({"result": {"data": {"type": "tendermint/event/Tx"}}}) == []
    assert block_events([1]) == [] and block_events({"result": None}) == []
    odd = [{"attributes": [{"key": "job_id", "value": v}]} for v in ("-1", "1e3", "٣", 7)]
    assert job_ids(odd) == set()
    assert websocket_url("http://127.0.0.1:26657") == "ws://127.0.0.1:26657/websocket"
    assert websocket_url("https://node.example/") == "wss://node.example/websocket"


def test_a_block_naming_the_job_wakes_its_waiter_at_once_and_one_subscription_serves_all():
    async def scenario():
        node = FakeNode()
        async with websockets.serve(node.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            events = JobEvents(f"ws://127.0.0.1:{port}/websocket", poll_s=10, recheck_s=10)
            await events.start()
            await connected(events)
            waiters = [asyncio.ensure_future(events.wait(j, events.mark())) for j in (7, 8, 9)]
            await asyncio.sleep(0.05)
            started = time.monotonic()
            await node.outbox.put(block(10, 7, 9))
            await asyncio.wait_for(asyncio.gather(waiters[0], waiters[2]), 2)
            woke_s = time.monotonic() - started
            still_waiting = not waiters[1].done()
            waiters[1].cancel()
            # an event between a waiter's query (mark) and its wait is not lost
            mark = events.mark()
            await node.outbox.put(block(11, 8))
            await asyncio.sleep(0.1)
            late_s = time.monotonic()
            await asyncio.wait_for(events.wait(8, mark), 1)
            late_s = time.monotonic() - late_s
            await events.stop()
            return woke_s, still_waiting, late_s, node.subscriptions, events._count

    woke_s, still_waiting, late_s, subscriptions, left = asyncio.run(scenario())
    assert woke_s < 1.0 and still_waiting and late_s < 0.05
    assert subscriptions == ["tm.event='NewBlockEvents'"] and left == 0


def test_without_a_subscription_or_over_the_bound_waiters_poll():
    async def scenario():
        down = JobEvents("ws://127.0.0.1:9/websocket", poll_s=0.05, recheck_s=10)
        await down.start()  # nothing listens: it keeps retrying, waiters poll
        started = time.monotonic()
        await down.wait(7, down.mark())
        polled_s = time.monotonic() - started
        await down.stop()
        full = JobEvents(None, poll_s=0.05, max_waiters=0)
        full.connected = True  # subscribed, but no room for another waiter
        started = time.monotonic()
        await full.wait(7, full.mark())
        return polled_s, time.monotonic() - started

    polled_s, full_s = asyncio.run(scenario())
    assert 0.04 < polled_s < 1.0 and 0.04 < full_s < 1.0


def test_the_subscription_comes_back_after_the_node_drops_it():
    async def scenario():
        node = FakeNode()
        async with websockets.serve(node.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            events = JobEvents(f"ws://127.0.0.1:{port}/websocket", poll_s=0.05)
            await events.start()
            await connected(events)
            for ws in list(server.connections):
                await ws.close()
            deadline = time.monotonic() + 5
            while node.connections < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await connected(events)
            await events.stop()
            return node.connections

    assert asyncio.run(scenario()) == 2


def test_a_request_is_answered_on_the_block_event_not_on_the_poll():
    """Polling every 30 s would miss the 1 s budget: the event wakes the request."""

    async def scenario():
        node = FakeNode()
        async with websockets.serve(node.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            events = JobEvents(f"ws://127.0.0.1:{port}/websocket", poll_s=30, recheck_s=30)
            chain = FakeChain(states=[inference_types.JOB_STATE_COMMITTING,
                                      inference_types.JOB_STATE_FINALIZED])  # fmt: skip
            app = create_app(chain, {"tiny": ByteTokenizer()},
                             Settings(api_keys=frozenset({KEY}), poll_s=30), events=events)  # fmt: skip
            await events.start()
            await connected(events)
            body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
            started = time.monotonic()
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw")
            answer = asyncio.ensure_future(
                client.post("/v1/chat/completions", json=body, headers=AUTH)
            )
            await asyncio.sleep(0.3)
            await node.outbox.put(block(4, 7))
            response = await asyncio.wait_for(answer, 5)
            await client.aclose()
            await events.stop()
            return response, time.monotonic() - started

    response, seconds = asyncio.run(scenario())
    assert response.status_code == 200, response.text
    assert seconds < 2.0
