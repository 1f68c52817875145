"""The ABCI entry points under fuzzing, and what each must never do.

A "crash" is what would stop or fork a node: an ``exception`` answer (CometBFT halts), a
ProcessProposal answer other than ACCEPT/REJECT, an accepted block that FinalizeBlock cannot
execute, or an unclassified failure (code 1, "internal error": a bug the barrier caught).
Every target raises ``Crash`` for those and returns normally otherwise.
"""

from __future__ import annotations

import hashlib
import pathlib
from dataclasses import dataclass, field

import chain.pb  # noqa: F401

from chain.abci.server import dispatch
from tendermint.abci import types_pb2 as abci
from tests.harness import TestChain, finalize_request
from tests.modules import jobs

ACCEPT = abci.ResponseProcessProposal.ACCEPT
REJECT = abci.ResponseProcessProposal.REJECT


class Crash(AssertionError):
    """An answer that would stop or fork a node."""


def answer(app, kind: str, request) -> object:
    """``dispatch`` one request; raises ``Crash`` on an ``exception`` answer."""
    response = dispatch(app, abci.Request(**{kind: request}))
    if response.WhichOneof("value") != kind:
        raise Crash(f"{kind} answered {response.WhichOneof('value')}: {response}")
    return getattr(response, kind)


def make_node(path: pathlib.Path) -> TestChain:
    """A chain with data in every module: a model served by six workers and one open job."""
    node = jobs.make_job_chain(path)
    submitter = node.keys[7]
    jobs.ok(node, (submitter, jobs.submit_msg(submitter)))
    return node


@dataclass
class Node:
    """The chain under fuzzing and what its signers need to sign (sequences as committed)."""

    chain: TestChain
    accepted_blocks: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seqs: dict[bytes, int] = field(default_factory=dict)  # committed sequences, kept current

    def __post_init__(self) -> None:
        self.seqs.update(self.sequences())

    @property
    def app(self):
        return self.chain.app

    def account_numbers(self) -> dict[bytes, int]:
        return {k.address: self.chain.account_number(k) for k in self.chain.keys}

    def sequences(self) -> dict[bytes, int]:
        from chain.context import BlockInfo, Context, ExecMode
        from modules.auth.keeper import AccountKeeper

        ctx = Context(
            store=self.chain.store.latest(),
            block=BlockInfo("", self.chain.height, 0),
            mode=ExecMode.QUERY,
        )
        out = {}
        for key in self.chain.keys:
            account = AccountKeeper().get_account(ctx, key.address)
            out[key.address] = account.sequence if account is not None else 0
        return out

    def count(self, target: str) -> None:
        self.counts[target] = self.counts.get(target, 0) + 1

    # -- targets -------------------------------------------------------------------------------

    def check_tx(self, raw: bytes, recheck: bool = False) -> None:
        self.count("check_tx")
        kind = abci.RECHECK if recheck else abci.NEW
        result = answer(self.app, "check_tx", abci.RequestCheckTx(tx=raw, type=kind))
        if result.code == 1:
            raise Crash(f"CheckTx internal error: {result.log}")

    def simulate(self, raw: bytes) -> None:
        self.count("simulate")
        if self.app.simulate(raw).code == 1:
            raise Crash("Simulate internal error")

    def proposal(self, txs: list[bytes]) -> None:
        """PrepareProposal, then ProcessProposal of the result (which must ACCEPT what this
        node proposes) and of the raw list; an accepted block must execute and commit."""
        self.count("proposal")
        height = self.chain.height + 1
        prepare = abci.RequestPrepareProposal(txs=txs, max_tx_bytes=1 << 20, height=height)
        prepared = list(answer(self.app, "prepare_proposal", prepare).txs)
        if self._process(prepared, height) != ACCEPT:
            raise Crash("ProcessProposal rejects what PrepareProposal proposed")
        block = txs if self._process(txs, height) == ACCEPT else prepared
        self.finalize(block)

    def _process(self, txs: list[bytes], height: int) -> int:
        req = abci.RequestProcessProposal(
            txs=txs, height=height, hash=hashlib.sha256(b"block%d" % height).digest()
        )
        status = answer(self.app, "process_proposal", req).status
        if status not in (ACCEPT, REJECT):
            raise Crash(f"ProcessProposal answered status {status}")
        return status

    def finalize(self, txs: list[bytes]) -> None:
        self.chain.height += 1
        result = answer(self.app, "finalize_block", finalize_request(self.chain.height, txs))
        if len(result.tx_results) != len(txs):
            raise Crash(f"{len(txs)} txs, {len(result.tx_results)} results")
        internal = [r.log for r in result.tx_results if r.code == 1]
        answer(self.app, "commit", abci.RequestCommit())
        self.accepted_blocks += 1
        self.seqs.update(self.sequences())
        if internal:
            raise Crash(f"FinalizeBlock internal error: {internal}")

    def query(self, path: str, data: bytes, height: int) -> None:
        self.count("query")
        result = answer(self.app, "query", abci.RequestQuery(path=path, data=data, height=height))
        if result.code == 1:
            raise Crash(f"Query {path} internal error: {result.log}")

    def vote_extension(self, height: int, extension: bytes, address: bytes) -> None:
        self.count("vote_extension")
        answer(self.app, "extend_vote", abci.RequestExtendVote(height=height))
        verify = abci.RequestVerifyVoteExtension(
            height=height, vote_extension=extension, validator_address=address
        )
        status = answer(self.app, "verify_vote_extension", verify).status
        accept, reject = (
            abci.ResponseVerifyVoteExtension.ACCEPT,
            abci.ResponseVerifyVoteExtension.REJECT,
        )
        if status not in (accept, reject):
            raise Crash(f"VerifyVoteExtension answered status {status}")
