"""The execution context handed to every keeper, handler and hook.

A context carries the state branch being written, the block being executed (height and time come
from the block header, never from a clock), the gas meter and the event manager. Handlers take it as
their first argument.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from chain.events import EventManager
from chain.gas import INFINITE_GAS, GasKVStore, GasMeter
from chain.store import CacheStore, KVStore


class ExecMode(enum.Enum):
    GENESIS = "genesis"
    CHECK = "check"  # mempool admission (new tx)
    RECHECK = "recheck"  # mempool re-admission after a commit
    SIMULATE = "simulate"  # gas estimation on a discarded branch
    FINALIZE = "finalize"  # block execution
    QUERY = "query"


@dataclass(frozen=True)
class CommitVote:
    """One validator's entry in the decided commit of the previous height (FinalizeBlock's
    ``decided_last_commit``): who it is, its power then, and whether it signed."""

    address: bytes  # consensus address (20 bytes)
    power: int  # voting power at the previous height
    signed: bool  # block_id_flag is COMMIT (ABSENT and NIL are not a signature for the block)


@dataclass(frozen=True)
class BlockInfo:
    """What the chain knows about the block being executed (all from the block header)."""

    chain_id: str
    height: int
    time_ns: int  # block time, unix nanoseconds (from the header, identical on every node)
    hash: bytes = b""  # this block's hash (32 bytes; empty during genesis and checks)
    proposer: bytes = b""  # proposer's consensus address (20 bytes)
    # The previous height's decided commit, in CometBFT's order (empty outside FinalizeBlock and
    # at the first height): distribution pays by it, slashing counts missed blocks from it.
    last_commit: tuple[CommitVote, ...] = ()


@dataclass
class ValidatorUpdate:
    """A change of voting power sent to CometBFT at the end of a block (power 0 removes)."""

    pubkey_ed25519: bytes
    power: int


@dataclass
class Context:
    """State branch, block, gas and events for one unit of execution."""

    store: KVStore
    block: BlockInfo
    mode: ExecMode
    gas: GasMeter = field(default_factory=lambda: GasMeter(INFINITE_GAS))
    events: EventManager = field(default_factory=EventManager)
    validator_updates: list[ValidatorUpdate] = field(default_factory=list)

    @property
    def is_check(self) -> bool:
        return self.mode in (ExecMode.CHECK, ExecMode.RECHECK)

    def branch(self) -> tuple[Context, CacheStore]:
        """A child context writing to a new branch; call ``cache.write()`` to keep its effects.

        The child shares the gas meter (gas is spent even when a branch is discarded) but has
        its own event manager: merge with ``ctx.events.extend(child.events)`` on success.
        """
        # Branch below the gas wrapper, so that flushing a branch never charges gas (a flush that
        # ran out of gas half-way would leave a partial write behind).
        if isinstance(self.store, GasKVStore):
            cache = CacheStore(self.store.parent)
            store: KVStore = GasKVStore(cache, self.gas)
        else:
            cache = CacheStore(self.store)
            store = cache
        return replace(self, store=store, events=EventManager()), cache

    def with_gas(self, meter: GasMeter) -> Context:
        """A context whose store accesses are charged to ``meter``."""
        return replace(self, store=GasKVStore(self.store, meter), gas=meter)
