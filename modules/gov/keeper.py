"""gov keeper: params, proposals, deposits, votes, the two end-time queues and the upgrade plan
(get/set/iterate only; rules live in logic.py and msg_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.store import prefix_end
from chain.text import parse_uint
from chain.upgrades import UpgradeRegistry
from infera.gov.v1 import types_pb2
from modules.gov import keys
from modules.gov.expected import BankKeeper, MsgRouter, StakingKeeper
from modules.gov.types import ParamsTarget

ADDRESS = crypto.module_address(keys.GOV_MODULE)  # the authority of passed proposals


class GovKeeper:
    def __init__(
        self,
        bank: BankKeeper,
        staking: StakingKeeper,
        upgrades: UpgradeRegistry,
    ) -> None:
        self.bank = bank
        self.staking = staking
        self.upgrades = upgrades  # this binary's upgrade handlers (node-local code)
        self.params_targets: dict[str, ParamsTarget] = {}  # module name -> its params
        self.router: MsgRouter | None = None  # set by the wiring once every module is routed

    @property
    def authority(self) -> str:
        return crypto.to_bech32(ADDRESS)

    # -- params --------------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("gov params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    # -- proposals -----------------------------------------------------------------------------

    def get_next_id(self, ctx: Context) -> int:
        raw = ctx.store.get(keys.NEXT_ID)
        return 1 if raw is None else parse_uint(raw.decode("ascii"))

    def set_next_id(self, ctx: Context, proposal_id: int) -> None:
        ctx.store.set(keys.NEXT_ID, str(proposal_id).encode("ascii"))

    def get_proposal(self, ctx: Context, proposal_id: int) -> types_pb2.Proposal | None:
        raw = ctx.store.get(keys.proposal_key(proposal_id))
        return None if raw is None else types_pb2.Proposal.FromString(raw)

    def set_proposal(self, ctx: Context, proposal: types_pb2.Proposal) -> None:
        key = keys.proposal_key(proposal.id)
        ctx.store.set(key, proposal.SerializeToString(deterministic=True))

    def iterate_proposals(self, ctx: Context) -> Iterator[types_pb2.Proposal]:
        for _, raw in ctx.store.iterate(keys.PROPOSAL, prefix_end(keys.PROPOSAL)):
            yield types_pb2.Proposal.FromString(raw)

    # -- queues (deposit period and voting period, by end time then id) ----------------------

    def insert_queue(self, ctx: Context, queue: bytes, end_ns: int, proposal_id: int) -> None:
        ctx.store.set(keys.queue_key(queue, end_ns, proposal_id), b"\x01")

    def remove_queue(self, ctx: Context, queue: bytes, end_ns: int, proposal_id: int) -> None:
        ctx.store.delete(keys.queue_key(queue, end_ns, proposal_id))

    def iterate_ended(self, ctx: Context, queue: bytes, now_ns: int) -> Iterator[int]:
        """Ids whose period ended at or before ``now_ns``, earliest end first."""
        end = queue + keys.time_bytes(now_ns + 1)
        for key, _ in ctx.store.iterate(queue, end):
            yield int.from_bytes(key[-8:], "big")

    # -- deposits and votes --------------------------------------------------------------------

    def get_deposit(self, ctx: Context, proposal_id: int, depositor: bytes) -> types_pb2.Deposit:
        raw = ctx.store.get(keys.deposit_key(proposal_id, depositor))
        return None if raw is None else types_pb2.Deposit.FromString(raw)

    def set_deposit(self, ctx: Context, depositor: bytes, deposit: types_pb2.Deposit) -> None:
        key = keys.deposit_key(deposit.proposal_id, depositor)
        ctx.store.set(key, deposit.SerializeToString(deterministic=True))

    def iterate_deposits(
        self, ctx: Context, proposal_id: int
    ) -> Iterator[tuple[bytes, types_pb2.Deposit]]:
        """(depositor, deposit) in depositor-address order."""
        prefix = keys.DEPOSIT + keys.id_bytes(proposal_id)
        for key, raw in ctx.store.iterate(prefix, prefix_end(prefix)):
            yield key[len(prefix) :], types_pb2.Deposit.FromString(raw)

    def delete_deposit(self, ctx: Context, proposal_id: int, depositor: bytes) -> None:
        ctx.store.delete(keys.deposit_key(proposal_id, depositor))

    def get_vote(self, ctx: Context, proposal_id: int, voter: bytes) -> types_pb2.Vote | None:
        raw = ctx.store.get(keys.vote_key(proposal_id, voter))
        return None if raw is None else types_pb2.Vote.FromString(raw)

    def set_vote(self, ctx: Context, voter: bytes, vote: types_pb2.Vote) -> None:
        key = keys.vote_key(vote.proposal_id, voter)
        ctx.store.set(key, vote.SerializeToString(deterministic=True))

    def iterate_votes(
        self, ctx: Context, proposal_id: int
    ) -> Iterator[tuple[bytes, types_pb2.Vote]]:
        """(voter, vote) in voter-address order."""
        prefix = keys.VOTE + keys.id_bytes(proposal_id)
        for key, raw in ctx.store.iterate(prefix, prefix_end(prefix)):
            yield key[len(prefix) :], types_pb2.Vote.FromString(raw)

    def delete_vote(self, ctx: Context, proposal_id: int, voter: bytes) -> None:
        ctx.store.delete(keys.vote_key(proposal_id, voter))

    def set_seat(self, ctx: Context, proposal_id: int, stake: int, voter: bytes) -> None:
        ctx.store.set(keys.seat_key(proposal_id, stake, voter), b"\x01")

    def delete_seat(self, ctx: Context, proposal_id: int, stake: int, voter: bytes) -> None:
        ctx.store.delete(keys.seat_key(proposal_id, stake, voter))

    def iterate_seats(self, ctx: Context, proposal_id: int) -> Iterator[tuple[int, bytes]]:
        """(seat stake, voter), smallest stake first (then voter address)."""
        prefix = keys.SEAT + keys.id_bytes(proposal_id)
        for key, _ in ctx.store.iterate(prefix, prefix_end(prefix)):
            rest = key[len(prefix) :]
            yield int.from_bytes(rest[:16], "big"), rest[16:]

    def get_tally_delegations_of(
        self, ctx: Context, voter: bytes, limit: int
    ) -> list[tuple[bytes, int]]:
        """(operator, shares) of the voter's first ``limit`` delegations, operator order: the
        tally reads no more per voter (README "Bounds")."""
        out: list[tuple[bytes, int]] = []
        for _, operator, delegation in self.staking.iterate_delegations(ctx, voter):
            if len(out) >= limit:
                break
            out.append((operator, parse_uint(delegation.shares or "0")))
        return out

    def get_delegations_of(self, ctx: Context, voter: bytes) -> list[tuple[bytes, int]]:
        """(validator operator, shares) of each of the voter's delegations, operator order."""
        return [
            (operator, parse_uint(delegation.shares or "0"))
            for _, operator, delegation in self.staking.iterate_delegations(ctx, voter)
        ]

    # -- upgrade plan --------------------------------------------------------------------------

    def get_plan(self, ctx: Context) -> types_pb2.Plan | None:
        raw = ctx.store.get(keys.UPGRADE_PLAN)
        return None if raw is None else types_pb2.Plan.FromString(raw)

    def set_plan(self, ctx: Context, plan: types_pb2.Plan) -> None:
        ctx.store.set(keys.UPGRADE_PLAN, plan.SerializeToString(deterministic=True))

    def delete_plan(self, ctx: Context) -> None:
        ctx.store.delete(keys.UPGRADE_PLAN)

    def get_done_height(self, ctx: Context, name: str) -> int:
        raw = ctx.store.get(keys.UPGRADE_DONE + name.encode("ascii"))
        return 0 if raw is None else parse_uint(raw.decode("ascii"))

    def set_done(self, ctx: Context, name: str, height: int) -> None:
        ctx.store.set(keys.UPGRADE_DONE + name.encode("ascii"), str(height).encode("ascii"))

    def iterate_done(self, ctx: Context) -> Iterator[tuple[str, int]]:
        for key, raw in ctx.store.iterate(keys.UPGRADE_DONE, prefix_end(keys.UPGRADE_DONE)):
            yield key[len(keys.UPGRADE_DONE) :].decode("ascii"), parse_uint(raw.decode("ascii"))
