"""The worker's lifecycle pieces without a chain: worker.toml, the commit store, event parsing
and catch-up, weight verification against on-chain commitments, and commit/reveal resumption
after a restart (a fake chain records what would have been sent)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.client import ClientError
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import types_pb2 as models_types
from inference_worker.models import read_manifest
from inference_worker.node.chain import Assignment, ChainLink, _assigned_job_ids
from inference_worker.node.config import ConfigError, ModelConfig, WorkerConfig, load_config
from inference_worker.node.worker import (
    BROADCAST_ATTEMPTS,
    RESEND_AFTER_BLOCKS,
    Worker,
    WorkerError,
)
from inference_worker.verify import commits
from inference_worker.verify.commits import CommitStore, JobRecord, compute_commitment

ADDRESS = crypto.to_bech32(bytes(range(20)))

# --- worker.toml ---------------------------------------------------------------------------------

GOOD = """
key = "w1"
listen = "127.0.0.1:7070"
state_dir = "state"
progress_timeout_s = 5
[[models]]
id = "tiny"
path = "models/tiny"
spans = [[0, 2], [3, 5]]
"""


def test_config_loads_with_defaults_and_resolves_paths_next_to_the_file(tmp_path):
    path = tmp_path / "worker.toml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.models == (ModelConfig("tiny", tmp_path / "models/tiny", ((0, 2), (3, 5))),)
    assert config.state_dir == tmp_path / "state"
    assert config.progress_timeout_s == 5.0  # an integer is fine where seconds are floats
    assert config.advertised_endpoint == "127.0.0.1:7070"
    assert config.dtype == "float32" and config.codec == "fp32"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('dtype = "float64"', "dtype"),
        ('colour = "blue"', "unknown field"),
        ("stake = -1", "stake"),
        ('stake = "many"', "stake: expected int"),
        ('codec = "zip"', "codec"),
        ('node_grpc = "nowhere"', "node_grpc"),
    ],
)
def test_config_rejects_bad_fields_by_name(tmp_path, change, message):
    path = tmp_path / "worker.toml"
    path.write_text(change + "\n" + GOOD)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


@pytest.mark.parametrize("spans", ["[[2, 2]]", "[[0, 3], [2, 4]]", "[]", '[["a", 1]]'])
def test_config_rejects_empty_or_overlapping_spans(tmp_path, spans):
    path = tmp_path / "worker.toml"
    path.write_text(GOOD.replace("[[0, 2], [3, 5]]", spans))
    with pytest.raises(ConfigError, match="spans"):
        load_config(path)


def test_config_needs_a_key(tmp_path):
    path = tmp_path / "worker.toml"
    path.write_text(GOOD.replace('key = "w1"', ""))
    with pytest.raises(ConfigError, match="key"):
        load_config(path)


# --- commit store ---------------------------------------------------------------------------------


def test_commitment_matches_the_agreement_module():
    from modules.agreement.logic import compute_commitment as chain_commitment
    from modules.agreement.logic import compute_output_hash

    tokens, fingerprint, salt, worker = [5, 9, 300], b"fp" * 40, bytes(32), bytes(range(20))
    assert commits.compute_output_hash(tokens) == compute_output_hash(tokens, b"")
    expected = chain_commitment(compute_output_hash(tokens, b""), fingerprint, salt, worker)
    assert compute_commitment(tokens, fingerprint, salt, worker) == expected


def test_store_keeps_records_across_instances_and_only_moves_forward(tmp_path):
    store = CommitStore(tmp_path)
    record = JobRecord(7, 1, 2).with_output([1, 2, 3], b"fingerprint", bytes(20))
    store.put(record)
    store.set_last_height(123)
    again = CommitStore(tmp_path)
    assert again.get(7) == record and again.last_height() == 123
    assert [r.job_id for r in again.open_records()] == [7]
    assert len(bytes.fromhex(record.salt)) == 32
    with pytest.raises(ValueError):
        record.advance(commits.COMMITTED).advance(commits.OUTPUT)
    store.put(record.advance(commits.REVEALED))
    assert list(again.open_records()) == []


# --- events ---------------------------------------------------------------------------------------


def assigned_event(job_id: int, workers: list[str]) -> dict:
    attributes = [{"key": "job_id", "value": str(job_id), "index": True}]
    attributes += [{"key": "worker", "value": w, "index": True} for w in workers]
    return {"type": "infera.job_assigned", "attributes": attributes}


def test_only_assignments_naming_this_worker_are_picked():
    events = [
        assigned_event(1, [ADDRESS, "infera1other"]),
        assigned_event(2, ["infera1other"]),
        {"type": "infera.job_submitted", "attributes": [{"key": "job_id", "value": "3"}]},
    ]
    assert _assigned_job_ids(events, ADDRESS) == [1]


class FakeRPC:
    """block_results for heights 1..10: job 100+h assigned to us at every even height."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def call(self, method: str, height: str) -> dict:
        assert method == "block_results"
        self.asked.append(int(height))
        h = int(height)
        return {"finalize_block_events": [assigned_event(100 + h, [ADDRESS])] if h % 2 == 0 else []}


def test_catch_up_reads_every_missed_block_once():
    link = ChainLink.__new__(ChainLink)
    link.address, link._rpc, link._rpc_lock = ADDRESS, FakeRPC(), threading.Lock()
    seen: list[Assignment] = []
    assert link._catch_up(5, 10, seen.append) == 10
    assert link._rpc.asked == [6, 7, 8, 9, 10]
    assert seen == [Assignment(106, 6), Assignment(108, 8), Assignment(110, 10)]


# --- weights ----------------------------------------------------------------------------------------


def chain_model(model_dir: Path) -> models_types.Model:
    manifest = read_manifest(model_dir)
    return models_types.Model(
        id="tiny",
        family=manifest.family,
        num_layers=manifest.num_layers,
        layer_commitments=[bytes.fromhex(c) for c in manifest.layer_commitments],
        weights_root=bytes.fromhex(manifest.weights_root),
        dtype="float32",
        config_hash=bytes.fromhex(manifest.config_hash),
        embed_commitment=bytes.fromhex(manifest.embed_commitment),
        head_commitment=bytes.fromhex(manifest.head_commitment),
    )


class ModelChain:
    def __init__(self, model):
        self.model_record = model

    def model(self, model_id):
        return self.model_record


def worker_for(tmp_path: Path, model_dir: Path, spans) -> Worker:
    config = WorkerConfig(
        models=(ModelConfig("tiny", model_dir, tuple(spans)),), key="k", state_dir=tmp_path
    )
    return Worker(config)


def test_spans_matching_the_chain_commitments_load(tmp_path, tiny_models):
    worker = worker_for(tmp_path, tiny_models["llama"], [(0, 2), (2, 5)])
    worker.chain = ModelChain(chain_model(tiny_models["llama"]))  # type: ignore[assignment]
    spans = worker._load_spans()
    assert [(s.shard.span_start, s.shard.span_end) for s in spans] == [(0, 2), (2, 5)]


@pytest.mark.parametrize("part", ["layer", "head", "embed"])
def test_worker_refuses_to_serve_weights_the_chain_did_not_register(tmp_path, tiny_models, part):
    model = chain_model(tiny_models["llama"])
    if part == "layer":  # another model's layer 3: the root is recomputed to match, on purpose
        from inference_worker.models import merkle_root

        model.layer_commitments[3] = bytes(32)
        model.weights_root = merkle_root(list(model.layer_commitments))
    else:
        setattr(model, f"{part}_commitment", bytes(32))
    worker = worker_for(tmp_path, tiny_models["llama"], [(0, 2), (2, 5)])
    worker.chain = ModelChain(model)  # type: ignore[assignment]
    with pytest.raises(WorkerError, match="refusing to serve"):
        worker._load_spans()


def test_worker_refuses_a_model_the_chain_does_not_know(tmp_path, tiny_models):
    worker = worker_for(tmp_path, tiny_models["llama"], [(0, 5)])
    worker.chain = ModelChain(None)  # type: ignore[assignment]
    with pytest.raises(WorkerError, match="not registered"):
        worker._load_spans()


# --- commit and reveal after restarts ------------------------------------------------------------


@dataclass
class TxStub:
    txhash: str
    ok: bool = True


@dataclass
class FakeChain:
    """What the worker asks and sends; the chain 'includes' a tx when `include` says so."""

    address: str = ADDRESS
    current: int = 100
    state: int = inference_types.JOB_STATE_COMMITTING
    committed: bool = False
    revealed: bool = False
    include: bool = True  # broadcast txs land at once
    sent: list[tuple] = field(default_factory=list)

    def height(self) -> int:
        self.current += 1  # every look at the chain is a block later
        return self.current

    def job(self, job_id):
        return inference_types.Job(
            id=job_id, state=self.state, commit_end_height=10_000, reveal_end_height=20_000
        )

    def has_committed(self, *key) -> bool:
        return self.committed

    def has_revealed(self, *key) -> bool:
        return self.revealed

    def tx(self, txhash):
        return None

    def commit(self, job_id, commitment):
        self.sent.append(("commit", job_id, commitment))
        self.committed = self.include
        return TxStub(f"C{len(self.sent)}")

    def reveal(self, job_id, *, tokens, fingerprint, salt):
        self.sent.append(("reveal", job_id, tuple(tokens), fingerprint, salt))
        self.revealed = self.include
        return TxStub(f"R{len(self.sent)}")


def settle(tmp_path: Path, chain: FakeChain, record: JobRecord) -> JobRecord:
    worker = Worker(WorkerConfig(models=(), key="k", state_dir=tmp_path))
    worker.chain = chain  # type: ignore[assignment]
    worker.store.put(record)
    asyncio.run(worker._resume(record))
    final = worker.store.get(record.job_id)
    assert final is not None
    return final


def with_output() -> JobRecord:
    return JobRecord(9, 0, 1).with_output([4, 5, 6], b"fp-bytes", crypto.from_bech32(ADDRESS))


def test_a_fresh_output_is_committed_once_then_revealed_with_its_salt(tmp_path, monkeypatch):
    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = FakeChain()
    record = with_output()
    chain.state = inference_types.JOB_STATE_REVEALING  # reveals open as soon as committed
    final = settle(tmp_path, chain, record)
    assert final.phase == commits.REVEALED
    assert chain.sent == [
        ("commit", 9, bytes.fromhex(record.commitment)),
        ("reveal", 9, (4, 5, 6), b"fp-bytes", bytes.fromhex(record.salt)),
    ]


def test_restart_after_the_commit_landed_sends_no_second_commit(tmp_path, monkeypatch):
    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = FakeChain(committed=True, state=inference_types.JOB_STATE_REVEALING)
    record = with_output().advance(commits.COMMIT_SENT, commit_height=100, commit_txhash="")
    final = settle(tmp_path, chain, record)
    assert final.phase == commits.REVEALED
    assert [s[0] for s in chain.sent] == ["reveal"]
    assert chain.sent[0][4] == bytes.fromhex(record.salt)  # the salt it committed with


def test_restart_with_a_lost_commit_waits_before_sending_it_again(tmp_path, monkeypatch):
    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = FakeChain(state=inference_types.JOB_STATE_REVEALING)
    record = with_output().advance(commits.COMMIT_SENT, commit_height=100, commit_txhash="")
    final = settle(tmp_path, chain, record)
    assert final.phase == commits.REVEALED
    commits_sent = [s for s in chain.sent if s[0] == "commit"]
    assert commits_sent == [("commit", 9, bytes.fromhex(record.commitment))]  # exactly one
    assert chain.current > 100 + RESEND_AFTER_BLOCKS  # and only after waiting


def test_a_closed_commit_window_abandons_without_sending(tmp_path, monkeypatch):
    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = FakeChain(state=inference_types.JOB_STATE_EXPIRED)
    final = settle(tmp_path, chain, with_output())
    assert final.phase == commits.ABANDONED and chain.sent == []


@dataclass
class RefusingChain(FakeChain):
    """Refuses the first `refusals` broadcasts of each kind the way the SDK does (a stale
    sequence in the gas simulation), then behaves."""

    refusals: int = 1
    refused: list[str] = field(default_factory=list)

    def _refuse(self, kind: str) -> None:
        if self.refused.count(kind) < self.refusals:
            self.refused.append(kind)
            raise ClientError("simulation failed: account sequence mismatch, expected 12, got 11")

    def commit(self, job_id, commitment):
        self._refuse("commit")
        return super().commit(job_id, commitment)

    def reveal(self, job_id, **kwargs):
        self._refuse("reveal")
        return super().reveal(job_id, **kwargs)


def test_a_refused_commit_and_reveal_are_sent_again(tmp_path, monkeypatch):
    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = RefusingChain(state=inference_types.JOB_STATE_REVEALING)
    final = settle(tmp_path, chain, with_output())
    assert final.phase == commits.REVEALED
    assert chain.refused == ["commit", "reveal"]
    assert [s[0] for s in chain.sent] == ["commit", "reveal"]  # one of each landed


def test_a_node_that_keeps_refusing_abandons_the_job(tmp_path, monkeypatch):
    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = RefusingChain(state=inference_types.JOB_STATE_REVEALING, refusals=1_000)
    final = settle(tmp_path, chain, with_output())
    assert final.phase == commits.ABANDONED and "sequence mismatch" in final.note
    assert chain.refused == ["commit"] * BROADCAST_ATTEMPTS and chain.sent == []


class MovingRPC:
    """A node whose height the test moves; block_results from a table."""

    def __init__(self, results: dict[int, list[dict]]):
        self.current = 0
        self.results = results

    def height(self) -> int:
        return self.current

    def call(self, method: str, height: str) -> dict:
        return {"finalize_block_events": self.results.get(int(height), [])}


def test_event_stream_reconnects_and_catches_up_on_what_it_missed():
    import json

    import websockets

    rpc = MovingRPC({17: [assigned_event(7, [ADDRESS])], 18: [assigned_event(8, ["infera1x"])]})
    connections = []

    async def node(ws) -> None:
        request = json.loads(await ws.recv())
        assert request["method"] == "subscribe" and ADDRESS in request["params"]["query"]
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {}}))
        connections.append(ws)
        if len(connections) == 1:  # one live event, then the connection drops
            rpc.current = 12
            value = {"height": "12", "events": [assigned_event(5, [ADDRESS])]}
            data = {"type": "tendermint/event/NewBlockEvents", "value": value}
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"data": data}}))
            await asyncio.sleep(0.1)
            rpc.current = 20  # blocks 13..20 happen while nobody listens
            await ws.close()
        else:
            await ws.wait_closed()

    async def scenario() -> tuple[list[Assignment], list[int]]:
        seen: list[Assignment] = []
        heights: list[int] = []
        async with websockets.serve(node, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            link = ChainLink.__new__(ChainLink)
            link.address, link._rpc, link._rpc_lock = ADDRESS, rpc, threading.Lock()
            link.websocket_url = f"ws://127.0.0.1:{port}/websocket"
            watch = asyncio.create_task(link.watch_assignments(10, seen.append, heights.append))
            for _ in range(100):
                if len(connections) == 2 and heights and heights[-1] == 20:
                    break
                await asyncio.sleep(0.05)
            watch.cancel()
        return seen, heights

    seen, heights = asyncio.run(scenario())
    assert seen == [Assignment(5, 12), Assignment(7, 17)]
    assert heights[-1] == 20 and heights == sorted(heights)


# --- adversarial workers ([adversary], test-only) ---------------------------------------------

ADVERSARY = """
[adversary]
compute = { mode = "skip_layer" }
protocol = { mode = "never_reveal" }
"""


def test_an_adversary_table_is_refused_without_the_unsafe_switch(tmp_path, monkeypatch):
    monkeypatch.delenv("INFERA_UNSAFE_ADVERSARY", raising=False)
    path = tmp_path / "worker.toml"
    path.write_text(GOOD + ADVERSARY)
    with pytest.raises(ConfigError, match="INFERA_UNSAFE_ADVERSARY=1"):
        load_config(path)


def test_an_adversary_table_loads_with_the_unsafe_switch(tmp_path, monkeypatch):
    from inference_worker.verify.adversary import ComputeMode, ProtocolMode

    monkeypatch.setenv("INFERA_UNSAFE_ADVERSARY", "1")
    path = tmp_path / "worker.toml"
    path.write_text(GOOD + ADVERSARY.replace('"skip_layer"', '"wrong_model", impostor_dir = "x"'))
    adversary = load_config(path).adversary
    assert adversary is not None
    assert adversary.compute.mode is ComputeMode.WRONG_MODEL
    assert adversary.compute.impostor_dir == str(tmp_path / "x")  # relative to worker.toml
    assert adversary.protocol.mode is ProtocolMode.NEVER_REVEAL
    path.write_text(GOOD)
    assert load_config(path).adversary is None  # honest by default


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('compute = { mode = "teleport" }', "teleport"),
        ('compute = { mode = "noise", colour = 1 }', "colour"),
        ('compute = { mode = "wrong_model" }', "impostor_dir"),
        ('stealth = { mode = "noise" }', "compute and/or protocol"),
    ],
)
def test_a_bad_adversary_table_is_refused_by_name(tmp_path, monkeypatch, table, message):
    monkeypatch.setenv("INFERA_UNSAFE_ADVERSARY", "1")
    path = tmp_path / "worker.toml"
    path.write_text(GOOD + "[adversary]\n" + table + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def adversarial_worker(tmp_path: Path, model_dir: Path, spans, adversary) -> Worker:
    config = WorkerConfig(models=(ModelConfig("tiny", model_dir, tuple(spans)),), key="k",
                          state_dir=tmp_path, adversary=adversary)  # fmt: skip
    worker = Worker(config)
    worker.chain = ModelChain(chain_model(model_dir))  # type: ignore[assignment]
    return worker


def test_a_compute_adversary_serves_its_verified_span_with_the_cheat(tmp_path, tiny_models):
    import torch

    from inference_worker.verify.adversary import AdversaryConfig, ComputeAttack, ComputeMode

    model_dir = tiny_models["llama"]
    attack = ComputeAttack(ComputeMode.NOISE, noise_std=0.3, seed=5)
    honest = adversarial_worker(tmp_path / "h", model_dir, [(0, 2)], None)._load_spans()[0]
    cheat = adversarial_worker(
        tmp_path / "c", model_dir, [(0, 2)], AdversaryConfig(compute=attack)
    )._load_spans()[0]
    hidden = honest.shard.embed(torch.tensor([[1, 2, 3]]))
    difference = cheat.shard.forward(hidden) - honest.shard.forward(hidden)
    assert float(difference.abs().max()) > 0.01  # the cheat is in the hidden states it sends
    assert (cheat.shard.span_start, cheat.shard.span_end) == (0, 2)


def test_a_skipped_layer_outside_the_span_stops_the_worker(tmp_path, tiny_models):
    from inference_worker.verify.adversary import AdversaryConfig, ComputeAttack, ComputeMode

    attack = AdversaryConfig(compute=ComputeAttack(ComputeMode.SKIP_LAYER, layer=4))
    worker = adversarial_worker(tmp_path, tiny_models["llama"], [(0, 2)], attack)
    with pytest.raises(WorkerError, match="layer 4 is not in the span"):
        worker._load_spans()


@dataclass
class TxOutcome:
    txhash: str
    ok: bool
    code: int = 0
    log: str = ""


@dataclass
class AdversaryChain(FakeChain):
    """FakeChain that also answers tx results and another route's reveals."""

    reveal_end: int = 130
    sent_at: list[int] = field(default_factory=list)
    other_reveal: tuple[tuple[int, ...], bytes] | None = None

    def job(self, job_id):
        return inference_types.Job(id=job_id, state=self.state, commit_end_height=110,
                                   reveal_end_height=self.reveal_end)  # fmt: skip

    def reveal(self, job_id, *, tokens, fingerprint, salt):
        self.sent_at.append(self.current)
        return super().reveal(job_id, tokens=tokens, fingerprint=fingerprint, salt=salt)

    def tx(self, txhash):
        if txhash.startswith("R"):
            return TxOutcome(txhash, ok=self.include, code=0 if self.include else 8, log="late")
        return None

    def job_history(self, job_id):
        from infera.agreement.v1 import query_pb2 as agreement_query

        history = agreement_query.QueryJobHistoryResponse()
        if self.other_reveal is not None:
            tokens, fingerprint = self.other_reveal
            output_hash = commits.compute_output_hash(tokens)
            history.reveals.add(job_id=job_id, route_index=1, hop_index=1,
                                output_hash=output_hash, shard_fingerprint=fingerprint)  # fmt: skip
            history.outputs.add(output_hash=output_hash, tokens=list(tokens))
        return history


def settle_as(tmp_path: Path, chain: FakeChain, record: JobRecord, protocol) -> JobRecord:
    from inference_worker.verify.adversary import AdversaryConfig

    config = WorkerConfig(models=(), key="k", state_dir=tmp_path,
                          adversary=AdversaryConfig(protocol=protocol))  # fmt: skip
    worker = Worker(config)
    worker.chain = chain  # type: ignore[assignment]
    worker.store.put(record)
    asyncio.run(worker._resume(record))
    final = worker.store.get(record.job_id)
    assert final is not None
    return final


def test_never_reveal_commits_and_sends_no_reveal(tmp_path, monkeypatch):
    from inference_worker.verify.adversary import ProtocolAttack, ProtocolMode

    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    chain = AdversaryChain(state=inference_types.JOB_STATE_REVEALING)
    record = with_output()
    final = settle_as(tmp_path, chain, record, ProtocolAttack(ProtocolMode.NEVER_REVEAL))
    assert [s[0] for s in chain.sent] == ["commit"]
    assert final.phase == commits.ABANDONED and "never_reveal" in final.note


def test_reveal_late_reveals_only_after_the_window_and_records_the_refusal(tmp_path, monkeypatch):
    from inference_worker.verify.adversary import ProtocolAttack, ProtocolMode

    monkeypatch.setattr("inference_worker.node.cheating.POLL_S", 0.0)
    chain = AdversaryChain(state=inference_types.JOB_STATE_REVEALING, include=False)
    chain.committed = True
    record = with_output().advance(commits.COMMITTED)
    attack = ProtocolAttack(ProtocolMode.REVEAL_LATE, late_blocks=3)
    final = settle_as(tmp_path, chain, record, attack)
    assert chain.sent_at and chain.sent_at[0] >= chain.reveal_end + 3
    assert chain.sent[0][2:] == ((4, 5, 6), b"fp-bytes", bytes.fromhex(record.salt))
    assert final.phase == commits.ABANDONED and "failed (code 8)" in final.note


def test_copy_reveal_sends_the_other_routes_output_with_its_own_salt(tmp_path, monkeypatch):
    from inference_worker.verify.adversary import ProtocolAttack, ProtocolMode

    monkeypatch.setattr("inference_worker.node.cheating.POLL_S", 0.0)
    chain = AdversaryChain(state=inference_types.JOB_STATE_REVEALING, include=False,
                           other_reveal=((7, 7, 7), b"their-fingerprint"))  # fmt: skip
    chain.committed = True
    record = with_output().advance(commits.COMMITTED)  # route 0, hop 1
    attack = ProtocolAttack(ProtocolMode.COPY_REVEAL, copy_from_route=1)
    final = settle_as(tmp_path, chain, record, attack)
    assert chain.sent == [
        ("reveal", 9, (7, 7, 7), b"their-fingerprint", bytes.fromhex(record.salt))
    ]
    assert final.phase == commits.ABANDONED and "copy_reveal" in final.note


def test_copy_reveal_gives_up_when_the_other_route_never_reveals(tmp_path, monkeypatch):
    from inference_worker.verify.adversary import ProtocolAttack, ProtocolMode

    monkeypatch.setattr("inference_worker.node.cheating.POLL_S", 0.0)
    chain = AdversaryChain(state=inference_types.JOB_STATE_REVEALING, committed=True)
    record = with_output().advance(commits.COMMITTED)
    attack = ProtocolAttack(ProtocolMode.COPY_REVEAL, copy_from_route=1)
    final = settle_as(tmp_path, chain, record, attack)
    assert chain.sent == [] and "revealed nothing" in final.note


@pytest.mark.parametrize(("route", "lies"), [(0, True), (2, False)])
def test_colluders_commit_to_the_shared_lie_and_others_stay_honest(
    tmp_path, monkeypatch, route, lies
):
    from types import SimpleNamespace

    from inference_worker.verify.adversary import (
        AdversaryConfig,
        ProtocolAttack,
        ProtocolMode,
        collusion_tokens,
    )

    monkeypatch.setattr("inference_worker.node.worker.POLL_S", 0.0)
    attack = ProtocolAttack(ProtocolMode.COLLUDE, colluding_routes=(0, 1), seed=11)
    config = WorkerConfig(models=(), key="k", state_dir=tmp_path,
                          adversary=AdversaryConfig(protocol=attack))  # fmt: skip
    worker = Worker(config)
    chain = FakeChain(state=inference_types.JOB_STATE_REVEALING)
    worker.chain = chain  # type: ignore[assignment]
    worker.spans = [
        SimpleNamespace(model_id="", shard=SimpleNamespace(config=SimpleNamespace(vocab_size=96)))
    ]  # type: ignore[list-item]

    async def output(job, record):
        return (4, 5, 6), b"fp-bytes"

    worker._output = output  # type: ignore[method-assign]
    record = JobRecord(9, route, 1)
    worker.store.put(record)
    asyncio.run(worker._resume(record))
    revealed = chain.sent[-1][2]
    lie = tuple(collusion_tokens([4, 5, 6], seed=11, vocab_size=96))
    assert revealed == (lie if lies else (4, 5, 6)) and lie != (4, 5, 6)
    assert chain.sent[-1][3] == b"fp-bytes"  # the real fingerprint either way


def test_a_dishonest_reveal_that_never_lands_is_noted_not_waited_for_forever(tmp_path, monkeypatch):
    from inference_worker.verify.adversary import ProtocolAttack, ProtocolMode

    monkeypatch.setattr("inference_worker.node.cheating.POLL_S", 0.0)
    chain = AdversaryChain(state=inference_types.JOB_STATE_REVEALING, committed=True, include=False)
    chain.tx = lambda txhash: None  # type: ignore[method-assign]  # dropped from the mempool
    record = with_output().advance(commits.COMMITTED)
    final = settle_as(tmp_path, chain, record, ProtocolAttack(ProtocolMode.REVEAL_LATE))
    assert final.phase == commits.ABANDONED and "never included" in final.note
