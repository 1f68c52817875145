"""The ABCI 2.0 application: consensus, mempool, query and snapshot connections.

State flow per height H:
  InitChain (H = initial height, only on a new chain) and FinalizeBlock(H) write to one pending
  branch over the last committed state; FinalizeBlock stages the new tree and returns the app hash
  (it lands in header H+1); Commit persists branch, tree, height and hash in one atomic write.
  A crash before Commit loses only the pending branch: CometBFT replays the block on restart.
CheckTx runs the ante checks on a separate check branch, reset at every Commit.
Nothing here reads a clock or a random source: the block header is the only time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import chain.pb  # noqa: F401

import structlog

from chain.context import BlockInfo, CommitVote, Context, ExecMode
from chain.errors import ChainError
from chain.events import EventManager
from chain.gas import INFINITE_GAS
from chain.module import Module, Router
from chain.queries import QueryService
from chain.runner import TxOutcome, TxRunner
from chain.store import CacheStore, CommitStore, KVStore, StoreSnapshot
from chain.upgrades import UpgradeNeeded
from chain.vote_extensions import (
    BEACON_MARKER,
    MAX_EXTENSION_BYTES,
    SHARE_BYTES,
    BeaconHandler,
    NoVoteExtensions,
    ValidatorPower,
    VoteExtensionError,
    VoteExtensionHandler,
    compute_updated_set,
    decode_injected,
    delete_validator_set,
    encode_injected,
    fit_extended_commit,
    get_validator_set,
    is_injection_height,
    set_validator_set,
    split_extension,
    verify_extended_commit,
    wrap_extension,
)
from tendermint.abci import types_pb2 as abci
from tendermint.crypto import keys_pb2
from tendermint.types import params_pb2, validator_pb2

log = structlog.get_logger("chain.app")

APP_VERSION = 1
META_CHAIN_ID = b"chain_id"
META_BLOCK_TIME = b"last_block_time_ns"
CODE_INVALID_VOTES = 2  # result code of an injected extended commit that fails verification
CONSENSUS_PARAMS_KEY = b"consensus/params"  # -> tendermint.types.ConsensusParams
# Gas one Simulate may use when the block max gas is unlimited (-1); else the block max gas.
MAX_SIMULATE_GAS = 100_000_000


@dataclass(frozen=True)
class AppOptions:
    """Node-local settings (not consensus): they may differ between validators."""

    max_tx_bytes: int = 1 << 20  # largest tx CheckTx admits and this node proposes (bytes)
    min_retain_blocks: int = 0  # CometBFT block pruning: keep this many recent blocks (0 = all)


class InferaApp:
    """The ABCI application: wires the store, the modules and the transaction runner."""

    def __init__(
        self,
        *,
        store: CommitStore,
        modules: Sequence[Module],
        runner: TxRunner,
        router: Router,
        options: AppOptions | None = None,
        vote_extensions: VoteExtensionHandler | None = None,
        validator_pubkey: Callable[[Context, bytes], bytes | None] | None = None,
        beacon: BeaconHandler | None = None,
        pre_blockers: Sequence[Callable[[Context], None]] = (),
    ) -> None:
        self.store = store
        self.modules = list(modules)
        self.router = router
        self.runner = runner
        self.options = options or AppOptions()
        self.vote_extensions = vote_extensions or NoVoteExtensions()
        self.beacon = beacon  # None: extensions carry no beacon shares, none are aggregated
        # Run before every module's begin-block (Cosmos PreBlocker): gov's upgrade gate.
        self.pre_blockers = list(pre_blockers)
        # consensus address -> ed25519 public key, for checking extension signatures
        self.validator_pubkey = validator_pubkey or (lambda ctx, address: None)
        self.queries = QueryService(store=store, router=router, block_info=self._snapshot_block)
        # Simulate runs on query threads: its own runner (and tx decoder), sharing no cache
        # with the CheckTx/FinalizeBlock runner on the consensus thread.
        self._simulator = dataclasses.replace(runner)
        self._pending: CacheStore | None = None  # InitChain + FinalizeBlock writes until Commit
        self._pending_height = 0
        self._pending_time_ns = 0
        self._check = CacheStore(store.latest())
        self.chain_id = (store.get_meta(META_CHAIN_ID) or b"").decode()  # set by InitChain
        # Node-local Prometheus metrics (chain/metrics.py, never consensus); None: off.
        self.metrics: Any = None
        # State sync (chain/snapshots.SnapshotManager): makes, serves and restores snapshots.
        self.snapshots: Any = None

    # -- helpers -------------------------------------------------------------------------------

    def _last_time_ns(self) -> int:
        raw = self.store.get_meta(META_BLOCK_TIME)
        return int(raw) if raw else 0

    def _query_block(self) -> BlockInfo:
        return BlockInfo(self.chain_id, self.store.last_height, self._last_time_ns())

    def _snapshot_block(self, snapshot: StoreSnapshot) -> BlockInfo:
        """The block a query reads as: the snapshot's height and block time (one commit)."""
        raw = snapshot.get_meta(META_BLOCK_TIME)
        return BlockInfo(self.chain_id, snapshot.height, int(raw) if raw else 0)

    def _check_block(self) -> BlockInfo:
        """CheckTx runs as if in the next block (Cosmos does the same)."""
        return BlockInfo(self.chain_id, self.store.last_height + 1, self._last_time_ns())

    def _pending_branch(self) -> CacheStore:
        if self._pending is None:
            self._pending = CacheStore(self.store.latest())
        return self._pending

    def consensus_params(self) -> params_pb2.ConsensusParams:
        """The consensus params saved at InitChain (block max gas and bytes, evidence, abci)."""
        params = params_pb2.ConsensusParams()
        raw = self.store.latest().get(CONSENSUS_PARAMS_KEY)
        if raw:
            params.ParseFromString(raw)
        return params

    def _max_block_gas(self) -> int:
        max_gas = self.consensus_params().block.max_gas
        return max_gas if max_gas > 0 else -1

    # -- info / init ---------------------------------------------------------------------------

    def info(self, req: abci.RequestInfo) -> abci.ResponseInfo:
        height = self.store.last_height
        return abci.ResponseInfo(
            data="infera",
            version="0.1.0",
            app_version=APP_VERSION,
            last_block_height=height,
            last_block_app_hash=self.store.last_app_hash if height > 0 else b"",
        )

    def init_chain(self, req: abci.RequestInitChain) -> abci.ResponseInitChain:
        """Load every module's genesis into the pending branch and report the genesis app hash."""
        if self.store.last_height > 0:
            raise RuntimeError("InitChain on a chain that already has committed blocks")
        try:
            app_state: dict[str, Any] = json.loads(req.app_state_bytes or b"{}")
        except ValueError as exc:
            raise RuntimeError(f"genesis app_state is not valid JSON: {exc}") from None
        self.chain_id = req.chain_id
        self._pending = CacheStore(self.store.latest())
        block = BlockInfo(req.chain_id, req.initial_height, _time_ns(req.time))
        ctx = Context(store=self._pending, block=block, mode=ExecMode.GENESIS)
        ctx.store.set(CONSENSUS_PARAMS_KEY, req.consensus_params.SerializeToString())
        for module in self.modules:
            module.init_genesis(ctx, app_state.get(module.name, {}))
        self._record_genesis_validators(ctx, req)
        app_hash = self.store.stage(req.initial_height, self._pending.changes())
        # Until block 1 is committed the mempool checks against the genesis state (Cosmos does too).
        self._check = CacheStore(self._pending)
        log.info("genesis loaded", chain_id=req.chain_id, validators=len(ctx.validator_updates))
        return abci.ResponseInitChain(
            validators=[_validator_update(u) for u in ctx.validator_updates], app_hash=app_hash
        )

    # -- mempool -------------------------------------------------------------------------------

    def check_tx(self, req: abci.RequestCheckTx) -> abci.ResponseCheckTx:
        """Mempool admission: the ante checks on the check branch. Any tx bytes get a result
        code (the runner classifies every failure; the ABCI server's barrier catches the rest)."""
        mode = ExecMode.RECHECK if req.type == abci.RECHECK else ExecMode.CHECK
        outcome = self.runner.run(self._check, req.tx, mode, self._check_block())
        response = abci.ResponseCheckTx(
            code=outcome.code,
            codespace=outcome.codespace,
            log=outcome.log,
            gas_wanted=outcome.gas_wanted,
            gas_used=outcome.gas_used,
        )
        if self.metrics is not None:
            self.metrics.check_tx(response)  # never raises
        return response

    def simulate(self, tx_bytes: bytes) -> TxOutcome:
        """Run a tx on a throw-away branch of one committed snapshot, as if in the next block
        (no fee or gas-limit checks), with at most the block max gas. Safe on any thread."""
        with self.store.snapshot() as snapshot:
            last = self._snapshot_block(snapshot)
            block = BlockInfo(last.chain_id, last.height + 1, last.time_ns)
            params = params_pb2.ConsensusParams.FromString(
                snapshot.get(CONSENSUS_PARAMS_KEY) or b""
            )
            max_gas = params.block.max_gas if params.block.max_gas > 0 else MAX_SIMULATE_GAS
            return self._simulator.run(
                CacheStore(snapshot),
                tx_bytes,
                ExecMode.SIMULATE,
                block,
                simulate_gas=min(max_gas, INFINITE_GAS),
            )

    # -- proposals and votes -------------------------------------------------------------------

    def prepare_proposal(self, req: abci.RequestPrepareProposal) -> abci.ResponsePrepareProposal:
        """Take mempool txs in order while they fit the block's byte and gas limits; at heights
        that carry vote extensions, the previous height's extended commit goes first."""
        max_gas, used_gas, used_bytes, chosen = self._max_block_gas(), 0, 0, []
        if self._injects_votes(req.height):
            commit = fit_extended_commit(req.local_last_commit, req.max_tx_bytes)
            if commit is None:
                log.error("extended commit does not fit the block", height=req.height)
            else:
                chosen.append(encode_injected(commit))
                used_bytes += len(chosen[0])
        for raw in req.txs:
            gas = self._tx_gas(raw)
            too_big = len(raw) > self.options.max_tx_bytes  # node-local: this proposer's choice
            if gas is None or too_big or used_bytes + len(raw) > req.max_tx_bytes:
                continue
            if max_gas >= 0 and used_gas + gas > max_gas:
                continue
            chosen.append(raw)
            used_bytes += len(raw)
            used_gas += gas
        return abci.ResponsePrepareProposal(txs=chosen)

    def process_proposal(self, req: abci.RequestProcessProposal) -> abci.ResponseProcessProposal:
        """Reject blocks with undecodable txs (a gas limit outside int64 included), over the gas
        limit, or with a missing or bad extended commit; the answer is always ACCEPT or REJECT
        (UNKNOWN would halt the node). Only consensus rules decide: node-local settings such as
        app.toml's max_tx_bytes never make a block invalid here or in FinalizeBlock."""
        accept = abci.ResponseProcessProposal(status=abci.ResponseProcessProposal.ACCEPT)
        reject = abci.ResponseProcessProposal(status=abci.ResponseProcessProposal.REJECT)
        txs = list(req.txs)
        if self._injects_votes(req.height):
            store = self.store.latest()
            last_commit = req.proposed_last_commit
            verified = self._verified_votes(store, txs[0], req.height, last_commit) if txs else None
            if verified is None:
                return reject
            if self.beacon is not None:  # node-local: start the aggregate check (modules/beacon)
                votes, total = verified
                shares = [(v.validator_address, v.power, v.beacon_share) for v in votes]
                self.beacon.prefetch_votes(self.chain_id, req.height - 1, shares, total)
            txs = txs[1:]
        max_gas, used_gas = self._max_block_gas(), 0
        for raw in txs:
            gas = self._tx_gas(raw)
            if gas is None:
                return reject
            used_gas += gas
        if max_gas >= 0 and used_gas > max_gas:
            return reject
        return accept

    def _injects_votes(self, height: int) -> bool:
        enable = self.consensus_params().abci.vote_extensions_enable_height
        return is_injection_height(height, enable)

    def _verified_votes(
        self, store: KVStore, raw: bytes, height: int, last_commit: abci.CommitInfo
    ) -> tuple[list, int] | None:
        """The extended commit of ``height - 1`` carried by ``raw``, checked against CometBFT's
        ``last_commit`` and this app's validator set of ``height - 1``; None if invalid."""
        ctx = Context(store=store, block=self._query_block(), mode=ExecMode.QUERY)
        try:
            commit = decode_injected(raw)
            if commit is None:
                return None
            return verify_extended_commit(
                commit,
                chain_id=self.chain_id,
                height=height - 1,
                last_commit=last_commit,
                validators=get_validator_set(store, height - 1),
                pubkey_of=lambda address: self.validator_pubkey(ctx, address),
                is_valid_extension=self._is_valid_extension,
            )
        except VoteExtensionError as exc:
            log.warning("invalid extended commit", height=height, error=str(exc))
            return None

    def _tx_gas(self, raw: bytes) -> int | None:
        """A tx's gas limit, or None when it does not decode."""
        try:
            return self.runner.decoder.decode(raw).gas_limit
        except ChainError:
            return None

    def extend_vote(self, req: abci.RequestExtendVote) -> abci.ResponseExtendVote:
        """This validator's extension; a failing handler abstains rather than halting the node."""
        ctx = Context(store=self.store.latest(), block=self._query_block(), mode=ExecMode.QUERY)
        try:
            extension = self.vote_extensions.extend_vote(ctx, req.height)
        except Exception:
            log.exception("vote extension handler failed; abstaining", height=req.height)
            extension = b""
        try:
            share = self.beacon.compute_share(self.chain_id, req.height) if self.beacon else b""
        except Exception:
            log.exception("beacon share failed; abstaining from the beacon", height=req.height)
            share = b""
        extension = wrap_extension(share, extension)
        if len(extension) > MAX_EXTENSION_BYTES:
            log.error("vote extension too large; abstaining", size=len(extension))
            extension = b""
        return abci.ResponseExtendVote(vote_extension=extension)

    def verify_vote_extension(
        self, req: abci.RequestVerifyVoteExtension
    ) -> abci.ResponseVerifyVoteExtension:
        """ACCEPT well-formed extensions (empty means abstain), REJECT others; never UNKNOWN."""
        extension = bytes(req.vote_extension)
        try:
            ok = len(extension) <= MAX_EXTENSION_BYTES and self._is_valid_extension(extension)
        except Exception:
            ok = False
        if ok and self.beacon is not None and extension.startswith(BEACON_MARKER):
            share = extension[len(BEACON_MARKER) : len(BEACON_MARKER) + SHARE_BYTES]
            address = bytes(req.validator_address)  # node-local: an early aggregate check
            self.beacon.observe_share(self.chain_id, req.height, address, share)
        status = abci.ResponseVerifyVoteExtension
        return status(status=status.ACCEPT if ok else status.REJECT)

    def _is_valid_extension(self, extension: bytes) -> bool:
        """A well-formed beacon share (if any; only where this chain runs a beacon) and a
        module extension its handler accepts."""
        parts = split_extension(extension)
        if parts is None:
            return False
        share, inner = parts
        if share and (self.beacon is None or not self.beacon.is_well_formed_share(share)):
            return False
        return bool(self.vote_extensions.verify_vote_extension(inner))

    # -- blocks --------------------------------------------------------------------------------

    def finalize_block(self, req: abci.RequestFinalizeBlock) -> abci.ResponseFinalizeBlock:
        """Execute a decided block on the pending branch and return the staged app hash."""
        branch = self._pending_branch()
        block = BlockInfo(
            self.chain_id,
            req.height,
            _time_ns(req.time),
            req.hash,
            req.proposer_address,
            _commit_votes(req.decided_last_commit),
        )
        ctx = Context(store=branch, block=block, mode=ExecMode.FINALIZE)
        try:
            for pre_block in self.pre_blockers:
                pre_block(ctx)
        except UpgradeNeeded as halt:
            # This binary must not execute the block (chain/upgrades.py): refuse it, so that
            # the ABCI exception stops CometBFT (and the node) with nothing of the block kept.
            log.error(str(halt), height=req.height)
            raise
        for module in self.modules:
            module.begin_block(ctx, list(req.misbehavior))
        txs, results = list(req.txs), []
        if self._injects_votes(req.height) and txs:
            marker = txs.pop(0)
            results.append(
                self._process_injected_votes(ctx, marker, req.height, req.decided_last_commit)
            )
        results += [self.runner.run(branch, raw, ExecMode.FINALIZE, block) for raw in txs]
        for module in self.modules:
            module.end_block(ctx)
        self._record_next_validators(ctx, req.height)
        self._pending_height, self._pending_time_ns = req.height, block.time_ns
        app_hash = self.store.stage(req.height, branch.changes())
        response = abci.ResponseFinalizeBlock(
            events=EventManager(ctx.events.events).to_abci(),
            tx_results=[_exec_result(r) for r in results],
            validator_updates=[_validator_update(u) for u in ctx.validator_updates],
            app_hash=app_hash,
        )
        if self.metrics is not None:
            self.metrics.finalize_block(req, response)  # never raises
        return response

    def _process_injected_votes(
        self, ctx: Context, raw: bytes, height: int, last_commit: abci.CommitInfo
    ) -> TxOutcome:
        """Hand the previous height's verified extensions to the handler. A decided block whose
        marker fails verification (possible only with a byzantine supermajority) is skipped:
        its votes are never applied."""
        verified = self._verified_votes(ctx.store, raw, height, last_commit)
        if verified is None:
            return TxOutcome(
                code=CODE_INVALID_VOTES, codespace="infera", log="invalid extended commit"
            )
        votes, total = verified
        if self.beacon is not None:
            shares = [(v.validator_address, v.power, v.beacon_share) for v in votes]
            self.beacon.process_shares(ctx, height - 1, shares, total)
        self.vote_extensions.process_votes(ctx, votes, total)
        return TxOutcome()

    def _record_genesis_validators(self, ctx: Context, req: abci.RequestInitChain) -> None:
        """The first two heights vote with the genesis set: the one InitChain returns, or
        CometBFT's genesis validators when the app returns none."""
        updates = [(u.pubkey_ed25519, u.power) for u in ctx.validator_updates]
        if not updates:
            updates = [(bytes(v.pub_key.ed25519), v.power) for v in req.validators]
        validators = compute_updated_set([], updates)
        for height in (req.initial_height, req.initial_height + 1):
            set_validator_set(ctx.store, height, validators)

    def _record_next_validators(self, ctx: Context, height: int) -> None:
        """CometBFT applies the updates returned at ``height`` from ``height + 2`` on; the set of
        ``height - 1`` was last needed by this block's injected commit."""
        current: list[ValidatorPower] = get_validator_set(ctx.store, height + 1)
        updates = [(u.pubkey_ed25519, u.power) for u in ctx.validator_updates]
        set_validator_set(ctx.store, height + 2, compute_updated_set(current, updates))
        delete_validator_set(ctx.store, height - 1)

    def commit(self, req: abci.RequestCommit) -> abci.ResponseCommit:
        """Persist the staged block atomically, then reset the mempool's check branch."""
        if self._pending_height == 0:
            raise RuntimeError("Commit without a finalized block")
        meta = {
            META_CHAIN_ID: self.chain_id.encode(),
            META_BLOCK_TIME: str(self._pending_time_ns).encode(),
        }
        self.store.commit(extra_meta=meta)
        self._pending, self._pending_height = None, 0
        self._check = CacheStore(self.store.latest())
        if self.snapshots is not None:  # at snapshot heights: export on a background thread
            self.snapshots.maybe_snapshot(self.store)
        retain = 0
        if self.options.min_retain_blocks > 0:
            retain = max(0, self.store.last_height - self.options.min_retain_blocks)
        return abci.ResponseCommit(retain_height=retain)

    # -- queries -------------------------------------------------------------------------------

    def query(self, req: abci.RequestQuery) -> abci.ResponseQuery:
        return self.queries.abci_query(req)

    # -- state sync (chain/snapshots.py; docs/state-sync.md) -----------------------------------

    def list_snapshots(self, req: Any) -> abci.ResponseListSnapshots:
        if self.snapshots is None:
            return abci.ResponseListSnapshots()
        return self.snapshots.list_snapshots()

    def offer_snapshot(self, req: abci.RequestOfferSnapshot) -> abci.ResponseOfferSnapshot:
        """Accept only a snapshot of this chain (chain id from genesis) at the trusted app hash."""
        if self.snapshots is None:
            return abci.ResponseOfferSnapshot(result=abci.ResponseOfferSnapshot.REJECT)
        expected = {META_CHAIN_ID: self.chain_id.encode()} if self.chain_id else {}
        return self.snapshots.offer(self.store, req, expected)

    def load_snapshot_chunk(self, req: Any) -> abci.ResponseLoadSnapshotChunk:
        if self.snapshots is None:
            return abci.ResponseLoadSnapshotChunk()
        return self.snapshots.load_chunk(req)

    def apply_snapshot_chunk(
        self, req: abci.RequestApplySnapshotChunk
    ) -> abci.ResponseApplySnapshotChunk:
        """Verify one chunk; after the last, the store holds the restored height (or nothing)."""
        if self.snapshots is None:
            return abci.ResponseApplySnapshotChunk(result=abci.ResponseApplySnapshotChunk.ABORT)
        response = self.snapshots.apply_chunk(self.store, req)
        if self.store.last_height > 0:  # restored: read the chain id and block time from it
            self.chain_id = (self.store.get_meta(META_CHAIN_ID) or b"").decode()
            self._check = CacheStore(self.store.latest())
        return response


def _commit_votes(commit: abci.CommitInfo) -> tuple[CommitVote, ...]:
    """The decided last commit as plain data for the modules (CometBFT's vote order)."""
    return tuple(
        CommitVote(
            address=bytes(vote.validator.address),
            power=int(vote.validator.power),
            signed=vote.block_id_flag == validator_pb2.BLOCK_ID_FLAG_COMMIT,
        )
        for vote in commit.votes
    )


def _time_ns(timestamp: Any) -> int:
    return int(timestamp.seconds) * 1_000_000_000 + int(timestamp.nanos)


def _exec_result(outcome: TxOutcome) -> abci.ExecTxResult:
    return abci.ExecTxResult(
        code=outcome.code,
        codespace=outcome.codespace,
        log=outcome.log,
        data=outcome.data,
        gas_wanted=outcome.gas_wanted,
        gas_used=outcome.gas_used,
        events=[e.to_abci() for e in outcome.events],
    )


def _validator_update(update: Any) -> abci.ValidatorUpdate:
    return abci.ValidatorUpdate(
        pub_key=keys_pb2.PublicKey(ed25519=update.pubkey_ed25519), power=update.power
    )
