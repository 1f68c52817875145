"""The randomness beacon's CPU cost per block (issue 13 item 2), py-ecc BLS12-381.

    python bench/bench_beacon.py [--validators 4,16,64,150] [--repeat 3]

Measures, as own-process CPU time (time.process_time, so other jobs on the machine inflate it
less than wall time):

* per validator and block: signing its share (`logic.compute_share`), and the check each node
  runs on every other validator's vote extension (`logic.is_well_formed_share`, decompressing
  the share; cold: the first time this process sees it);
* one share verified alone (`py_ecc` `Verify`), the cost of each bad share in a block;
* per block, at each validator count n, the FinalizeBlock work that turns n shares into the
  beacon (verify, then hash the aggregate), two ways:
  - ``py-ecc API``: `bls.FastAggregateVerify` + `bls.Aggregate` (the code before this bench:
    every key and share decompressed and validated again on every call);
  - ``cached``: `logic.compute_valid_shares` + `logic.compute_beacon` as a node runs them:
    keys validated once (first block), shares decompressed once in VerifyVoteExtension, the
    hashed message shared with signing; what is left is n point additions, one G2 subgroup
    check and one two-pairing check.

Both give the same beacon value (asserted).

* ``node``: the consensus-thread time of each beacon call as ``infera start`` runs them with
  the background process (modules/beacon/worker.py), at ``--node-validators`` (4,150): the
  state (keys, the validator set) in a MemStore, the calls made through ``BeaconVotes`` in the
  order CometBFT makes them. ExtendVote(H) (the share signed ahead, the next one started),
  each VerifyVoteExtension (decompress the share, record it; the last one hands the n points to
  the child and starts the check), then, after the child answered (the timeout_commit gap),
  FinalizeBlock's beacon part (``process_shares``: candidates, the result, the store writes).
  Consensus-thread time is own-thread CPU (time.thread_time) and wall time of each call; the
  child's jobs are timed from submission to answer (wall: they must fit between two blocks).
  The same FinalizeBlock part inline (no child) for comparison; the two values are asserted
  equal.

Writes bench/results/beacon.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py_ecc.bls import G2ProofOfPossession as bls  # noqa: E402

from modules.beacon import logic  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "beacon.json"
CHAIN_ID = "bench-beacon"
LOOP_BUDGET_MS = 100  # issue 12: no call may hold the consensus loop longer


def cpu_ms(fn, *args, repeat: int = 1):
    """(result of the last call fn(*args), median own-CPU milliseconds over ``repeat`` calls)."""
    times, out = [], None
    for _ in range(repeat):
        started = time.process_time()
        out = fn(*args)
        times.append((time.process_time() - started) * 1000)
    return out, sorted(times)[len(times) // 2]


def clear_caches() -> None:
    for cached in (logic._message_point, logic._pubkey_point, logic._share_point):
        cached.cache_clear()


def api_path(tally: list[logic.Share], message: bytes) -> bytes:
    """The py-ecc API calls the beacon made before: verify, then aggregate in address order."""
    aggregate = bls.Aggregate([t.signature for t in tally])
    assert bls.FastAggregateVerify([t.pubkey for t in tally], message, aggregate)
    ordered = sorted(tally, key=lambda t: t.validator_address)
    again = bls.Aggregate([t.signature for t in ordered])
    return hashlib.sha256(logic.DOMAIN + bytes(again)).digest()


def cached_path(tally: list[logic.Share], message: bytes) -> bytes:
    """What FinalizeBlock runs now (keeper.process_shares without the store)."""
    valid = logic.compute_valid_shares(tally, message)
    assert len(valid) == len(tally)
    value = logic.compute_beacon(valid, len(tally))
    assert value is not None
    return value


def timed(fn, *args):
    """(fn(*args), own-thread CPU ms, wall ms)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    out = fn(*args)
    return out, (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def node_path(n: int, secrets: list[int], worker, height: int) -> dict:
    """One height as a node with the background process runs it (see the docstring)."""
    from chain.context import BlockInfo, Context, ExecMode
    from chain.store.cache import MemStore
    from chain.vote_extensions import ValidatorPower, set_validator_set
    from modules.beacon.keeper import BeaconKeeper
    from modules.beacon.votes import BeaconVotes

    store, keeper = MemStore(), BeaconKeeper()
    addresses = [hashlib.sha256(b"v%d" % i).digest()[:20] for i in range(n)]
    setup = Context(store=store, block=BlockInfo(CHAIN_ID, 1, 0), mode=ExecMode.FINALIZE)
    for address, secret in zip(addresses, secrets, strict=False):
        keeper.set_key(setup, address, logic.compute_pubkey(secret), b"")
    set_validator_set(store, height, [ValidatorPower(a, 1) for a in addresses])
    votes = BeaconVotes(keeper, secrets[0], lambda: store)
    votes.worker = worker
    clear_caches()  # this process: as a node that only ever decompressed shares
    shares = [logic.compute_share(s, CHAIN_ID, height) for s in secrets[:n]]
    clear_caches()
    row: dict = {}
    # ExtendVote(height - 1) started this height's share; the child answers before ExtendVote.
    submitted = time.perf_counter()
    worker.prefetch_share(secrets[0], CHAIN_ID, height)
    worker._shares[(secrets[0], CHAIN_ID, height)].result()
    row["child_sign_ms"] = round((time.perf_counter() - submitted) * 1000, 1)
    own, row["extend_vote_cpu_ms"], row["extend_vote_wall_ms"] = timed(
        votes.compute_share, CHAIN_ID, height
    )
    assert own == shares[0]
    verify = []
    for address, share in zip(addresses[1:], shares[1:], strict=True):
        _, cpu, wall = timed(
            lambda a=address, s=share: (
                logic.is_well_formed_share(s) and votes.observe_share(CHAIN_ID, height, a, s)
            )
        )
        verify.append((cpu, wall))
    submitted = time.perf_counter()
    message = logic.compute_message(CHAIN_ID, height)
    key = next(k for k in worker._checks if k[0] == message)
    worker._checks[key].result()
    row["child_check_ms"] = round((time.perf_counter() - submitted) * 1000, 1)
    row["verify_extension_max_cpu_ms"] = round(max(c for c, _ in verify), 1)
    row["verify_extension_max_wall_ms"] = round(max(w for _, w in verify), 1)
    row["verify_extension_last_cpu_ms"] = round(verify[-1][0], 1)  # starts the check
    tally = [(a, 1, s) for a, s in zip(addresses, shares, strict=True)]
    block = BlockInfo(CHAIN_ID, height + 1, 0)
    hits = worker.hits
    from chain.store.cache import CacheStore

    ctx = Context(store=CacheStore(store), block=block, mode=ExecMode.FINALIZE)
    _, row["finalize_cpu_ms"], row["finalize_wall_ms"] = timed(
        votes.process_shares, ctx, height, tally, n
    )
    assert worker.hits == hits + 1, "FinalizeBlock did not take the child's result"
    early = keeper.get_beacon(ctx, height)
    votes.worker = None
    ctx = Context(store=CacheStore(store), block=block, mode=ExecMode.FINALIZE)
    _, row["finalize_inline_cpu_ms"], row["finalize_inline_wall_ms"] = timed(
        votes.process_shares, ctx, height, tally, n
    )
    assert early is not None and keeper.get_beacon(ctx, height) == early
    for name in ("extend_vote_cpu_ms", "extend_vote_wall_ms", "finalize_cpu_ms",
                 "finalize_wall_ms", "finalize_inline_cpu_ms", "finalize_inline_wall_ms"):  # fmt: skip
        row[name] = round(row[name], 1)
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validators", default="4,16,64,150")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--node-validators", default="4,150", help="'' skips the node section")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.validators.split(",")]
    height = 1000
    message = logic.compute_message(CHAIN_ID, height)
    report: dict = {"load": os.getloadavg(), "repeat": args.repeat, "per_share": {}, "blocks": {}}

    secrets = [logic.compute_secret(b"bench/%d" % i) for i in range(max(counts))]
    pubkeys = [logic.compute_pubkey(s) for s in secrets]
    clear_caches()
    per = report["per_share"]
    _, per["sign_cold_ms"] = cpu_ms(lambda: logic.compute_share(secrets[0], CHAIN_ID, height))
    _, per["sign_ms"] = cpu_ms(logic.compute_share, secrets[1], CHAIN_ID, height, repeat=3)
    _, per["py_ecc_sign_ms"] = cpu_ms(lambda: bls.Sign(secrets[0], message))
    shares = [logic.compute_share(s, CHAIN_ID, height) for s in secrets]
    _, per["verify_extension_ms"] = cpu_ms(
        lambda: [logic.is_well_formed_share(s) for s in shares[:10]]
    )
    per["verify_extension_ms"] /= 10  # ten cold shares, per share
    _, per["verify_one_share_ms"] = cpu_ms(lambda: bls.Verify(pubkeys[0], message, shares[0]))
    proof = bls.PopProve(secrets[0])
    _, per["pop_verify_ms"] = cpu_ms(bls.PopVerify, pubkeys[0], proof)

    for n in counts:
        tally = [
            logic.Share(hashlib.sha256(b"%d" % i).digest()[:20], 1, pubkeys[i], shares[i])
            for i in range(n)
        ]

        api_value, api_ms = cpu_ms(api_path, tally, message, repeat=1 if n > 16 else args.repeat)
        clear_caches()
        _, cold_ms = cpu_ms(
            cached_path, tally, message
        )  # first block: keys validated, shares decompressed here
        logic._message_point.cache_clear()
        [logic.is_well_formed_share(t.signature) for t in tally]  # as VerifyVoteExtension did
        logic.compute_share(secrets[0], CHAIN_ID, height)  # as ExtendVote did (message point)
        value, warm_ms = cpu_ms(cached_path, tally, message, repeat=args.repeat)
        assert value == api_value
        report["blocks"][n] = {
            "py_ecc_api_ms": round(api_ms, 1),
            "cached_cold_ms": round(cold_ms, 1),
            "cached_finalize_ms": round(warm_ms, 1),
            "verify_extensions_per_block_ms": round((n - 1) * per["verify_extension_ms"], 1),
        }
        print(f"n = {n:>3}: py-ecc API {api_ms:8.1f} ms | cached: cold {cold_ms:7.1f} ms, "
              f"FinalizeBlock {warm_ms:6.1f} ms (+ {n - 1} x "
              f"{per['verify_extension_ms']:.1f} ms VerifyVoteExtension)")  # fmt: skip
    for name, ms in per.items():
        per[name] = round(ms, 1)
    print("per share:", json.dumps(per))
    node_counts = [int(n) for n in args.node_validators.split(",") if n]
    if node_counts:
        from modules.beacon.worker import BeaconWorker

        worker = BeaconWorker()
        worker.start()
        node_secrets = [logic.compute_secret(b"bench/%d" % i) for i in range(max(node_counts))]
        report["node"] = {}
        for n in node_counts:
            for run in ("cold", "warm"):  # cold: the child validates the n keys first
                height = 2000 + 10 * n + 5 * (run == "warm")  # heights no process has seen
                row = node_path(n, node_secrets, worker, height)
                report["node"][f"{n}_{run}"] = row
                print(f"node n = {n:>3} ({run}):", json.dumps(row))
        worker.close()
        consensus = [
            max(r["extend_vote_wall_ms"], r["verify_extension_max_wall_ms"], r["finalize_wall_ms"])
            for k, r in report["node"].items()
            if k.endswith("_warm")
        ]
        report["node_fits_loop_budget"] = max(consensus) <= LOOP_BUDGET_MS
        print(f"with the background process: longest consensus-thread beacon call "
              f"{max(consensus):.1f} ms (wall) vs {LOOP_BUDGET_MS} ms")  # fmt: skip
    worst = max(b["cached_finalize_ms"] for b in report["blocks"].values())
    report["fits_loop_budget"] = worst <= LOOP_BUDGET_MS
    print(f"largest FinalizeBlock beacon cost {worst:.1f} ms vs the {LOOP_BUDGET_MS} ms budget: "
          f"{'fits' if report['fits_loop_budget'] else 'does not fit'}; load {report['load']}")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
