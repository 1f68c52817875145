"""Route assignment under attack: route share vs stake share per party, before and after.

    python bench/bench_assignment.py [--jobs 10000] [--grind 64] [--quick]

A simulation of `modules/sharding/logic.compute_routes` (the chain's own code draws every route)
over 10^4 job assignments, redundancy r = 3, full-span workers, with five parties:

* ``honest``: six workers staking 10,000 INFERA each, declaring 10 tokens/s;
* ``inflated``: two workers with the minimum stake (1 INFERA each) declaring 2^64 - 1 tokens/s
  (the capture of issue 13);
* ``split``: 3,000 INFERA split across 30 identities of 100 INFERA;
* ``whole``: 3,000 INFERA in one identity (the same stake as ``split``, not split);
* ``grinder``: 6,000 INFERA across 3 identities, and the proposer of 10 % of the blocks.

Two rules:

* **before** (reimplemented here): weight = declared throughput x stake x reputation, seed =
  sha256(block hash || job id). The proposer knows the block hash while building the block and
  can reorder or add txs: modelled as choosing the best of ``--grind`` seeds for its party.
* **after** (the chain now): weight = bonded stake x min(reputation, 2.0) (all reputations are
  1.0 here), seed from the randomness beacon, where the proposer can only abstain: modelled as
  choosing the better of 2 seeds (its block's and the next proposer's).

For each party it prints its stake share, its share of all routes, and the fraction of jobs
where it held all r routes (capture), with the exact expected route share of the after rule
without grinding (the joint systematic draw: each identity's inclusion probability from
`compute_inclusion`, sharding README "Attacker math"). Writes bench/results/assignment.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modules.sharding.logic import Prng, compute_inclusion, compute_routes  # noqa: E402
from modules.sharding.types import Candidate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "assignment.json"
INFERA = 1_000_000  # uinfera
LAYERS = 8
REDUNDANCY = 3
REPUTATION = 1_000_000  # 1.0 for everyone
MAX_FACTOR = 2_000_000
U64_MAX = 2**64 - 1
PROPOSER_SHARE_PERCENT = 10  # the grinder proposes this share of the blocks
PARTIES = {  # name -> (identities, stake each in INFERA, declared tokens/s)
    "honest": (6, 10_000, 10),
    "inflated": (2, 1, U64_MAX),
    "split": (30, 100, 10),
    "whole": (1, 3_000, 10),
    "grinder": (3, 2_000, 10),
}


def population(parties: dict) -> list[tuple[str, bytes, int, int]]:
    """(party, operator, stake uinfera, declared throughput) of every worker."""
    out = []
    for party, (count, stake, throughput) in parties.items():
        for i in range(count):
            operator = hashlib.sha256(f"{party}/{i}".encode()).digest()[:20]
            out.append((party, operator, stake * INFERA, throughput))
    return out


def candidates(rule: str, workers: list[tuple[str, bytes, int, int]]) -> list[Candidate]:
    if rule == "before":  # the old rule: throughput x stake x reputation
        return [Candidate(op, 0, LAYERS, t * s * REPUTATION, t) for _, op, s, t in workers]
    weight = min(REPUTATION, MAX_FACTOR)
    return [Candidate(op, 0, LAYERS, s * weight, 500) for _, op, s, _ in workers]


def seed_of(job: int, attempt: int) -> bytes:
    return hashlib.sha256(b"bench/%d/%d" % (job, attempt)).digest()


def simulate(rule: str, jobs: int, grind: int, parties: dict) -> dict:
    workers = population(parties)
    party_of = {op: party for party, op, _, _ in workers}
    cands = candidates(rule, workers)
    routes_held = dict.fromkeys(parties, 0)
    captured = dict.fromkeys(parties, 0)
    tries = grind if rule == "before" else 2  # block-hash grinding vs abstain-only beacon
    for job in range(jobs):
        proposer_is_grinder = hashlib.sha256(b"proposer/%d" % job).digest()[0] * 100 < (
            PROPOSER_SHARE_PERCENT * 256
        )
        options = range(tries if proposer_is_grinder else 1)
        best = None
        for attempt in options:
            routes = compute_routes(cands, LAYERS, REDUNDANCY, Prng(seed_of(job, attempt)), 1000)
            owners = [party_of[route[0].operator] for route in routes]
            score = owners.count("grinder")
            if best is None or score > best[0]:
                best = (score, owners)
        assert best is not None
        for party in set(best[1]):
            routes_held[party] += best[1].count(party)
        for party in parties:
            if best[1].count(party) == REDUNDANCY:
                captured[party] += 1
    total_stake = sum(s for _, _, s, _ in workers)
    rows = {}
    for party, (count, stake, _) in parties.items():
        share = count * stake * INFERA / total_stake
        rows[party] = {
            "identities": count,
            "stake_share": share,
            "route_share": routes_held[party] / (jobs * REDUNDANCY),
            "capture_rate": captured[party] / jobs,
            "expected_share_after": expected_share(parties, party),
        }
    return rows


def expected_share(parties: dict, party: str) -> float:
    """The party's exact expected share of routes without grinding under the after rule: the
    sum of its identities' inclusion probabilities over r (full-span workers: one joint draw)."""
    weights, mine = [], []
    for name, (count, stake, _) in parties.items():
        weights += [stake * INFERA] * count
        mine += [name == party] * count
    certain, left, total = compute_inclusion(weights, REDUNDANCY)
    expected = 0.0
    for weight, sure, is_mine in zip(weights, certain, mine, strict=True):
        if is_mine:
            expected += 1.0 if sure else left * weight / total
    return expected / REDUNDANCY


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--grind", type=int, default=64, help="seeds a grinding proposer tries")
    parser.add_argument("--quick", action="store_true", help="1,000 jobs")
    args = parser.parse_args(argv)
    jobs = 1_000 if args.quick else args.jobs
    report: dict = {"jobs": jobs, "redundancy": REDUNDANCY, "grind": args.grind, "scenarios": {}}
    without = {k: v for k, v in PARTIES.items() if k != "inflated"}
    for name, parties in (("all parties", PARTIES), ("without the inflated pair", without)):
        scenario = report["scenarios"][name] = {}
        for rule in ("before", "after"):
            started = time.monotonic()
            scenario[rule] = simulate(rule, jobs, args.grind, parties)
            scenario[rule + "_seconds"] = round(time.monotonic() - started, 2)
        print_table(name, jobs, args.grind, parties, scenario)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


def print_table(name: str, jobs: int, grind: int, parties: dict, scenario: dict) -> None:
    print(f"\n{name}: {jobs} assignments, r = {REDUNDANCY}, the grinder proposes "
          f"{PROPOSER_SHARE_PERCENT} % of blocks (before: best of {grind} seeds; after: of 2)")  # fmt: skip
    print(f"{'party':<10} {'ids':>4} {'stake':>9} | {'before: routes':>15} {'capture':>9} | "
          f"{'after: routes':>14} {'expected':>9} {'capture':>9}")  # fmt: skip
    for party in parties:
        b, a = scenario["before"][party], scenario["after"][party]
        print(f"{party:<10} {b['identities']:>4} {b['stake_share']:>9.5f} | "
              f"{b['route_share']:>15.5f} {b['capture_rate']:>9.4f} | "
              f"{a['route_share']:>14.5f} {a['expected_share_after']:>9.5f} "
              f"{a['capture_rate']:>9.4f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
