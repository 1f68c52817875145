"""Helpers for the inference and agreement tests: a chain with a model served by six workers
(three disjoint two-hop routes), message builders with valid defaults (each test breaks one
field) and honest commit/reveal material for any hop.

Layout: model "m" has 8 layers; workers user1..user6 serve [0,4), [4,8), [0,4), [4,8), [0,4),
[4,8); user0 owns the model, user7.. submit jobs. Windows: commit 3 blocks, reveal 3 blocks.
"""

from __future__ import annotations

import hashlib
import pathlib
import struct
from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain import crypto
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.agreement.v1 import tx_pb2 as agreement_tx
from infera.base.v1 import coin_pb2
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as inference_types
from modules.agreement import logic as agreement_logic
from tests.harness import DENOM, Key, TestChain, genesis_app_state, init_chain_request
from tests.modules.serving import (
    FEE,
    GAS,
    WORKERS_PARAMS,
    register_model_msg,
    register_worker_msg,
    runtime,
    serve_msg,
)

PRICE = "10"  # uinfera per token
SPANS = [(0, 4), (4, 8), (0, 4), (4, 8), (0, 4), (4, 8)]
COMMIT_WINDOW = 3
REVEAL_WINDOW = 3
MAX_FEE = 1_000
PROMPT = b"hello world!"  # 12 bytes: priced as 3 tokens
OUTPUT = [101, 102, 103, 104]  # the honest generation: 4 tokens

INFERENCE_PARAMS: dict[str, Any] = {
    "fee_denom": DENOM,
    "max_prompt_bytes": 64,
    "max_new_tokens": 16,
    "max_redundancy": 3,
    "min_deadline_blocks": 8,
    "max_deadline_blocks": 40,
    "max_temperature_milli": 2000,
    "max_top_k": 50,
    "max_assignments_per_block": 10,
    "max_expiries_per_block": 10,
}
AGREEMENT_PARAMS: dict[str, Any] = {
    "commit_window_blocks": COMMIT_WINDOW,
    "commit_milli_blocks_per_token": 0,  # fixed windows: the tests count blocks
    "reveal_window_blocks": REVEAL_WINDOW,
    "quorum_numerator": 2,
    "quorum_denominator": 3,
    "protocol_share": "0.05",
    "reputation_reward": "1.05",
    "reputation_penalty_absent": "0.8",
    "reputation_penalty_mismatch": "0.95",
    "slash_fraction_absent": "0.001",
    "max_settlements_per_block": 10,
    # No validator reward by default, so the tests' payouts count workers and the protocol only
    # (tests/modules/agreement/test_fail_closed.py sets it).
    "verification_share": "0",
}


def make_job_chain(
    path: pathlib.Path,
    *,
    n_accounts: int = 10,
    inference: dict[str, Any] | None = None,
    agreement: dict[str, Any] | None = None,
    spans: list[tuple[int, int]] | None = None,
    min_redundancy: int = 1,
    vote_extensions_from: int = 0,
    dtypes: Sequence[str] | None = None,
    validators: int = 1,
) -> TestChain:
    """A chain at height 3 (block 1 empty, 2 registers the model, 3 the workers): genesis, model "m" registered, one worker per span serving it (runtime dtype ``dtypes[i]``, default
    float32; the model allows each of those dtypes as a precision class)."""
    path.mkdir(parents=True, exist_ok=True)
    chain_ = TestChain(
        path, n_accounts=n_accounts, validators=[Key(f"val{i}") for i in range(validators)]
    )
    state = genesis_app_state(chain_.keys, chain_.validators)
    state["workers"] = {"params": {**WORKERS_PARAMS, "heartbeat_timeout_blocks": "1000"}}
    state["inference"] = {"params": {**INFERENCE_PARAMS, **(inference or {})}}
    state["agreement"] = {"params": {**AGREEMENT_PARAMS, **(agreement or {})}}
    chain_.app.init_chain(init_chain_request(state, vote_extensions_from=vote_extensions_from))
    chain_.block()
    owner = chain_.keys[0]
    keys = worker_keys(chain_, spans or SPANS)
    kinds = list(dtypes or ["float32"] * len(keys))
    classes = list(dict.fromkeys(kinds))  # every dtype the workers declare, first seen first
    model = register_model_msg(
        owner, price_per_token=PRICE, min_redundancy=min_redundancy, precision_classes=classes
    )
    chain_.block([chain_.tx(owner, model, gas=GAS, fee=FEE)])
    txs = [
        chain_.tx(
            key,
            register_worker_msg(key, runtime=runtime(dtype)),
            serve_msg(key, start, end),
            gas=GAS,
            fee=FEE,
        )
        for key, (start, end), dtype in zip(keys, spans or SPANS, kinds, strict=True)
    ]
    results = chain_.block(txs).tx_results
    assert all(r.code == 0 for r in results), [r.log for r in results]
    return chain_


def worker_keys(chain_: TestChain, spans: list[tuple[int, int]] | None = None) -> list[Key]:
    return chain_.keys[1 : 1 + len(spans or SPANS)]


def key_of(chain_: TestChain, bech32: str) -> Key:
    return next(k for k in chain_.keys if k.bech32 == bech32)


def submit_msg(submitter: Key, **fields: Any) -> inference_tx.MsgSubmitJob:
    values: dict[str, Any] = {
        "submitter": submitter.bech32,
        "model_id": "m",
        "prompt": PROMPT,
        "decoding": inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
        "max_new_tokens": 10,
        "redundancy": 3,
        "max_fee": coin_pb2.Coin(denom=DENOM, amount=str(MAX_FEE)),
        "deadline_blocks": 10,
    }
    values.update(fields)
    return inference_tx.MsgSubmitJob(**values)


def cancel_msg(submitter: Key, job_id: int) -> inference_tx.MsgCancelJob:
    return inference_tx.MsgCancelJob(submitter=submitter.bech32, job_id=job_id)


def fingerprint_bundle(
    log_rms: Sequence[int], codes: Sequence[int], *, probes: int = 2, seed: int = 7, hidden: int = 8
) -> bytes:
    """A reveal bundle (inference_worker/verify/reveal.py) holding only an own fingerprint
    (inference_worker/verify/fingerprint.py) with these codes: ``codes`` is positions x ``probes``."""
    n = len(log_rms)
    assert len(codes) == n * probes
    parts = [struct.pack(">4sBBBBIIQ", b"IFFP", 2, probes, 32, 0, hidden, n, seed)]
    for start in range(0, n, 32):
        count = min(32, n - start)
        parts.append(struct.pack(f">{count}h", *log_rms[start : start + count]))
        parts.append(
            struct.pack(f">{count * probes}b", *codes[start * probes : (start + count) * probes])
        )
    own = b"".join(parts)
    return struct.pack(">4sBBHI", b"IFRV", 3, 0, 0, len(own)) + own


def fingerprint(worker: Key, job_id: int, tokens: Sequence[int] = OUTPUT) -> bytes:
    """What an honest hop of the job would reveal for ``tokens``: a well-formed bundle, the
    same for every worker that claims that output (agreeing replicas' last hops match)."""
    digest = hashlib.sha256(b"fingerprint/%d/" % job_id + bytes(str(list(tokens)), "ascii"))
    codes = [b % 200 - 100 for b in digest.digest()[:8]]
    return fingerprint_bundle([100, -50, 7, 0], codes)


def salt(worker: Key, job_id: int) -> bytes:
    return hashlib.sha256(b"salt/%d/" % job_id + worker.address).digest()


def commitment(worker: Key, job_id: int, tokens: list[int] = OUTPUT) -> bytes:
    output_hash = agreement_logic.compute_output_hash(tokens, b"")
    return agreement_logic.compute_commitment(
        output_hash, fingerprint(worker, job_id, tokens), salt(worker, job_id), worker.address
    )


def commit_msg(worker: Key, job_id: int, tokens: list[int] = OUTPUT, **fields: Any):
    values: dict[str, Any] = {
        "worker": worker.bech32,
        "job_id": job_id,
        "commitment": commitment(worker, job_id, tokens),
    }
    values.update(fields)
    return agreement_tx.MsgCommitOutput(**values)


def reveal_msg(worker: Key, job_id: int, tokens: list[int] = OUTPUT, **fields: Any):
    values: dict[str, Any] = {
        "worker": worker.bech32,
        "job_id": job_id,
        "output_tokens": tokens,
        "shard_fingerprint": fingerprint(worker, job_id, tokens),
        "salt": salt(worker, job_id),
    }
    values.update(fields)
    return agreement_tx.MsgRevealOutput(**values)


def run(chain_: TestChain, *signed: tuple[Key, Message]):
    """One block with one tx per (signer, message); returns the ExecTxResults."""
    txs = [chain_.tx(signer, msg, gas=GAS, fee=FEE) for signer, msg in signed]
    return chain_.block(txs).tx_results


def ok(chain_: TestChain, *signed: tuple[Key, Message]):
    results = run(chain_, *signed)
    assert all(r.code == 0 for r in results), [r.log for r in results]
    return results


def job(chain_: TestChain, job_id: int) -> inference_types.Job:
    res = chain_.query(
        "/infera.inference.v1.Query/Job", inference_query.QueryJobRequest(job_id=job_id)
    )
    assert res.code == 0, res.log
    return inference_query.QueryJobResponse.FromString(res.value).job


def history(chain_: TestChain, job_id: int) -> agreement_query.QueryJobHistoryResponse:
    res = chain_.query(
        "/infera.agreement.v1.Query/JobHistory",
        agreement_query.QueryJobHistoryRequest(job_id=job_id),
    )
    assert res.code == 0, res.log
    return agreement_query.QueryJobHistoryResponse.FromString(res.value)


def hops(chain_: TestChain, job_id: int) -> list[list[Key]]:
    """The job's route workers as keys, route by route."""
    return [[key_of(chain_, h.worker) for h in route.hops] for route in job(chain_, job_id).routes]


def all_hops(chain_: TestChain, job_id: int) -> list[Key]:
    return [key for route in hops(chain_, job_id) for key in route]


def escrow_balance(chain_: TestChain) -> int:
    return chain_.balance(crypto.module_address("inference_escrow"))


def advance_to(chain_: TestChain, height: int) -> None:
    """Empty blocks until the last committed block is ``height``."""
    while chain_.height < height:
        chain_.block()


def verdict_extension(
    job_id: int,
    passing: Sequence[bytes],
    culprits: Sequence[tuple[int, int]] = (),
    selected: bytes = b"",
) -> bytes:
    """A vote extension carrying one canonical verdict."""
    from infera.agreement.v1 import types_pb2 as agreement_types

    verdict = agreement_types.Verdict(
        job_id=job_id,
        passing_output_hashes=sorted(set(passing)),
        culprits=[agreement_types.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
        selected_output_hash=selected,
    )
    return agreement_types.VoteExtension(verdicts=[verdict]).SerializeToString(deterministic=True)


def outlast_verdict_windows(chain_: TestChain, job_id: int) -> int:
    """Empty blocks (validators abstaining) until the job's verification is closed; returns
    the height that closed it."""
    from tests.modules.serving import keeper, latest_ctx

    while keeper(chain_, "agreement").get_verification(latest_ctx(chain_), job_id) is not None:
        chain_.block()
    return chain_.height
