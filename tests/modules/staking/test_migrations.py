"""staking consensus-version migration (issue 12): a store written before the by_tokens index
(commit 570ef22) is migrated once, at its first block, to the state a node that always had the
index holds -- same app hash -- and never again."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import BlockInfo, Context, ExecMode
from chain.store import MemStore, prefix_end
from infera.staking.v1 import types_pb2
from modules.staking import keeper as keeper_mod
from modules.staking import keys, migrations
from modules.staking.keeper import StakingKeeper
from modules.staking.params import default_params
from tests.harness import Key, TestChain


def _index(ctx: Context) -> list[bytes]:
    return [k for k, _ in ctx.store.iterate(keys.BY_TOKENS, prefix_end(keys.BY_TOKENS))]


def test_migration_rebuilds_the_index_from_validator_records_once():
    ctx = Context(store=MemStore(), block=BlockInfo("c", 2, 0), mode=ExecMode.FINALIZE)
    keeper = StakingKeeper(bank=None)  # type: ignore[arg-type]
    keeper.set_params(ctx, default_params())
    for i, (tokens, jailed) in enumerate([(5, False), (9, False), (7, True), (0, False)]):
        validator = types_pb2.Validator(tokens=str(tokens), jailed=jailed, moniker=f"v{i}")
        keeper.set_validator(ctx, bytes([i]) * 20, validator)
    expected = _index(ctx)
    assert len(expected) == 2  # jailed and tokenless validators are not candidates
    for key in expected:  # the store as the binary before the index wrote it
        ctx.store.delete(key)
    ctx.store.set(keys.BY_TOKENS + b"\xff" * 52, b"\x01")  # a stray entry the rebuild drops
    migrations.set_version(ctx, 1)

    assert migrations.run_pending(ctx, keeper) == [1, 2]
    assert _index(ctx) == expected
    assert migrations.stored_version(ctx) == migrations.CONSENSUS_VERSION
    assert migrations.run_pending(ctx, keeper) == []  # exactly once


def test_a_store_without_a_version_key_is_version_1():
    ctx = Context(store=MemStore(), block=BlockInfo("c", 2, 0), mode=ExecMode.FINALIZE)
    assert migrations.stored_version(ctx) == 1


def _old_binary(monkeypatch) -> None:
    """The staking module as it was before the index: no index entries, no version key, the
    power update sorting every validator record."""

    def set_validator(self, ctx, operator, validator):
        ctx.store.set(keys.VALIDATOR + operator, validator.SerializeToString(deterministic=True))

    def iterate_by_tokens(self, ctx):
        candidates = [
            (op, v) for op, v in self.iterate_validators(ctx) if keeper_mod.is_candidate(v)
        ]
        yield from sorted(candidates, key=lambda c: (-int(c[1].tokens), c[0]))

    monkeypatch.setattr(StakingKeeper, "set_validator", set_validator)
    monkeypatch.setattr(StakingKeeper, "iterate_by_tokens", iterate_by_tokens)
    monkeypatch.setattr(migrations, "init_version", lambda ctx: None)


def test_an_old_store_migrates_to_the_app_hash_of_a_store_that_always_had_the_index(
    tmp_path, monkeypatch
):
    validators = [Key("val0"), Key("val1"), Key("val2")]
    new = TestChain(tmp_path / "new", validators=validators)
    old = TestChain(tmp_path / "old", validators=validators)
    new_genesis = new.init()
    with monkeypatch.context() as patched:
        _old_binary(patched)
        old_genesis = old.init()
    assert old_genesis.app_hash != new_genesis.app_hash  # the old layout really differs
    assert old_genesis.validators == new_genesis.validators

    calls = []
    original = migrations.MIGRATIONS[1]
    monkeypatch.setitem(
        migrations.MIGRATIONS, 1, lambda ctx, k: (calls.append(ctx.block.height), original(ctx, k))
    )
    for height in range(1, 4):
        assert old.block().app_hash == new.block().app_hash, height
    assert calls == [1]  # the old store, at its first block; never on the new one
    old.reopen()  # a restart does not run it again
    assert old.block().app_hash == new.block().app_hash
    assert calls == [1]
    old.store.close()
    new.store.close()
