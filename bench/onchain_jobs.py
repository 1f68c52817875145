"""Jobs through the real chain application with real model compute, honest or adversarial.

Not a benchmark: the engine behind bench/bench_onchain_adversaries.py and
tests/modules/agreement/test_onchain_adversaries.py.

One `OnChain` is a fresh `InferaApp` over its own store (tests/harness.py `TestChain`, driven
through ABCI: PrepareProposal, ProcessProposal, FinalizeBlock, Commit; every tx signed), with one
validator whose verifier sidecar (inference_worker/verify/sidecar.py `Sidecar`, reading the app over
ABCI queries, writing to a `VerdictInbox`) votes through vote extensions, exactly as a node wires
it (chain/node.py). A tiny seeded llama (5 layers) is registered with its real manifest and
served by workers that bond stake and serve spans; the chain assigns every job's routes.

`OnChain.run_job` plays one job: submit; compute each route's output and hop fingerprints with
`evidence.generate_claim` on the shards the route's workers serve (the worker the chain placed
on the guilty hop serves an adversarial shard or misbehaves on chain as adversary.py's
`ProtocolMode` documents); commit and reveal as txs; blocks until the job is settled and no
verdict is pending. The outcome is read from chain state only: stakes, reputations and balances
(WorkerStats and bank queries) before and after, tx result codes, and the JobHistory query.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chain.pb  # noqa: E402, F401

import structlog  # noqa: E402
import torch  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

from bench.onchain_play import Decoys, WorkerPlay  # noqa: E402
from chain.verdict_inbox import VerdictInbox  # noqa: E402
from chain.wiring import build_app  # noqa: E402
from infera.agreement.v1 import query_pb2 as agreement_query  # noqa: E402
from infera.agreement.v1 import types_pb2 as agreement_types  # noqa: E402
from infera.base.v1 import coin_pb2  # noqa: E402
from infera.inference.v1 import tx_pb2 as inference_tx  # noqa: E402
from infera.inference.v1 import types_pb2 as inference_types  # noqa: E402
from infera.models.v1 import types_pb2 as models_types  # noqa: E402
from infera.workers.v1 import query_pb2 as workers_query  # noqa: E402
from inference_worker.models import make_tiny_model, read_manifest  # noqa: E402
from inference_worker.pipeline.frame_store import ReceivedFramesStore  # noqa: E402
from inference_worker.pipeline.frames import encode_received_frames  # noqa: E402
from inference_worker.pipeline.route import PromptTokenizer  # noqa: E402
from inference_worker.pipeline.shard import Shard  # noqa: E402
from inference_worker.verify.adversary import (  # noqa: E402
    ComputeAttack,
    ProtocolMode,
    load_adversarial_shard,
)
from inference_worker.verify.commits import compute_output_hash  # noqa: E402
from inference_worker.verify.evidence import RouteClaim, generate_claim  # noqa: E402
from inference_worker.verify.fingerprint import (  # noqa: E402
    derive_late_probe_seed,
    derive_probe_seed,
)
from inference_worker.verify.frames_fetch import serve_from_store  # noqa: E402
from inference_worker.verify.sidecar import Sidecar, job_sampling  # noqa: E402
from tendermint.abci import types_pb2 as abci  # noqa: E402
from tests.harness import (  # noqa: E402
    DENOM,
    Key,
    TestChain,
    genesis_app_state,
    init_chain_request,
    last_commit_of,
)
from tests.modules.jobs import INFERENCE_PARAMS  # noqa: E402
from tests.modules.serving import (  # noqa: E402
    FEE,
    GAS,
    WORKERS_PARAMS,
    register_model_msg,
    register_worker_msg,
    runtime,
    serve_msg,
)

TINY_SEED = 1234  # the honest tiny llama (the tests' seed)
IMPOSTOR_SEED = 4321  # the model a wrong_model hop serves instead
VOCAB = 96  # the tiny llama's vocabulary
SPANS = ((0, 2), (2, 4), (4, 5))  # three hops over five layers
# A second layout with no span boundary in common with SPANS (except 0 and 5): routes built from
# one layout can never continue on the other (the chain also forms a job's routes from one
# precision class only: Job.precision, sharding README).
OTHER_SPANS = ((0, 1), (1, 3), (3, 5))
STAKE = 10**8  # bonded per worker (uinfera): dozens of 20 % slashes stay above min_stake
MAX_FEE = 1_000_000
DEADLINE_BLOCKS = 40  # well past the commit and reveal rounds (3 + 3 blocks)
COMMIT_WINDOW = REVEAL_WINDOW = 3
KEEP_OUTPUT_TRIES = 4  # Scenario.keep_output: noise_std, /2, /4, /8
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class WorkerSpec:
    span: tuple[int, int]
    dtype: str = "float32"  # registered runtime dtype; the worker computes in it


@dataclass(frozen=True)
class Scenario:
    """One row of the table: a worker pool, a redundancy and what the guilty worker does."""

    name: str
    workers: tuple[WorkerSpec, ...]
    redundancy: int = 2
    attack: ComputeAttack | None = None  # compute cheat of the guilty hop (None: computes honestly)
    protocol: ProtocolMode = ProtocolMode.HONEST
    route_threads: tuple[int, ...] = ()  # torch threads of route i's replica (default 1)
    audit_probability: str | None = None  # genesis override (None: the module default)
    new_tokens: int = 16
    honest: bool = False  # no adversary at all
    guilty: str = "hop"  # where the cheat sits: "hop" (one hop, moving with the job index),
    # "last_hop" (route (i // 3) mod r's last hop), "route" (every hop of route i mod r),
    # "last_hops" (every route's last hop)
    play: str = ""  # a protocol variant bench/onchain_play.py plays (PLAYS there)
    greedy_only: bool = False  # every job greedy (default: greedy and sampling alternate)
    deadline_blocks: int | None = None  # after the submission height (None: DEADLINE_BLOCKS)
    validators: int = 1  # equal-power validators, all running the same sidecar's verdicts
    silent_validators: int = 0  # of them, how many send empty vote extensions (abstain)
    decoys: int = 0  # an attacker keeps this many price-0 decoy disputes open (onchain_play)
    keep_output: bool = False  # probe_orthogonal with predicted late probes: the cheat halves its
    # noise (at most KEEP_OUTPUT_TRIES times) until the route's output equals the prediction,
    # so its late probes are the ones it aimed at (an attacker that checks before it sends)
    withhold_frames: bool = False  # no worker hands its received frames to the sidecar (what
    # validators had before the frames reached them; what every receiver withholding gets)
    massive: bool = False  # the tiny llama with two massive residual channels (like SmolLM2's;
    # `massive_channel_model`), where a clip shift or a probe-orthogonal cheat keeps the tokens
    agreement: tuple[tuple[str, str], ...] = ()  # further agreement genesis params
    inference: tuple[tuple[str, str], ...] = ()  # further inference genesis params
    tolerances: tuple[tuple[str, int, int], ...] = ()  # the model's calibrated verifier
    # tolerances, (dtype, fingerprint ppm, noise ppm) each (Model.verifier_tolerances)

    @property
    def has_adversary(self) -> bool:
        return not self.honest


def pool(spans: Sequence[tuple[int, int]], per_span: int, dtype: str = "float32"):
    return tuple(WorkerSpec(span, dtype) for span in spans for _ in range(per_span))


@dataclass
class JobOutcome:
    """What the chain did with one job (every field read from chain state)."""

    job_id: int
    state: str  # final job state name
    disputed: bool
    audited: bool
    audit_failed: bool
    diverged: bool  # audited because the complete routes diverged (Audit.diverged), not drawn
    outputs_differ: bool  # the revealed outputs were not all equal
    guilty: list[str]  # workers (bech32) that cheated
    guilty_positions: list[tuple[int, int]]  # their (route, hop)
    slashed: dict[str, int]  # worker -> stake lost during the job
    slashed_positions: list[tuple[int, int]]  # (route, hop) of the slashed workers
    reputation_dropped: list[str]  # workers whose reputation went down
    paid: dict[str, int]  # worker -> uinfera received from the job (balance delta + fees sent)
    honest_routes: list[int]  # routes without a guilty hop
    honest_routes_paid: bool  # every hop of every honest route was paid
    honest_output_delivered: bool  # FINALIZED with an honest route's output
    rejected: list[tuple[str, str, int]]  # (worker, codespace, code) of cheating txs refused
    blocks: int  # blocks from submission to settled
    route_workers: list[list[str]] = field(default_factory=list)
    route_dtypes: list[list[str]] = field(default_factory=list)

    @property
    def slashed_guilty(self) -> bool:
        return any(w in self.slashed for w in self.guilty)

    @property
    def honest_slashed(self) -> list[str]:
        return sorted(w for w in self.slashed if w not in self.guilty)

    @property
    def honest_reputation_dropped(self) -> list[str]:
        return sorted(w for w in self.reputation_dropped if w not in self.guilty)


class AbciRpc:
    """The sidecar's node client, answered by the app's ABCI Query."""

    def __init__(self, chain_: TestChain) -> None:
        self.chain = chain_

    def query(self, path: str, request: Any, response: type[Message]) -> Any:
        res = self.chain.query(path, request)
        if res.code != 0:
            raise RuntimeError(f"{path}: {res.log}")
        return response.FromString(res.value)


def tiny_model_dirs(root: Path) -> tuple[Path, Path]:
    """(honest tiny llama, impostor tiny llama), made once under `root`."""
    honest, impostor = root / f"tiny-llama-{TINY_SEED}", root / f"tiny-llama-{IMPOSTOR_SEED}"
    for folder, seed in ((honest, TINY_SEED), (impostor, IMPOSTOR_SEED)):
        if not (folder / "manifest.json").is_file():
            make_tiny_model("llama", folder, seed=seed)
    return honest, impostor


MASSIVE = {5: 1000.0, 20: -900.0}  # residual channel -> constant embedding value
NORM_GAIN = 20.0  # the other channels' norm weights: they are ~1/20 of the RMS after a norm


def massive_channel_model(source: Path, out: Path) -> Path:
    """The tiny llama at `source` with two massive embedding channels, so every residual state
    has two channels beyond |h / rms| = 4 (what a clipping fingerprint clipped), made once at
    `out` (tests/inference_worker/verify/test_framing.py builds the same). Every norm ignores
    them and rescales the rest, as real LMs learn to (an attention sink)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from inference_worker.models import WEIGHTS_FILE, save_canonical

    if (out / "manifest.json").is_file():
        return out
    state = load_file(str(source / WEIGHTS_FILE))
    embed = state["model.embed_tokens.weight"].clone()
    for channel, value in MASSIVE.items():
        embed[:, channel] = value
    state["model.embed_tokens.weight"] = embed
    for name in [k for k in state if k.endswith("norm.weight")]:
        weight = state[name].clone() * NORM_GAIN
        weight[list(MASSIVE)] = 0.0
        state[name] = weight
    config = AutoConfig.from_pretrained(str(source))
    save_canonical(state, config, out, name="tiny-llama-massive", source={"seed": str(TINY_SEED)})
    return out


@contextmanager
def threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def quiet_logs() -> None:
    """Keep the sidecar's per-verdict INFO lines out of the tables."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


class OnChain:
    """A fresh chain for one scenario, its validator's sidecar, and the workers' shards."""

    def __init__(self, path: Path, scenario: Scenario, model_dir: Path, impostor_dir: Path):
        if scenario.massive:
            model_dir = massive_channel_model(model_dir, path / "massive-llama")
        self.scenario, self.model_dir, self.impostor_dir = scenario, model_dir, impostor_dir
        n_workers = len(scenario.workers)
        validators = [Key(f"val{i}") for i in range(scenario.validators)]
        extra = 3 if scenario.decoys else 0  # the decoys' submitter and its two workers
        self.chain = TestChain(
            path / "chain", n_accounts=2 + n_workers + extra, validators=validators
        )
        self.owner, self.submitter = self.chain.keys[0], self.chain.keys[1]
        self.workers = self.chain.keys[2 : 2 + n_workers]
        self.dtype_of = {
            k.bech32: s.dtype for k, s in zip(self.workers, scenario.workers, strict=True)
        }
        self.key_of = {k.bech32: k for k in self.chain.keys}
        self.tokenizer = PromptTokenizer(model_dir, VOCAB)
        self._shards: dict[tuple, Shard] = {}
        self.fees: dict[str, int] = {}
        # what each worker keeps of the frames it received (pipeline/server.py does the same at
        # a session's end); the sidecar fetches them as over Pipeline.ReceivedFrames
        self.frame_stores = {k.bech32: ReceivedFramesStore() for k in self.workers}
        inbox = VerdictInbox(path / "verdicts")
        # the validator's node reads its sidecar's verdicts, as chain/node.py wires it
        self.chain.app = build_app(self.chain.store, verdict_source=inbox)
        self._genesis()
        self.sidecar = Sidecar(
            rpc=AbciRpc(self.chain),
            model_id="m",
            model_dir=model_dir,
            inbox=inbox,
            dtypes=(torch.float32, torch.bfloat16),
            frames=serve_from_store(
                (lambda _worker: None) if scenario.withhold_frames else self.frame_stores.get,
                lambda: float(self.chain.height),
            ),
        )
        self._register()

    # -- chain setup -----------------------------------------------------------------------------

    def _genesis(self) -> None:
        state = genesis_app_state(self.chain.keys, self.chain.validators)
        heartbeat = {"heartbeat_timeout_blocks": str(10**6)}  # no heartbeats in this harness
        state["workers"] = {"params": {**WORKERS_PARAMS, **heartbeat}}
        inference = {"max_new_tokens": 64, "max_prompt_bytes": 256, "max_deadline_blocks": 100}
        inference |= dict(self.scenario.inference)
        state["inference"] = {"params": {**INFERENCE_PARAMS, **inference}}
        agreement: dict[str, Any] = {
            "commit_window_blocks": COMMIT_WINDOW,
            "reveal_window_blocks": REVEAL_WINDOW,
        }
        if "commit_milli_blocks_per_token" in agreement_types.Params.DESCRIPTOR.fields_by_name:
            agreement["commit_milli_blocks_per_token"] = 0  # fixed windows (default: per token)
        if self.scenario.audit_probability is not None:
            agreement["audit_probability"] = self.scenario.audit_probability
        agreement |= dict(self.scenario.agreement)
        state["agreement"] = {"params": agreement}  # everything else: the module's defaults
        self.chain.app.init_chain(init_chain_request(state, vote_extensions_from=1))

    def _register(self) -> None:
        self.block()
        manifest = read_manifest(self.model_dir)
        model = register_model_msg(
            self.owner,
            num_layers=manifest.num_layers,
            layer_commitments=[bytes.fromhex(h) for h in manifest.layer_commitments],
            weights_root=bytes.fromhex(manifest.weights_root),
            tokenizer_hash=bytes.fromhex(manifest.tokenizer_hash),
            config_hash=bytes.fromhex(manifest.config_hash),
            embed_commitment=bytes.fromhex(manifest.embed_commitment),
            head_commitment=bytes.fromhex(manifest.head_commitment),
            price_per_token="10",
            # every dtype the pool declares, first seen first: a job runs in one of them
            precision_classes=list(dict.fromkeys(spec.dtype for spec in self.scenario.workers)),
            verifier_tolerances=[
                models_types.ClassTolerance(dtype=d, fingerprint_ppm=f, noise_ppm=n)
                for d, f, n in self.scenario.tolerances
            ],
        )
        self.expect_ok(self.block([self.tx(self.owner, model)]))
        txs = [
            self.tx(
                key,
                register_worker_msg(key, stake=STAKE, runtime=runtime(spec.dtype)),
                serve_msg(key, *spec.span),
            )
            for key, spec in zip(self.workers, self.scenario.workers, strict=True)
        ]
        self.expect_ok(self.block(txs))
        if self.scenario.decoys:
            self.decoys = Decoys(self, *self.chain.keys[2 + len(self.workers) :])

    # -- blocks and txs ---------------------------------------------------------------------------

    def tx(self, signer: Key, *msgs: Any) -> bytes:
        self.fees[signer.bech32] = self.fees.get(signer.bech32, 0) + FEE
        return self.chain.tx(signer, *msgs, gas=GAS, fee=FEE)

    def block(self, txs: Sequence[bytes] = ()) -> list[abci.ExecTxResult]:
        """One block as CometBFT builds it: the sidecar checks what is open, the validator
        extends its precommit of the last block, the proposer injects the extended commit,
        everyone accepts, the block is finalized and committed. Returns ``txs``' results."""
        app, height = self.chain.app, self.chain.height
        self.sidecar.step()
        extension = app.extend_vote(abci.RequestExtendVote(height=height)).vote_extension
        verify = app.verify_vote_extension(
            abci.RequestVerifyVoteExtension(height=height, vote_extension=extension)
        )
        assert verify.status == abci.ResponseVerifyVoteExtension.ACCEPT
        voting = self.chain.validators[
            : len(self.chain.validators) - self.scenario.silent_validators
        ]
        commit = self.chain.extended_commit(height, {v.name: extension for v in voting})
        proposal = app.prepare_proposal(
            abci.RequestPrepareProposal(
                txs=list(txs), max_tx_bytes=1 << 22, height=height + 1, local_last_commit=commit
            )
        )
        chosen = list(proposal.txs)
        injected = len(chosen) - len(txs)
        assert injected in (0, 1) and chosen[injected:] == list(txs), "proposal dropped txs"
        status = app.process_proposal(
            abci.RequestProcessProposal(
                txs=chosen, height=height + 1, proposed_last_commit=last_commit_of(commit)
            )
        )
        assert status.status == abci.ResponseProcessProposal.ACCEPT
        results = list(self.chain.block(chosen, inject=False).tx_results)
        assert all(r.code == 0 for r in results[:injected]), results[0].log
        return results[injected:]

    @staticmethod
    def expect_ok(results: Sequence[abci.ExecTxResult]) -> None:
        assert all(r.code == 0 for r in results), [r.log for r in results]

    def query(self, path: str, request: Any, response: type[Message]) -> Any:
        return AbciRpc(self.chain).query(path, request, response)

    def history(self, job_id: int) -> agreement_query.QueryJobHistoryResponse:
        return self.query(
            "/infera.agreement.v1.Query/JobHistory",
            agreement_query.QueryJobHistoryRequest(job_id=job_id),
            agreement_query.QueryJobHistoryResponse,
        )

    def is_open(self, job_id: int) -> bool:
        ids = self.query(
            "/infera.agreement.v1.Query/OpenVerifications",
            agreement_query.QueryOpenVerificationsRequest(),
            agreement_query.QueryOpenVerificationsResponse,
        ).job_ids
        return job_id in ids

    def snapshot(self) -> dict[str, tuple[int, int, int]]:
        """worker -> (stake, reputation, balance), from the chain."""
        out = {}
        for key in self.workers:
            stats = self.query(
                "/infera.workers.v1.Query/WorkerStats",
                workers_query.QueryWorkerStatsRequest(operator=key.bech32),
                workers_query.QueryWorkerStatsResponse,
            )
            out[key.bech32] = (int(stats.stake), stats.reputation, self.chain.balance(key.address))
        return out

    # -- compute -----------------------------------------------------------------------------------

    def shard(self, span: tuple[int, int], dtype: str, attack: ComputeAttack | None) -> Shard:
        key = (span, dtype, attack)
        if key not in self._shards:
            self._shards[key] = load_adversarial_shard(
                self.model_dir, *span, attack or ComputeAttack(), dtype=TORCH_DTYPES[dtype]
            )
        return self._shards[key]

    def route_claim(
        self,
        job: inference_types.Job,
        route_index: int,
        guilty: set[tuple[int, int]],
        attack: ComputeAttack | None,
    ) -> RouteClaim:
        """What route ``route_index`` computes, its guilty hops serving ``attack``."""
        if attack is not None and attack.mode == "probe_orthogonal":  # aims at this job's probes
            attack = replace(attack, probe_seed=derive_probe_seed(job.id))  # type: ignore[call-arg]
            if attack.late_probe_seed is not None and guilty:  # predicts the output first
                tokens = self.route_claim(job, route_index, set(), None).tokens
                late = derive_late_probe_seed(
                    derive_probe_seed(job.id), compute_output_hash(tokens)
                )
                attack = replace(attack, late_probe_seed=late)
                if self.scenario.keep_output:
                    return self._output_keeping_claim(job, route_index, guilty, attack, tokens)
        return self._run_route(job, route_index, guilty, attack)

    def _run_route(
        self,
        job: inference_types.Job,
        route_index: int,
        guilty: set[tuple[int, int]],
        attack: ComputeAttack | None,
    ) -> RouteClaim:
        hops = job.routes[route_index].hops
        shards = [
            self.shard(
                (h.layer_start, h.layer_end),
                self.dtype_of[h.worker],
                attack if (route_index, i) in guilty else None,
            )
            for i, h in enumerate(hops)
        ]
        route_threads = self.scenario.route_threads
        count = route_threads[route_index] if route_index < len(route_threads) else 1
        with threads(count):
            return generate_claim(
                shards,
                self.tokenizer.encode(bytes(job.prompt)),
                max_new_tokens=job.max_new_tokens,
                probe_seed=derive_probe_seed(job.id),
                eos_ids=set(),
                sampling=job_sampling(job),
                **self._frame_signing(job, route_index),
            )

    def _output_keeping_claim(
        self,
        job: inference_types.Job,
        route_index: int,
        guilty: set[tuple[int, int]],
        attack: ComputeAttack,
        predicted: tuple[int, ...],
    ) -> RouteClaim:
        """The route with the cheat's noise halved until the output is the predicted one
        (`Scenario.keep_output`; the last try is sent whatever its output)."""
        for tries in range(KEEP_OUTPUT_TRIES):
            scaled = replace(attack, noise_std=attack.noise_std / 2**tries)
            claim = self._run_route(job, route_index, guilty, scaled)
            if claim.tokens == predicted:
                break
        return claim

    def _frame_signing(self, job: inference_types.Job, route_index: int) -> dict[str, Any]:
        """Where the pipeline signs its frames (evidence.generate_claim takes ``keys``), each
        hop signs with its worker's chain key, as a worker does; else nothing."""
        if "keys" not in inspect.signature(generate_claim).parameters:
            return {}
        from inference_worker.pipeline.frames import FrameSigner

        hops = job.routes[route_index].hops
        keys = [FrameSigner(self.key_of[h.worker].private) for h in hops]
        return {"keys": keys, "job_id": job.id, "route_index": route_index}

    # -- one job -----------------------------------------------------------------------------------

    def submit(self, index: int, rng: random.Random) -> inference_types.Job:
        """Submit job ``index`` (greedy for even indexes, seeded sampling for odd) and return
        it as assigned by the chain."""
        decoding = inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY)
        if index % 2 and not self.scenario.greedy_only:
            decoding = inference_types.Decoding(
                mode=inference_types.DECODING_MODE_SAMPLING,
                temperature_milli=rng.choice((700, 1000)),
                top_k=rng.choice((0, 20)),
            )
        prompt = bytes(rng.randrange(32, 127) for _ in range(rng.randint(4, 32)))
        msg = inference_tx.MsgSubmitJob(
            submitter=self.submitter.bech32,
            model_id="m",
            prompt=prompt,
            decoding=decoding,
            max_new_tokens=self.scenario.new_tokens,
            redundancy=self.scenario.redundancy,
            max_fee=coin_pb2.Coin(denom=DENOM, amount=str(MAX_FEE)),
            deadline_blocks=self.scenario.deadline_blocks or DEADLINE_BLOCKS,
        )
        results = self.block([self.tx(self.submitter, msg)])
        self.expect_ok(results)
        job_id = _msg_response(results[0], inference_tx.MsgSubmitJobResponse).job_id
        job = self.history(job_id).job
        assert len(job.routes) == self.scenario.redundancy, "the chain did not assign routes"
        return job

    def guilty_positions(self, job: inference_types.Job, index: int) -> set[tuple[int, int]]:
        """The (route, hop) places whose workers cheat in job ``index``: one hop, moving over
        routes and hops with the index; for collusion every hop of all routes but one."""
        if self.scenario.honest:
            return set()
        routes = len(job.routes)
        if self.scenario.protocol is ProtocolMode.COLLUDE:
            honest = index % routes
            return {
                (r, h) for r in range(routes) if r != honest for h in range(len(job.routes[r].hops))
            }
        if self.scenario.guilty == "route":
            route = index % routes
            return {(route, h) for h in range(len(job.routes[route].hops))}
        if self.scenario.guilty == "last_hops":  # every route's last hop (steering alike)
            return {(r, len(job.routes[r].hops) - 1) for r in range(routes)}
        route = (index // 3) % routes
        hops = len(job.routes[route].hops)
        return {(route, hops - 1 if self.scenario.guilty == "last_hop" else index % hops)}

    def run_job(self, index: int, rng: random.Random) -> JobOutcome:
        """Play job ``index`` to the end and read what the chain did (module docstring)."""
        if self.scenario.decoys:
            self.decoys.top_up(self.scenario.decoys)
        before, fees_before, start = self.snapshot(), dict(self.fees), self.chain.height
        job = self.submit(index, rng)
        guilty = self.guilty_positions(job, index)
        attack = self.scenario.attack
        claims = [
            self.route_claim(job, r, guilty if attack else set(), attack)
            for r in range(len(job.routes))
        ]
        honest_routes = [r for r in range(len(job.routes)) if not any(g[0] == r for g in guilty)]
        self.keep_received_frames(job, claims)
        play = WorkerPlay(self, job, claims, guilty, index)
        play.commit()
        play.reveal()
        self.settle(job)
        return self._outcome(job, claims, guilty, honest_routes, play.rejected, before,
                             fees_before, start)  # fmt: skip

    def keep_received_frames(self, job: inference_types.Job, claims: list[RouteClaim]) -> None:
        """Every receiving hop keeps the frames it received with valid late evidence, as a
        worker's server does when its session ends (`PipelineServer._keep_received_frames`)."""
        for route_index, claim in enumerate(claims):
            for hop_index, hop in enumerate(claim.hops):
                if hop_index == 0 or hop.received is None or not hop.received_frames:
                    continue
                data = encode_received_frames(hop.received_frames,
                                              hidden_size=hop.received.hidden_size)  # fmt: skip
                worker = job.routes[route_index].hops[hop_index].worker
                key = (job.id, route_index, hop_index)
                self.frame_stores[worker].put(key, data, now=float(self.chain.height))

    def settle(self, job: inference_types.Job) -> None:
        """Blocks until the job is terminal and no verdict on it is pending: neither holding a
        verification slot nor queued for one (an audit still holding the payment)."""
        terminal = (inference_types.JOB_STATE_FINALIZED, inference_types.JOB_STATE_EXPIRED)
        limit = job.deadline_height + 60  # the audit window may outlast the deadline
        while self.chain.height <= limit:
            history = self.history(job.id)
            queued = history.audit.hold_status == agreement_types.HOLD_STATUS_HELD
            if history.job.state in terminal and not queued and not self.is_open(job.id):
                return
            self.block()
        raise AssertionError(f"job {job.id} still open at height {self.chain.height}")

    def _outcome(
        self,
        job: inference_types.Job,
        claims: list[RouteClaim],
        guilty: set[tuple[int, int]],
        honest_routes: list[int],
        rejected: list[tuple[str, str, int]],
        before: dict[str, tuple[int, int, int]],
        fees_before: dict[str, int],
        start: int,
    ) -> JobOutcome:
        after, history = self.snapshot(), self.history(job.id)
        fees = {w: self.fees.get(w, 0) - fees_before.get(w, 0) for w in after}
        workers = [[h.worker for h in route.hops] for route in job.routes]
        honest_hashes = {compute_output_hash(claims[r].tokens) for r in honest_routes}
        final = history.job
        slashed = {w: before[w][0] - after[w][0] for w in after if after[w][0] < before[w][0]}
        return JobOutcome(
            job_id=job.id,
            state=inference_types.JobState.Name(final.state),
            disputed=history.HasField("dispute"),
            audited=history.HasField("audit"),
            audit_failed=history.audit.failed,
            diverged=history.audit.diverged,
            outputs_differ=len({r.output_hash for r in history.reveals}) > 1,
            guilty=sorted({workers[r][h] for r, h in guilty}),
            guilty_positions=sorted(guilty),
            slashed=slashed,
            slashed_positions=sorted(
                (r, h)
                for r, route in enumerate(workers)
                for h, w in enumerate(route)
                if w in slashed
            ),
            reputation_dropped=sorted(w for w in after if after[w][1] < before[w][1]),
            paid={w: after[w][2] - before[w][2] + fees[w] for w in after},
            honest_routes=honest_routes,
            honest_routes_paid=bool(honest_routes)
            and all(
                after[w][2] - before[w][2] + fees[w] > 0 for r in honest_routes for w in workers[r]
            ),
            honest_output_delivered=final.state == inference_types.JOB_STATE_FINALIZED
            and bytes(final.output_hash) in honest_hashes,
            rejected=rejected,
            blocks=self.chain.height - start,
            route_workers=workers,
            route_dtypes=[[self.dtype_of[w] for w in route] for route in workers],
        )


def _msg_response(result: abci.ExecTxResult, response: type[Message]) -> Any:
    from cosmos.base.abci.v1beta1 import abci_pb2

    data = abci_pb2.TxMsgData.FromString(result.data)
    return response.FromString(data.msg_responses[0].value)
