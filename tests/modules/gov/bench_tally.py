"""Time gov's end-block tally over N votes (each voter: D delegations, default 1) and 100
validators, reading from a committed LevelDB store (CacheStore over CommitStore), as a node does.
At the params' limits: N = params.MAX_TALLY_VOTES, D = params.TALLY_DELEGATIONS_PER_VOTER.

Run: python -m tests.modules.gov.bench_tally N [D]   (a measurement, not a test)
"""

import sys
import tempfile
import time

import chain.pb  # noqa

from chain.context import BlockInfo, Context, ExecMode
from chain.store import CacheStore, CommitStore
from chain.upgrades import UpgradeRegistry
from infera.gov.v1 import types_pb2 as gov_pb2
from infera.staking.v1 import types_pb2 as st_pb2
from modules.gov import abci
from modules.gov.keeper import GovKeeper
from modules.staking.keeper import StakingKeeper
from modules.staking.params import default_params

n = int(sys.argv[1])
d = int(sys.argv[2]) if len(sys.argv) > 2 else 1
store = CommitStore(tempfile.mkdtemp() + "/app.db")
cache = CacheStore(store.latest())
ctx = Context(store=cache, block=BlockInfo("c", 1, 0), mode=ExecMode.FINALIZE)
staking = StakingKeeper(bank=None)
staking.set_params(ctx, default_params())
ops = [i.to_bytes(2, "big") * 10 for i in range(1, 101)]
for op in ops:
    staking.set_validator(
        ctx, op, st_pb2.Validator(tokens=str(10**12), delegator_shares=str(10**18), moniker="v")
    )
    staking.set_last_power(ctx, op, 10**6)
gov = GovKeeper(bank=None, staking=staking, upgrades=UpgradeRegistry())
for i in range(n):
    voter = (10**6 + i).to_bytes(20, "big")
    for j in range(d):
        op = ops[(i + j) % 100]
        staking.set_delegation(ctx, voter, op, st_pb2.Delegation(shares="1000"))
    gov.set_vote(
        ctx,
        voter,
        gov_pb2.Vote(proposal_id=1, options=[gov_pb2.WeightedVoteOption(option=1, weight="1")]),
    )
store.stage(1, cache.changes())
store.commit()
ctx = Context(store=CacheStore(store.latest()), block=BlockInfo("c", 2, 0), mode=ExecMode.FINALIZE)
t, cpu = time.perf_counter(), time.process_time()
counts, bonded = abci.compute_tally(ctx, gov, 1, delete_votes=True)
dt, dcpu = time.perf_counter() - t, time.process_time() - cpu  # wall; CPU of this process
print(
    f"votes={n} delegations_per_voter={d} validators=100 tally_s={dt:.3f} cpu_s={dcpu:.3f} per_vote_us={dt / n * 1e6:.1f} yes_tokens={counts.yes // 10**18}"
)
