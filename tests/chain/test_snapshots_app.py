"""State sync through the app's ABCI handlers, hostile inputs (fuzzed), and the node settings."""

from __future__ import annotations

import dataclasses
import itertools
from hashlib import sha256
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chain.abci.server import dispatch
from chain.app import META_BLOCK_TIME, META_CHAIN_ID
from chain.nodeconfig import (
    AppConfig,
    ConfigError,
    configure_state_sync,
    load_app_config,
    write_app_config,
)
from chain.snapshots import FORMAT, SnapshotManager
from chain.store import CommitStore
from tendermint.abci import types_pb2 as abci
from tests.harness import CHAIN_ID, TestChain, send_msg

OFFER, APPLY = abci.ResponseOfferSnapshot, abci.ResponseApplySnapshotChunk
META_KEYS = (META_CHAIN_ID, META_BLOCK_TIME)


def manager(path: Path, interval: int = 0) -> SnapshotManager:
    return SnapshotManager(path, interval=interval, chunk_bytes=1024, meta_keys=META_KEYS)


def chunks(source: SnapshotManager, snapshot: abci.Snapshot) -> list[bytes]:
    load = abci.RequestLoadSnapshotChunk
    return [
        source.load_chunk(load(height=snapshot.height, format=FORMAT, chunk=i)).chunk
        for i in range(snapshot.chunks)
    ]


def state_sync(app, snapshot: abci.Snapshot, pieces: list[bytes], app_hash: bytes) -> list[int]:
    """What CometBFT does: offer, then apply every chunk in order."""
    offered = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=app_hash))
    assert offered.result == OFFER.ACCEPT
    request = abci.RequestApplySnapshotChunk
    return [
        app.apply_snapshot_chunk(request(index=i, chunk=c, sender="p")).result
        for i, c in enumerate(pieces)
    ]


@pytest.fixture
def synced(tmp_path: Path):
    """A chain with some sends and a snapshot at height 4, and a fresh app restored from it."""
    source = TestChain(tmp_path / "source")
    source.app.snapshots = manager(tmp_path / "source-snaps", interval=4)
    source.init()
    source.block()  # genesis is committed with block 1
    for i in range(3):  # blocks 2..4, one send each
        sender = source.keys[i]
        source.block([source.tx(sender, send_msg(sender, source.keys[3].address, 10 + i))])
    source.app.snapshots.wait()
    snapshot = source.app.snapshots.list_snapshots(tip=1 << 40).snapshots[0]
    joiner = TestChain(tmp_path / "joiner")
    joiner.app.snapshots = manager(tmp_path / "joiner-snaps")
    joiner.app.chain_id = CHAIN_ID  # node.py takes it from genesis.json
    app_hash = source.store.root_at(snapshot.height)
    results = state_sync(joiner.app, snapshot, chunks(source.app.snapshots, snapshot), app_hash)
    assert set(results) == {APPLY.ACCEPT}
    joiner.height, joiner.sequences = source.height, dict(source.sequences)
    yield source, joiner
    source.store.close()
    joiner.store.close()


def test_restored_app_reports_the_snapshot_height_and_hash(synced) -> None:
    source, joiner = synced
    info = joiner.app.info(abci.RequestInfo())

    assert (info.last_block_height, info.last_block_app_hash) == (4, source.store.root_at(4))
    assert joiner.app.chain_id == CHAIN_ID
    assert joiner.store.get_meta(META_BLOCK_TIME) == source.store.get_meta(META_BLOCK_TIME)


def test_restored_app_answers_queries_and_runs_blocks_like_the_source(synced) -> None:
    source, joiner = synced
    assert [joiner.balance(k.address) for k in source.keys] == [
        source.balance(k.address) for k in source.keys
    ]
    tx = source.tx(source.keys[1], send_msg(source.keys[1], source.keys[0].address, 5))
    assert joiner.check(tx).code == 0  # the mempool of the restored node admits it

    ours, theirs = joiner.block([tx]), source.block([tx])

    assert ours.app_hash == theirs.app_hash
    assert [r.code for r in ours.tx_results] == [r.code for r in theirs.tx_results] == [0]


def test_snapshot_of_another_chain_is_refused(tmp_path: Path, synced) -> None:
    source, _ = synced
    snapshot = source.app.snapshots.list_snapshots(tip=1 << 40).snapshots[0]
    other = TestChain(tmp_path / "other")
    other.app.snapshots = manager(tmp_path / "other-snaps")
    other.app.chain_id = "another-chain"
    request = abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=source.store.root_at(4))

    assert other.app.offer_snapshot(request).result == OFFER.REJECT
    other.store.close()


def test_app_lists_a_snapshot_three_blocks_after_its_height(synced) -> None:
    source, _ = synced  # snapshot at 4, the source's last block
    listed = [s.height for s in source.app.list_snapshots(abci.RequestListSnapshots()).snapshots]
    assert listed == []  # headers 5 and 6, which a joiner's light client needs, do not exist
    for _ in range(3):
        source.block()
    listed = [s.height for s in source.app.list_snapshots(abci.RequestListSnapshots()).snapshots]
    assert listed == [4]


def test_app_without_snapshots_offers_none_and_refuses_offers(tmp_path: Path) -> None:
    chain = TestChain(tmp_path / "plain")
    assert chain.app.list_snapshots(abci.RequestListSnapshots()).snapshots == []
    offer = chain.app.offer_snapshot(abci.RequestOfferSnapshot())
    assert offer.result == OFFER.REJECT
    chain.store.close()


class ExplodingSnapshots:
    def __getattr__(self, name: str):
        raise RuntimeError("disk on fire")


@pytest.mark.parametrize(
    "kind, request_",
    [
        ("list_snapshots", abci.RequestListSnapshots()),
        ("offer_snapshot", abci.RequestOfferSnapshot()),
        ("load_snapshot_chunk", abci.RequestLoadSnapshotChunk()),
        ("apply_snapshot_chunk", abci.RequestApplySnapshotChunk()),
    ],
)
def test_a_failing_snapshot_handler_is_refused_not_fatal(tmp_path: Path, kind, request_) -> None:
    chain = TestChain(tmp_path / "x")
    chain.app.snapshots = ExplodingSnapshots()
    request = abci.Request()
    getattr(request, kind).CopyFrom(request_)

    response = dispatch(chain.app, request)

    assert response.WhichOneof("value") == kind  # never an `exception`, which halts CometBFT
    if kind == "offer_snapshot":
        assert response.offer_snapshot.result == OFFER.REJECT
    if kind == "apply_snapshot_chunk":
        assert response.apply_snapshot_chunk.result == APPLY.REJECT_SNAPSHOT
    chain.store.close()


# -- fuzz -------------------------------------------------------------------------------------

_FRESH = itertools.count()  # hypothesis reuses tmp_path across examples
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
OFFER_RESULTS = {OFFER.ACCEPT, OFFER.REJECT, OFFER.REJECT_FORMAT}
APPLY_RESULTS = {
    APPLY.ACCEPT,
    APPLY.ABORT,
    APPLY.RETRY,
    APPLY.RETRY_SNAPSHOT,
    APPLY.REJECT_SNAPSHOT,
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A real snapshot (height 3) to mutate, and its trusted app hash."""
    root = tmp_path_factory.mktemp("ref")
    store = CommitStore(str(root / "db"))
    for version in range(1, 4):
        store.stage(version, {f"k{i}/{version}".encode(): bytes([i]) * 50 for i in range(40)})
        store.commit(extra_meta={META_CHAIN_ID: b"c"})
    source = manager(root / "snaps", interval=3)
    source.maybe_snapshot(store)
    source.wait()
    snapshot = source.list_snapshots(tip=1 << 40).snapshots[0]
    yield snapshot, chunks(source, snapshot), store.last_app_hash
    store.close()


@FUZZ
@given(
    height=st.integers(0, 2**64 - 1),
    format_=st.integers(0, 2**32 - 1),
    chunk_count=st.integers(0, 2**32 - 1),
    hash_=st.binary(max_size=40),
    metadata=st.binary(max_size=300),
    app_hash=st.binary(max_size=40),
    pieces=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=64)), max_size=4),
)
def test_random_offers_and_chunks_never_raise_nor_write(
    tmp_path: Path, height, format_, chunk_count, hash_, metadata, app_hash, pieces
) -> None:
    store = CommitStore(str(tmp_path / f"fuzz-{next(_FRESH)}.db"))
    target = manager(tmp_path / "t")
    try:
        snapshot = abci.Snapshot(
            height=height, format=format_, chunks=chunk_count, hash=hash_, metadata=metadata
        )
        offer = target.offer(
            store, abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=app_hash), {}
        )
        assert offer.result in OFFER_RESULTS - {OFFER.ACCEPT}  # random metadata never passes
        for index, chunk in pieces:
            request = abci.RequestApplySnapshotChunk(index=index, chunk=chunk, sender="x")
            assert target.apply_chunk(store, request).result in APPLY_RESULTS
        assert store.last_height == 0
    finally:
        store.close()


@FUZZ
@given(data=st.data())
def test_mutated_snapshots_restore_exactly_or_not_at_all(tmp_path: Path, reference, data) -> None:
    snapshot, pieces, trusted = reference
    metadata = bytearray(snapshot.metadata)
    pieces = list(pieces)
    for _ in range(data.draw(st.integers(0, 3), label="metadata flips")):
        metadata[data.draw(st.integers(0, len(metadata) - 1))] ^= data.draw(st.integers(1, 255))
    index = data.draw(st.integers(0, len(pieces) - 1), label="chunk")
    if data.draw(st.booleans(), label="mutate chunk"):
        piece = bytearray(pieces[index])
        piece[data.draw(st.integers(0, len(piece) - 1))] ^= 0x80
        pieces[index] = bytes(piece)
    mutated = abci.Snapshot()
    mutated.CopyFrom(snapshot)
    mutated.metadata = bytes(metadata)
    mutated.hash = sha256(bytes(metadata)).digest()  # an attacker recomputes the hash
    store = CommitStore(str(tmp_path / f"m-{next(_FRESH)}.db"))  # a new node each time
    target = manager(tmp_path / "m")
    try:
        offer = target.offer(
            store, abci.RequestOfferSnapshot(snapshot=mutated, app_hash=trusted), {}
        )
        assert offer.result in OFFER_RESULTS
        if offer.result == OFFER.ACCEPT:
            for i, piece in enumerate(pieces):
                request = abci.RequestApplySnapshotChunk(index=i, chunk=piece, sender="x")
                result = target.apply_chunk(store, request).result
                assert result in APPLY_RESULTS
                if result != APPLY.ACCEPT:
                    break
        assert store.last_height == 0 or store.last_app_hash == trusted
        event("restored" if store.last_height else f"refused (offer {offer.result})")
    finally:
        store.close()


# -- node settings ----------------------------------------------------------------------------


def test_app_toml_state_sync_settings_round_trip(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    config = dataclasses.replace(
        AppConfig(), snapshot_interval=500, snapshot_keep_recent=3, snapshot_chunk_bytes=65536
    )
    write_app_config(tmp_path, config)

    assert load_app_config(tmp_path) == config
    assert "[state-sync]\n" in (tmp_path / "config" / "app.toml").read_text()


@pytest.mark.parametrize(
    "line", ["snapshot-interval = -1", "snapshot-keep-recent = 0", "snapshot-chunk-bytes = 100"]
)
def test_app_toml_rejects_bad_state_sync_settings(tmp_path: Path, line: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "app.toml").write_text(f"[state-sync]\n{line}\n")
    with pytest.raises(ConfigError):
        load_app_config(tmp_path)


STATESYNC_TOML = """\
[statesync]
enable = false
rpc_servers = ""
trust_height = 0
trust_hash = ""
trust_period = "168h0m0s"
discovery_time = "15s"
"""


def test_configure_state_sync_writes_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "config.toml"
    path.write_text(STATESYNC_TOML)
    servers = ["http://127.0.0.1:26657", "http://127.0.0.1:26667"]

    configure_state_sync(tmp_path, rpc_servers=servers, trust_height=42, trust_hash="ab" * 32)

    text = path.read_text()
    assert "enable = true" in text and "trust_height = 42" in text
    assert f'rpc_servers = "{",".join(servers)}"' in text
    assert f'trust_hash = "{"AB" * 32}"' in text
    with pytest.raises(ConfigError):
        configure_state_sync(
            tmp_path, rpc_servers=servers[:1], trust_height=42, trust_hash="ab" * 32
        )
    with pytest.raises(ConfigError):
        configure_state_sync(tmp_path, rpc_servers=servers, trust_height=42, trust_hash="x" * 64)


# -- infera testnet add-node ------------------------------------------------------------------


def test_add_full_node_joins_the_testnet_genesis_and_peers(tmp_path: Path) -> None:
    import json

    from chain.cli.rpc import NodeUnreachableError
    from chain.nodeconfig import GENESIS_JSON, read_cometbft_config
    from chain.testnet import add_full_node, create_testnet

    out = tmp_path / "net"
    description = create_testnet(out, validators=2, base_port=29_000, dev_accounts=1)

    entry = add_full_node(out, name="full")

    home = Path(entry["home"])
    assert (home / GENESIS_JSON).read_bytes() == (out / "node0" / GENESIS_JSON).read_bytes()
    config = read_cometbft_config(home)
    peers = config["p2p"]["persistent_peers"].split(",")
    assert sorted(peers) == sorted(
        f"{n['node_id']}@127.0.0.1:{n['p2p']}" for n in description["nodes"]
    )
    assert entry["p2p"] == 29_020 and config["statesync"]["enable"] is False
    assert json.loads((out / "testnet.json").read_text())["full_nodes"] == [entry]
    with pytest.raises(NodeUnreachableError):  # --state-sync reads node0's RPC: not running
        add_full_node(out, name="synced", state_sync=True)
    assert not (out / "synced").exists()  # a failed add writes nothing
