"""Pipeline.WatchTokens: a route's tokens reach the job's submitter as they come, and no one else.

A real gRPC server (no shards: the hub is fed as the driver feeds it) and the submitter's
signature from its account key."""

from __future__ import annotations

import asyncio
import hashlib
import itertools

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from inference_worker.pipeline.frames import FrameSigner
from inference_worker.pipeline.server import start_server
from inference_worker.pipeline.token_watch import (
    TokenHub,
    WatchLimits,
    WatchRefused,
    sign_watch,
)

WORKER_KEY = hashlib.sha256(b"worker").digest()
SUBMITTER_KEY = hashlib.sha256(b"submitter").digest()
OTHER_KEY = hashlib.sha256(b"another route's worker").digest()
WORKER = FrameSigner(WORKER_KEY).address
SUBMITTER = FrameSigner(SUBMITTER_KEY).address


_nonces = itertools.count(1)


def request(
    job_id=7, route=0, key=SUBMITTER_KEY, worker=WORKER, nonce=None, signed_nonce=None
) -> pb.WatchTokensRequest:
    """A signed watch request; a fresh nonce unless one is given."""
    nonce = next(_nonces) if nonce is None else nonce
    signed = nonce if signed_nonce is None else signed_nonce
    return pb.WatchTokensRequest(
        session=pb.SessionKey(job_id=job_id, route_index=route),
        signature=sign_watch(key, worker, job_id, route, signed),
        nonce=nonce,
    )


async def collect(hub: TokenHub, req: pb.WatchTokensRequest) -> list[pb.GenerateEvent]:
    return [event async for event in hub.watch(req)]


def test_a_watcher_gets_every_token_from_step_zero_then_done():
    async def scenario():
        hub = TokenHub(WORKER)
        hub.open(7, 0, SUBMITTER)
        hub.push(7, 0, 0, 11)
        watching = asyncio.ensure_future(collect(hub, request()))
        await asyncio.sleep(0)
        hub.push(7, 0, 1, 12)
        hub.push(7, 0, 1, 99)  # a repeated step is ignored
        hub.push(7, 0, 3, 99)  # so is a step ahead of the stream
        hub.push(7, 0, 2, 13)
        hub.finish(7, 0, stopped_at_eos=True)
        return await watching, hub

    events, hub = asyncio.run(scenario())
    assert [e.token.token_id for e in events[:-1]] == [11, 12, 13]
    assert [e.token.step for e in events[:-1]] == [0, 1, 2]
    assert events[-1].HasField("done") and events[-1].done.stopped_at_eos
    assert hub.watchers == 0 and hub.routes[(7, 0)].watchers == 0


def test_a_failed_route_ends_the_watch_with_an_error():
    async def scenario():
        hub = TokenHub(WORKER)
        hub.open(7, 0, SUBMITTER)
        hub.push(7, 0, 0, 11)
        hub.finish(7, 0, error="RouteError: hop 2 died")
        return await collect(hub, request())

    events = asyncio.run(scenario())
    assert events[0].token.token_id == 11
    assert events[1].error.code == pb.ERROR_CODE_HOP_FAILED and "hop 2" in events[1].error.message


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        (request(key=OTHER_KEY), WatchRefused.DENIED),  # another route's worker wants to copy
        (request(worker=FrameSigner(OTHER_KEY).address), WatchRefused.DENIED),  # for another worker
        (request(route=1), WatchRefused.NOT_FOUND),  # a route not driven here
        (request(nonce=5, signed_nonce=6), WatchRefused.DENIED),  # the nonce is signed
        (request(nonce=0), WatchRefused.MALFORMED),  # no nonce
        (
            pb.WatchTokensRequest(session=pb.SessionKey(job_id=7), signature=b"x" * 64),
            WatchRefused.MALFORMED,
        ),
        (pb.WatchTokensRequest(signature=b"x" * 65), WatchRefused.MALFORMED),
        (
            pb.WatchTokensRequest(session=pb.SessionKey(job_id=7), signature=b"\xff" * 65, nonce=1),
            WatchRefused.DENIED,
        ),  # recovers no key
    ],  # fmt: skip
)
def test_watch_refuses_anyone_but_the_submitter(req, reason):
    hub = TokenHub(WORKER)
    hub.open(7, 0, SUBMITTER)
    hub.push(7, 0, 0, 11)
    with pytest.raises(WatchRefused) as refused:
        hub.authorize(req)
    assert refused.value.reason == reason


def test_a_worker_without_a_chain_key_serves_no_watch():
    hub = TokenHub(None)
    hub.open(7, 0, SUBMITTER)
    with pytest.raises(WatchRefused) as refused:
        hub.authorize(request())
    assert refused.value.reason == WatchRefused.NO_IDENTITY


def test_watches_are_bounded_per_route_and_in_all():
    async def scenario():
        hub = TokenHub(WORKER, WatchLimits(max_watchers=3, max_watchers_per_route=2))
        for route in range(3):
            hub.open(7, route, SUBMITTER)
        hub.push(7, 0, 0, 5)
        open_ = [hub.watch(request()), hub.watch(request())]
        for watch in open_:
            await watch.__anext__()  # its first token: counted as open
        with pytest.raises(WatchRefused):  # a third on route 0
            hub.authorize(request())
        hub.push(7, 2, 0, 5)
        fourth = hub.watch(request(route=2))
        await fourth.__anext__()
        with pytest.raises(WatchRefused) as refused:  # three open in all
            hub.authorize(request(route=1))
        for watch in [*open_, fourth]:
            await watch.aclose()  # a client that goes away frees its slot
        return hub, refused.value.reason

    hub, reason = asyncio.run(scenario())
    assert reason == WatchRefused.BUSY
    assert hub.watchers == 0


def test_started_again_ends_the_old_watch_and_old_routes_are_forgotten():
    async def scenario():
        hub = TokenHub(WORKER, WatchLimits(max_routes_kept=2))
        hub.open(7, 0, SUBMITTER)
        hub.push(7, 0, 0, 11)
        watching = asyncio.ensure_future(collect(hub, request()))
        await asyncio.sleep(0)
        hub.open(7, 0, SUBMITTER)  # a restarted driver
        events = await watching
        hub.finish(7, 0)
        hub.open(8, 0, SUBMITTER)
        hub.open(9, 0, SUBMITTER)  # over the bound: the finished route 7 goes
        return events, sorted(hub.routes)

    events, kept = asyncio.run(scenario())
    assert events[-1].HasField("error") and "started again" in events[-1].error.message
    assert kept == [(8, 0), (9, 0)]


def test_tokens_stream_over_grpc_before_the_route_finishes():
    """The real RPC: the first token arrives while the route still runs; refusals are gRPC
    statuses; a client that cancels frees its watch slot on the server."""

    async def scenario():
        server, service, port = await start_server(
            [], "127.0.0.1:0", frame_signer=FrameSigner(WORKER_KEY)
        )
        hub = service.tokens
        try:
            hub.open(7, 0, SUBMITTER)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = pb_grpc.PipelineStub(channel)
                call = stub.WatchTokens(request(), timeout=30)
                hub.push(7, 0, 0, 42)
                first = await call.read()  # the route has not finished
                still_running = not hub.routes[(7, 0)].done
                hub.push(7, 0, 1, 43)
                hub.finish(7, 0)
                rest = []
                while (event := await call.read()) is not grpc.aio.EOF:
                    rest.append(event)
                refusals = []
                for bad in (request(key=OTHER_KEY), request(job_id=8)):
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        async for _ in stub.WatchTokens(bad, timeout=30):
                            pass
                    refusals.append(err.value.code())
                hub.open(9, 0, SUBMITTER)
                hanging = stub.WatchTokens(request(job_id=9), timeout=30)
                await asyncio.sleep(0.3)
                open_during = hub.watchers
                hanging.cancel()
                await asyncio.sleep(0.3)
                return first, still_running, rest, refusals, open_during, hub.watchers
        finally:
            await service.shutdown()
            await server.stop(grace=0.5)

    first, still_running, rest, refusals, open_during, open_after = asyncio.run(scenario())
    assert first.token.token_id == 42 and still_running
    assert [e.token.token_id for e in rest[:-1]] == [43] and rest[-1].HasField("done")
    assert refusals == [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND]
    assert (open_during, open_after) == (1, 0)


def test_a_captured_watch_request_cannot_be_replayed():
    """The attack: an observer of the gateway's connection sends the submitter's request again
    (same bytes) to watch the route itself; the worker refuses it, during the first watch and
    after it, and after the route was started again. A fresh request of the submitter's is
    served."""

    async def scenario():
        hub = TokenHub(WORKER)
        hub.open(7, 0, SUBMITTER)
        hub.push(7, 0, 0, 11)
        captured = request()
        first = hub.watch(pb.WatchTokensRequest.FromString(captured.SerializeToString()))
        assert (await first.__anext__()).token.token_id == 11  # served once, still open
        refused = []
        replay = pb.WatchTokensRequest.FromString(captured.SerializeToString())
        with pytest.raises(WatchRefused) as err:  # while the first watch is open
            await hub.watch(replay).__anext__()
        refused.append(err.value.reason)
        hub.finish(7, 0)
        rest = [e async for e in first]
        with pytest.raises(WatchRefused) as err:  # after it ended
            hub.authorize(replay)
        refused.append(err.value.reason)
        hub.open(7, 0, SUBMITTER)  # the route restarted: served nonces are kept
        hub.push(7, 0, 0, 11)
        with pytest.raises(WatchRefused) as err:
            hub.authorize(replay)
        refused.append(err.value.reason)
        hub.finish(7, 0)
        fresh = await collect(hub, request())
        return refused, rest, fresh

    refused, rest, fresh = asyncio.run(scenario())
    assert refused == [WatchRefused.DENIED] * 3
    assert rest[-1].HasField("done")
    assert [e.token.token_id for e in fresh[:-1]] == [11]


def test_a_request_refused_before_the_route_starts_is_served_once_after():
    """NOT_FOUND consumes nothing (the submitter retries with the same nonce), and the nonces a
    route remembers are bounded: past max_watches_per_route_kept watches the route is BUSY."""

    async def scenario():
        hub = TokenHub(WORKER, WatchLimits(max_watches_per_route_kept=3))
        early = request()
        with pytest.raises(WatchRefused) as err:
            hub.authorize(early)
        not_found = err.value.reason
        hub.open(7, 0, SUBMITTER)
        hub.finish(7, 0)
        served = await collect(hub, early)
        await collect(hub, request())
        await collect(hub, request())
        with pytest.raises(WatchRefused) as err:
            hub.authorize(request())
        return not_found, served, err.value.reason, len(hub.served[(7, 0)])

    not_found, served, busy, kept = asyncio.run(scenario())
    assert not_found == WatchRefused.NOT_FOUND
    assert served[-1].HasField("done")
    assert (busy, kept) == (WatchRefused.BUSY, 3)


def test_served_nonces_go_with_their_route():
    hub = TokenHub(WORKER, WatchLimits(max_routes_kept=1))
    hub.open(7, 0, SUBMITTER)
    hub.finish(7, 0)
    asyncio.run(collect(hub, request()))
    hub.open(8, 0, SUBMITTER)  # route 7 is forgotten, its nonces with it
    assert sorted(hub.served) == []


@settings(max_examples=300, deadline=None)
@given(
    job_id=st.integers(0, 2**64 - 1),
    route=st.integers(0, 2**32 - 1),
    nonce=st.integers(0, 2**64 - 1),
    signature=st.binary(min_size=0, max_size=70),
    served=st.booleans(),
)
def test_any_request_is_served_or_refused_with_a_typed_reason(
    job_id, route, nonce, signature, served
):
    """Fuzz: whatever an outsider sends, authorize answers a route or a WatchRefused."""
    hub = TokenHub(WORKER)
    hub.open(job_id, route, SUBMITTER)
    if served:
        hub.served[(job_id, route)] = {nonce}
    req = pb.WatchTokensRequest(
        session=pb.SessionKey(job_id=job_id, route_index=route), signature=signature, nonce=nonce
    )
    with pytest.raises(WatchRefused):  # no valid submitter signature among random bytes
        hub.authorize(req)
    if nonce and not served:  # and the real signature over these values is served
        assert hub.authorize(request(job_id, route, nonce=nonce))[0] == (job_id, route)
