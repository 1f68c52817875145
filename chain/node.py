"""A full node: the Python ABCI app and CometBFT as a child process (``infera start``).

Start-up order:
1. open the app state (``HOME/data/app.db``, a ``CommitStore``) and build the app;
2. serve ABCI on config.toml's ``proxy_app`` address;
3. run ``cometbft start --home HOME`` as a child (config.toml sets ``log_format = "json"``); its
   log lines are re-emitted through structlog so the node has one log stream. It is forked
   before any gRPC thread exists: forking a process with live gRPC threads can abort the child;
4. start the gRPC server (``start_grpc_server`` below).

Shutdown (Ctrl-C, SIGTERM, or CometBFT exiting by itself): stop CometBFT first (SIGTERM, then
SIGKILL after a grace period), so that no ABCI request is in flight, then stop the servers and
close the store. A kill at any instant is safe: the store commits atomically and CometBFT replays
the blocks the app has not committed.

CometBFT shares this process's process group (killing the group kills the node) and, on Linux,
receives SIGTERM if this process dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from chain.abci.server import ABCIServer
from chain.app import AppOptions, InferaApp
from chain.log import relay_cometbft_line
from chain.nodeconfig import (
    APP_DB,
    GENESIS_JSON,
    SNAPSHOTS,
    VERDICT_INBOX,
    AppConfig,
    ConfigError,
    load_app_config,
    parse_tcp_address,
    read_cometbft_config,
)

log = structlog.get_logger("infera.node")

FAULT_ENV = "INFERA_UNSAFE_FAULT"  # test-only misbehaviour switch; never set it on a real node


class GarbageVoteExtensions:
    """Wraps a vote-extension handler so that this validator's own extensions are malformed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def extend_vote(self, ctx: Any, height: int) -> bytes:
        return b"\xff\xfe not a VoteExtension"

    def verify_vote_extension(self, extension: bytes) -> bool:
        return bool(self.inner.verify_vote_extension(extension))

    def process_votes(self, ctx: Any, votes: Any, total_power: int) -> None:
        self.inner.process_votes(ctx, votes, total_power)


class CorruptSnapshotChunks:
    """Wraps a snapshot manager so that every chunk this node serves has one byte flipped."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def load_chunk(self, req: Any) -> Any:
        response = self.inner.load_chunk(req)
        if response.chunk:
            chunk = bytearray(response.chunk)
            chunk[len(chunk) // 2] ^= 0x01
            response.chunk = bytes(chunk)
        return response


STOP_GRACE_SECONDS = 15.0  # CometBFT gets this long to stop after SIGTERM, then SIGKILL
LOG_LINE_LIMIT = 16 << 20  # longest CometBFT log line read (a panic with a huge state dump)
_PR_SET_PDEATHSIG = 1


def find_cometbft() -> str:
    """The cometbft binary: $INFERA_COMETBFT, then the project's .infera/bin, then PATH."""
    candidates = [
        os.environ.get("INFERA_COMETBFT", ""),
        str(Path(__file__).resolve().parent.parent / ".infera" / "bin" / "cometbft"),
        shutil.which("cometbft") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigError("cometbft not found: run `make install` (or set INFERA_COMETBFT)")


def _die_with_parent() -> None:
    """In the CometBFT child, before exec: get SIGTERM when the parent dies (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# -- gRPC hook ------------------------------------------------------------------------------------
# >>> gRPC SERVER HOOK (issue "gRPC"): start the Cosmos/Infera gRPC services here. <<<
# Called after the ABCI server is up and before CometBFT starts; must return an object with an
# async ``stop()`` (or None when disabled). ``app.queries`` (QueryService) answers queries,
# ``app.simulate(tx_bytes)`` runs Simulate, and BroadcastTx must forward to CometBFT RPC at
# ``rpc_url`` (broadcast_tx_sync).


async def start_grpc_server(app: InferaApp, config: AppConfig, rpc_url: str) -> Any | None:
    """Start the gRPC server (chain/grpc) on app.toml's ``[grpc] address``, unless disabled."""
    if not config.grpc_enable:
        return None
    from chain.grpc import start_grpc_server as start_server

    return await start_server(app, config.grpc_address, rpc_url)


# -------------------------------------------------------------------------------------------------


@dataclass
class NodeSettings:
    """What ``infera start`` resolved from the home folder."""

    home: Path
    abci_host: str
    abci_port: int
    rpc_url: str
    app: AppConfig


def load_settings(home: Path) -> NodeSettings:
    """Read config.toml and app.toml; fail clearly when the home folder is not initialised."""
    if not (home / GENESIS_JSON).is_file():
        raise ConfigError(f"{home / GENESIS_JSON} not found: run `infera init --home {home}` first")
    cmt = read_cometbft_config(home)
    abci_host, abci_port = parse_tcp_address(str(cmt.get("proxy_app", "tcp://127.0.0.1:26658")))
    rpc_host, rpc_port = parse_tcp_address(str(cmt.get("rpc", {}).get("laddr", "")))
    return NodeSettings(
        home=home,
        abci_host=abci_host,
        abci_port=abci_port,
        rpc_url=f"http://{rpc_host}:{rpc_port}",
        app=load_app_config(home),
    )


class Node:
    """One running full node (app + CometBFT)."""

    def __init__(self, settings: NodeSettings, cometbft: str | None = None) -> None:
        self.settings = settings
        self.cometbft = cometbft or find_cometbft()
        self._stop = asyncio.Event()
        self._child: asyncio.subprocess.Process | None = None
        self._relay: asyncio.Task[None] | None = None

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            log.info("stopping node", reason=reason)
            self._stop.set()

    async def run(self) -> int:
        """Run until stopped; returns the process exit code (0 on a requested stop)."""
        from chain.store import CommitStore
        from chain.verdict_inbox import VerdictInbox
        from chain.wiring import build_app

        s = self.settings
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
        (s.home / "data").mkdir(parents=True, exist_ok=True)
        try:
            store = CommitStore(str(s.home / APP_DB), keep_recent=s.app.keep_recent)
        except Exception as exc:  # plyvel.IOError: most often the LevelDB lock
            raise ConfigError(
                f"cannot open {s.home / APP_DB}: {exc} (is another node running on this home?)"
            ) from None
        exit_code = 0
        app: InferaApp | None = None
        server: ABCIServer | None = None
        grpc: Any | None = None
        metrics_http: Any | None = None
        try:
            options = AppOptions(
                max_tx_bytes=s.app.max_tx_bytes, min_retain_blocks=s.app.min_retain_blocks
            )
            # The verifier sidecar (`infera verifier run`) leaves verdicts here; with none, this
            # validator's vote extensions stay empty (it abstains on disputes and audits).
            inbox = VerdictInbox(s.home / VERDICT_INBOX)
            # The BLS beacon secret is derived from priv_validator_key.json (chain/nodeinit.py),
            # the key `infera init --beacon`/`infera testnet --beacon` register in genesis and
            # `infera tx beacon register-key` registers later. The node signs shares only once
            # the chain registers that key (modules/beacon/votes.py): no CPU spent before.
            from chain.nodeinit import beacon_secret

            try:
                secret: int | None = beacon_secret(s.home)
            except ConfigError as exc:  # no local key file (a remote signer): no beacon shares
                log.warning(
                    "no BLS beacon secret; this node signs no beacon shares", error=str(exc)
                )
                secret = None
            app = build_app(store, options, verdict_source=inbox, beacon_secret=secret)
            # The BLS work (signing the next share, the aggregate check) runs in a child process
            # ahead of the consensus calls that need it (modules/beacon/worker.py).
            from modules.beacon.votes import BeaconVotes
            from modules.beacon.worker import BeaconWorker

            if isinstance(app.beacon, BeaconVotes):
                app.beacon.worker = BeaconWorker()
                app.beacon.worker.start()
            _attach_state_sync(app, s)
            if os.environ.get(FAULT_ENV) == "garbage-vote-extension":
                # Test-only misbehaviour (like CometBFT's e2e "misbehaviors"): this validator
                # signs malformed extensions, which the others must reject without halting.
                log.warning("UNSAFE fault injection: malformed vote extensions", env=FAULT_ENV)
                app.vote_extensions = GarbageVoteExtensions(app.vote_extensions)
            elif os.environ.get(FAULT_ENV) == "forge-extended-commit":
                # Test-only byzantine proposer (chain/unsafe_faults.py): it injects a forged
                # extended commit, which the others must reject without halting.
                from chain.nodeconfig import PRIV_VALIDATOR_KEY
                from chain.unsafe_faults import ForgedCommitProposer, load_validator_signing_key

                log.warning("UNSAFE fault injection: forged extended commits", env=FAULT_ENV)
                key = load_validator_signing_key(s.home / PRIV_VALIDATOR_KEY)
                ForgedCommitProposer(app, key).install()
            elif os.environ.get(FAULT_ENV) == "corrupt-snapshot-chunks":
                # Test-only lying snapshot peer: joining nodes must refetch from others.
                log.warning("UNSAFE fault injection: corrupt snapshot chunks", env=FAULT_ENV)
                app.snapshots = CorruptSnapshotChunks(app.snapshots)
            if s.app.metrics_enable:  # node-local Prometheus metrics (chain/metrics.py)
                from chain.metrics import AppMetrics, parse_listen

                parse_listen(s.app.metrics_listen)  # MetricsError (a ConfigError) when invalid
                app.metrics = AppMetrics()
            log.info(
                "app state opened", height=store.last_height, app_hash=store.last_app_hash.hex()
            )
            # Everything loaded so far (modules, app, params) lives until exit: move it out of the
            # collector's generations, so a full GC on any thread no longer walks it while holding
            # the GIL (measured: longest pause on the consensus loop ~47 ms -> 1.4 ms; issue 12).
            gc.freeze()
            server = ABCIServer(app, host=s.abci_host, port=s.abci_port)
            try:
                await server.start()
            except OSError as exc:
                server = None
                raise ConfigError(
                    f"cannot serve ABCI on {s.abci_host}:{s.abci_port}: {exc.strerror or exc} "
                    "(port in use? see proxy_app in config.toml)"
                ) from None
            # Fork CometBFT before the gRPC server starts its threads: forking a process with
            # live gRPC threads can abort the child (gRPC's fork handlers, epoll fds).
            await self._spawn_cometbft()
            grpc = await start_grpc_server(app, s.app, s.rpc_url)
            if app.metrics is not None:
                from chain.metrics import start_metrics_server

                metrics_http = start_metrics_server(app.metrics, s.app.metrics_listen)
            exit_code = await self._supervise_cometbft()
        except BaseException:
            exit_code = 1
            raise
        finally:
            await self._stop_cometbft()
            if grpc is not None:
                await grpc.stop()
            if metrics_http is not None:
                metrics_http.shutdown()
                metrics_http.server_close()
            if server is not None:
                await server.stop()
            if app is not None and app.snapshots is not None:
                app.snapshots.close()  # stop an export before its store closes under it
            if app is not None and getattr(app.beacon, "worker", None) is not None:
                app.beacon.worker.close()  # type: ignore[union-attr]
            store.close()
            log.info("node stopped", exit_code=exit_code)
        return exit_code

    async def _spawn_cometbft(self) -> None:
        """Start ``cometbft start`` as a child; it connects to the ABCI server (retrying)."""
        env = dict(os.environ, CMT_LOG_FORMAT="json")
        self._child = await asyncio.create_subprocess_exec(
            self.cometbft,
            "start",
            "--home",
            str(self.settings.home),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            limit=LOG_LINE_LIMIT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        log.info("cometbft started", pid=self._child.pid, rpc=self.settings.rpc_url)
        self._relay = asyncio.create_task(self._relay_logs(self._child))

    async def _supervise_cometbft(self) -> int:
        """Wait for a stop request or for CometBFT to exit; returns the exit code."""
        assert self._child is not None and self._relay is not None
        relay = self._relay
        exited = asyncio.create_task(self._child.wait())
        stopped = asyncio.create_task(self._stop.wait())
        await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if exited.done():
            code = exited.result()
            if not self._stop.is_set():
                log.error("cometbft exited unexpectedly", exit_code=code)
                await relay
                return code or 1
        await self._stop_cometbft()
        await relay
        return 0

    async def _relay_logs(self, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        cmt_log = structlog.get_logger("cometbft")
        while True:
            try:
                line = await child.stdout.readline()
            except (asyncio.LimitOverrunError, ValueError):
                continue  # an absurdly long line: skip it rather than stop relaying
            if not line:
                return
            relay_cometbft_line(line.decode(errors="replace"), cmt_log)

    async def _stop_cometbft(self) -> None:
        child = self._child
        if child is None or child.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("cometbft did not stop in time; killing it", pid=child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
        log.info("cometbft stopped", exit_code=child.returncode)


def _attach_state_sync(app: InferaApp, s: NodeSettings) -> None:
    """Snapshots (app.toml ``[state-sync]``) and the chain id from genesis.json: a node that
    state-syncs gets no InitChain, and must refuse snapshots of another chain."""
    from chain.app import META_BLOCK_TIME, META_CHAIN_ID
    from chain.snapshots import SnapshotManager

    app.snapshots = SnapshotManager(
        s.home / SNAPSHOTS,
        interval=s.app.snapshot_interval,
        keep_recent=s.app.snapshot_keep_recent,
        chunk_bytes=s.app.snapshot_chunk_bytes,
        meta_keys=(META_CHAIN_ID, META_BLOCK_TIME),
    )
    if not app.chain_id:
        try:
            app.chain_id = str(json.loads((s.home / GENESIS_JSON).read_text())["chain_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"cannot read the chain id from {s.home / GENESIS_JSON}: {exc}"
            ) from None


def run_node(home: Path) -> int:
    """``infera start``: run the node in ``home`` until Ctrl-C or SIGTERM."""
    settings = load_settings(home)
    return asyncio.run(Node(settings).run())
