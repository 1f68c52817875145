"""The worker's only connection to the chain: events in, queries and transactions out.

* Events: a CometBFT websocket ``/subscribe`` to the end-block events that name this worker
  (``infera.job_assigned.worker='infera1…'``). After every (re)connect the blocks missed since
  the last seen height are read with ``/block_results``, so a disconnect loses nothing; a job
  may therefore be reported twice (callers dedupe by job id).
* Queries and transactions go through the SDK (`chain.client.Client`, cosmpy signing, local
  sequence management): several transactions per block from this operator are fine. Calls are
  blocking; the worker runs them on threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chain.pb  # noqa: F401  (puts the generated packages on sys.path)

import websockets
from cosmpy.aerial.wallet import LocalWallet

from chain.cli.rpc import CometRPC, RPCError
from chain.client import Client, TxError, TxResult
from infera.agreement.v1 import tx_pb2 as agreement_tx
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import types_pb2 as models_types
from infera.workers.v1 import types_pb2 as workers_types

log = logging.getLogger("infera.worker.chain")

JOB_ASSIGNED = "infera.job_assigned"
MAX_CATCH_UP_BLOCKS = 5000  # older assignments are past any job's deadline window anyway
IDLE_POLL_S = 5.0  # with no event for this long, the node's height counts as seen
RECONNECT_MAX_S = 5.0  # longest pause between reconnect attempts


@dataclass(frozen=True)
class Assignment:
    """An ``infera.job_assigned`` event naming this worker."""

    job_id: int
    height: int


class ChainLink:
    """This worker's view of the chain (one operator account)."""

    def __init__(
        self,
        *,
        rpc_url: str,
        grpc_address: str,
        wallet: LocalWallet,
        gas_price: str = "0.025",
        chain_id: str | None = None,
        websocket_url: str | None = None,
    ):
        self.wallet = wallet
        self.address = str(wallet.address())
        self.rpc_url = rpc_url
        self.websocket_url = websocket_url or _websocket_url(rpc_url)  # CometBFT's /websocket
        self.client = Client(grpc_address, chain_id=chain_id or None, gas_price=gas_price)
        self._rpc = CometRPC(rpc_url, timeout=10)
        self._rpc_lock = threading.Lock()  # one HTTP connection, callers on several threads

    def close(self) -> None:
        self.client.close()
        self._rpc.close()

    # --- queries ---------------------------------------------------------------------------

    def height(self) -> int:
        with self._rpc_lock:
            return self._rpc.height()

    def model(self, model_id: str) -> models_types.Model | None:
        return self.client.model(model_id)

    def worker(self) -> workers_types.Worker | None:
        return self.client.worker(self.address)

    def job(self, job_id: int) -> inference_types.Job | None:
        return self.client.job(job_id)

    def job_history(self, job_id: int) -> Any:
        return self.client.job_history(job_id)

    def has_committed(self, job_id: int, route: int, hop: int) -> bool:
        history = self.job_history(job_id)
        return any((c.route_index, c.hop_index) == (route, hop) for c in history.commitments)

    def has_revealed(self, job_id: int, route: int, hop: int) -> bool:
        history = self.job_history(job_id)
        return any((r.route_index, r.hop_index) == (route, hop) for r in history.reveals)

    def job_seals(self, job_id: int) -> inference_types.JobSeals:
        """A sealed job's boxes (empty routes before the submitter sealed it)."""
        return self.client.job_seals(job_id)

    @property
    def chain_id(self) -> str:
        return self.client.chain_id

    def tx(self, txhash: str) -> TxResult | None:
        """The committed result of a transaction, None while it is not included."""
        return self.client.get_tx(txhash)

    # --- transactions (broadcast; several may go into one block) -------------------------------

    def register(
        self,
        *,
        endpoint: str,
        hardware: workers_types.Hardware,
        runtime: workers_types.Runtime,
        encryption_pubkey: bytes,
        stake: int,
    ) -> TxResult:
        return self.client.register_worker(
            self.wallet,
            endpoint=endpoint,
            hardware=hardware,
            runtime=runtime,
            encryption_pubkey=encryption_pubkey,
            stake=stake,
        )

    def update_endpoint(self, endpoint: str) -> TxResult:
        return self.client.update_worker(self.wallet, endpoint=endpoint)

    def serve_span(self, model_id: str, start: int, end: int) -> TxResult:
        return self.client.serve_span(self.wallet, model_id, start, end)

    def heartbeat(self) -> TxResult:
        return self.client.heartbeat(self.wallet, wait=False)

    def commit(self, job_id: int, commitment: bytes) -> TxResult:
        """Broadcast a commitment; returns after CheckTx (see `tx` for inclusion)."""
        return self.client.commit_output(self.wallet, job_id, commitment, wait=False)

    def reveal(
        self, job_id: int, *, tokens: Sequence[int], fingerprint: bytes, salt: bytes
    ) -> TxResult:
        """Broadcast a reveal; returns after CheckTx."""
        return self.client.reveal_output(
            self.wallet,
            job_id,
            output_tokens=list(tokens),
            shard_fingerprint=fingerprint,
            salt=salt,
            wait=False,
        )

    def reveal_sealed(
        self,
        job_id: int,
        *,
        keyed_output_hash: bytes,
        token_count: int,
        sealed_output: bytes,
        fingerprint: bytes,
        salt: bytes,
    ) -> TxResult:
        """Broadcast a sealed job's reveal (no plaintext output); returns after CheckTx."""
        msg = agreement_tx.MsgRevealOutput(
            worker=self.address,
            job_id=job_id,
            keyed_output_hash=keyed_output_hash,
            output_token_count=token_count,
            sealed_output=sealed_output,
            shard_fingerprint=fingerprint,
            salt=salt,
        )
        return self.client.execute(self.wallet, [msg], wait=False)

    def contest_seal(self, job_id: int) -> TxResult:
        """Tell the chain this worker's box of a sealed job does not open (then it commits
        nothing; a disclosure that rebuilds the box would slash it)."""
        msg = agreement_tx.MsgContestSeal(worker=self.address, job_id=job_id)
        return self.client.execute(self.wallet, [msg])

    # --- events ----------------------------------------------------------------------------

    async def watch_assignments(
        self,
        since: int,
        on_assignment: Callable[[Assignment], None],
        on_height: Callable[[int], None],
    ) -> None:
        """Report every job assigned to this worker after height `since`, forever.

        `on_height(h)` is called when every block up to h has been looked at (persist it and
        pass it back as `since` after a restart). Reconnects with backoff.
        """
        backoff = 0.5
        while True:
            try:
                since = await self._watch_once(since, on_assignment, on_height)
                backoff = 0.5
            except (OSError, RPCError, websockets.exceptions.WebSocketException) as err:
                log.warning("event stream lost (%s); reconnecting in %.1f s", err, backoff)
            except (TxError, ValueError, KeyError) as err:
                log.warning("bad event data (%s); reconnecting in %.1f s", err, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_S)

    async def _watch_once(
        self,
        since: int,
        on_assignment: Callable[[Assignment], None],
        on_height: Callable[[int], None],
    ) -> int:
        query = f"tm.event='NewBlockEvents' AND {JOB_ASSIGNED}.worker='{self.address}'"
        async with websockets.connect(self.websocket_url, max_size=None) as ws:
            request = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": query}}
            await ws.send(json.dumps(request))
            reply = json.loads(await ws.recv())
            if "error" in reply:
                raise RPCError(f"subscribe refused: {reply['error']}")
            # Subscribed: whatever happens from now on arrives here. Read what came before.
            current = await asyncio.to_thread(self.height)
            since = await asyncio.to_thread(self._catch_up, since, current, on_assignment)
            on_height(since)
            log.info("watching job assignments for %s from height %d", self.address, since)
            while True:
                try:
                    message = await asyncio.wait_for(ws.recv(), IDLE_POLL_S)
                except TimeoutError:
                    # No event: every block before the node's current one was delivered.
                    since = max(since, await asyncio.to_thread(self.height) - 1)
                    on_height(since)
                    continue
                height, events = _block_events(json.loads(message))
                for job_id in _assigned_job_ids(events, self.address):
                    on_assignment(Assignment(job_id, height))
                since = max(since, height)
                on_height(since)

    def _catch_up(
        self, since: int, current: int, on_assignment: Callable[[Assignment], None]
    ) -> int:
        """Read the end-block events of blocks since+1 .. current (at most the last
        MAX_CATCH_UP_BLOCKS); returns `current`."""
        first = max(since + 1, current - MAX_CATCH_UP_BLOCKS + 1, 1)
        for height in range(first, current + 1):
            with self._rpc_lock:
                results = self._rpc.call("block_results", height=str(height))
            events = results.get("finalize_block_events") or []
            for job_id in _assigned_job_ids(events, self.address):
                on_assignment(Assignment(job_id, height))
        return max(since, current)


def _websocket_url(rpc_url: str) -> str:
    url = urlparse(rpc_url if "://" in rpc_url else f"http://{rpc_url}")
    scheme = "wss" if url.scheme == "https" else "ws"
    return f"{scheme}://{url.netloc}/websocket"


def _block_events(message: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """(height, events) of a NewBlockEvents notification; (0, []) for anything else."""
    data = (message.get("result") or {}).get("data") or {}
    if data.get("type") != "tendermint/event/NewBlockEvents":
        return 0, []
    value = data["value"]
    return int(value["height"]), list(value.get("events") or [])


def _assigned_job_ids(events: Sequence[dict[str, Any]], address: str) -> list[int]:
    """Job ids of the ``infera.job_assigned`` events that name `address` as a worker."""
    out: list[int] = []
    for event in events:
        if event.get("type") != JOB_ASSIGNED:
            continue
        attributes = [(a.get("key"), a.get("value")) for a in event.get("attributes") or []]
        if ("worker", address) in attributes:
            out.extend(int(v) for k, v in attributes if k == "job_id")
    return out
