"""Running one transaction: size check, decoding, ante on a branch, messages on a branch.

Cosmos semantics: the ante branch (sequence increments, fee) is kept once the ante checks pass,
even when a message then fails; the message branch is kept only when every message succeeds.
CheckTx runs the ante only; Simulate runs everything on branches the caller throws away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import chain.pb  # noqa: F401

import structlog
from google.protobuf import any_pb2

from chain import crypto
from chain.ante import AnteHandler
from chain.context import BlockInfo, Context, ExecMode
from chain.errors import ChainError, ErrTxTooLarge
from chain.events import Event, attr
from chain.gas import INFINITE_GAS, GasKVStore, GasMeter
from chain.module import Router
from chain.store import CacheStore, KVStore
from chain.tx import DecodedTx, TxDecoder
from cosmos.base.abci.v1beta1 import abci_pb2

log = structlog.get_logger("chain.runner")

CODE_OK = 0
CODE_INTERNAL = 1
# Modes where node-local admission limits apply (never block execution).
_ADMISSION_MODES = (ExecMode.CHECK, ExecMode.RECHECK, ExecMode.SIMULATE)


@dataclass
class TxOutcome:
    """What a transaction did; maps one-to-one onto ABCI ``ExecTxResult``/``ResponseCheckTx``."""

    code: int = CODE_OK
    codespace: str = ""
    log: str = ""
    data: bytes = b""
    gas_wanted: int = 0
    gas_used: int = 0
    events: list[Event] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.code == CODE_OK


@dataclass
class TxRunner:
    router: Router
    ante: AnteHandler
    # Node-local (app.toml): larger txs are refused at mempool admission (CheckTx, recheck,
    # Simulate) before decoding. Never applied to blocks: what a block may hold is consensus
    # (CometBFT's block max_bytes), and validators with other settings must agree on results.
    max_tx_bytes: int

    def __post_init__(self) -> None:
        self.decoder = TxDecoder(self.router)  # shared with the app's proposal checks

    def run(
        self,
        parent: KVStore,
        raw: bytes,
        mode: ExecMode,
        block: BlockInfo,
        *,
        simulate_gas: int = INFINITE_GAS,
    ) -> TxOutcome:
        """Execute ``raw`` against ``parent`` (written only on success) and report the outcome.

        Other modes meter the tx's own gas limit; Simulate (which has none) meters
        ``simulate_gas``, so a simulation stops where a block would (the block max gas).
        """
        outcome = TxOutcome()
        meter = GasMeter(simulate_gas if mode == ExecMode.SIMULATE else INFINITE_GAS)
        tx: DecodedTx | None = None
        try:
            if mode in _ADMISSION_MODES and len(raw) > self.max_tx_bytes:
                raise ErrTxTooLarge(
                    f"tx of {len(raw)} bytes exceeds the limit of {self.max_tx_bytes}"
                )
            tx = self.decoder.decode(raw, allow_zero_gas=mode == ExecMode.SIMULATE)
            outcome.gas_wanted = tx.gas_limit
            if mode != ExecMode.SIMULATE:
                meter = GasMeter(tx.gas_limit)
            self._run_ante(parent, tx, mode, block, meter, outcome)
            if mode in (ExecMode.FINALIZE, ExecMode.SIMULATE):
                self._run_msgs(parent, tx, mode, block, meter, outcome)
        except ChainError as err:
            outcome.code, outcome.codespace, outcome.log = err.code, err.codespace, err.log
        except Exception:  # a bug must not halt the chain; the result stays deterministic
            log.exception("tx execution failed unexpectedly", mode=mode.value)
            outcome.code, outcome.codespace, outcome.log = CODE_INTERNAL, "sdk", "internal error"
        outcome.gas_used = min(meter.consumed, meter.limit)
        self._update_cache(raw, tx, mode, outcome)
        return outcome

    def _update_cache(
        self, raw: bytes, tx: DecodedTx | None, mode: ExecMode, outcome: TxOutcome
    ) -> None:
        """Cache what the mempool keeps (admitted by CheckTx, kept by recheck); drop the rest."""
        if tx is not None and outcome.ok and mode in (ExecMode.CHECK, ExecMode.RECHECK):
            self.decoder.remember(tx)
        elif mode != ExecMode.SIMULATE:
            self.decoder.forget(raw)

    def _run_ante(
        self,
        parent: KVStore,
        tx: DecodedTx,
        mode: ExecMode,
        block: BlockInfo,
        meter: GasMeter,
        outcome: TxOutcome,
    ) -> None:
        cache = CacheStore(parent)
        ctx = Context(store=GasKVStore(cache, meter), block=block, mode=mode, gas=meter)
        self.ante.run(ctx, tx)
        cache.write()
        outcome.events.extend(ctx.events.events)
        outcome.events.extend(tx_events(tx, block.chain_id))

    def _run_msgs(
        self,
        parent: KVStore,
        tx: DecodedTx,
        mode: ExecMode,
        block: BlockInfo,
        meter: GasMeter,
        outcome: TxOutcome,
    ) -> None:
        cache = CacheStore(parent)
        ctx = Context(store=GasKVStore(cache, meter), block=block, mode=mode, gas=meter)
        responses = []
        for index, (route, msg) in enumerate(tx.msgs):
            sender = crypto.to_bech32(tx.signers[0]) if tx.signers else ""
            ctx.events.emit(
                "message",
                attr("action", route.type_url, index=True),
                attr("sender", sender, index=True),
                attr("msg_index", index),
            )
            response = route.handler(ctx, msg)
            packed = any_pb2.Any()
            if response is not None:
                packed.Pack(response, type_url_prefix="/")
            responses.append(packed)
        cache.write()
        outcome.events.extend(ctx.events.events)
        outcome.data = abci_pb2.TxMsgData(msg_responses=responses).SerializeToString()


def tx_events(tx: DecodedTx, chain_id: str) -> list[Event]:
    """The ``tx`` events Cosmos emits for every included transaction (searchable by payer)."""
    fee = ",".join(f"{c.amount}{c.denom}" for c in tx.fee)
    events = [
        Event(
            "tx", (attr("fee", fee), attr("fee_payer", crypto.to_bech32(tx.signers[0]), index=True))
        )
    ]
    for signer, info in zip(tx.signers, tx.signer_infos, strict=True):
        events.append(
            Event(
                "tx", (attr("acc_seq", f"{crypto.to_bech32(signer)}/{info.sequence}", index=True),)
            )
        )
    return events
