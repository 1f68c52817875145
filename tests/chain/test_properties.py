"""Property tests: hostile bytes never crash the app; supply is conserved; execution is deterministic."""

from __future__ import annotations

import pathlib
import tempfile

import chain.pb  # noqa: F401

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain import crypto
from tests.harness import TestChain, send_msg

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(st.lists(st.binary(max_size=600), min_size=1, max_size=8))
def test_random_tx_bytes_never_crash_and_change_nothing(chain_, blobs):
    before = chain_.store.last_app_hash
    for blob in blobs:
        check = chain_.check(blob)
        assert check.code != 0
        assert check.code != 1  # never an internal error: every failure is classified
    result = chain_.block(blobs)
    assert len(result.tx_results) == len(blobs)
    assert all(r.code not in (0, 1) for r in result.tx_results)
    assert result.app_hash != b"" and before != b""


def _mutations():
    """Random flips of a valid tx's bytes: structured garbage, the hardest kind to parse."""
    return st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4)


@SETTINGS
@given(_mutations())
def test_mutated_valid_txs_never_crash(chain_, flips):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = bytearray(chain_.tx(a, send_msg(a, b.address, 3), bump=False))
    for pos, value in flips:
        raw[pos % len(raw)] = value
    outcome = chain_.block([bytes(raw)]).tx_results[0]
    assert outcome.code != 1


transfers = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 4),
        st.integers(0, 2 * 10**12),
        st.sampled_from([0, 5_000, 10_000]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None)
@given(transfers, st.integers(1, 5))
def test_total_supply_is_conserved_over_random_transfers(plan, per_block):
    with tempfile.TemporaryDirectory() as tmp:
        chain_ = TestChain(pathlib.Path(tmp))
        chain_.init()
        chain_.block()
        supply = chain_.supply()
        outsider = crypto.module_address("outsider")
        pending = []
        for sender, recipient, amount, fee in plan:
            to = chain_.keys[recipient].address if recipient < 4 else outsider
            key = chain_.keys[sender]
            pending.append(chain_.tx(key, send_msg(key, to, amount), fee=fee, bump=False))
            if len(pending) >= per_block:
                _commit_and_resync(chain_, pending)
        _commit_and_resync(chain_, pending)
        holders = [k.address for k in chain_.keys + chain_.validators] + [
            outsider,
            crypto.module_address("fee_collector"),
            crypto.module_address("bonded_tokens_pool"),
            crypto.module_address("distribution"),  # fees move on there each block
        ]
        assert sum(chain_.balance(h) for h in holders) == supply == chain_.supply()
        chain_.store.close()


def _commit_and_resync(chain_: TestChain, pending: list) -> None:
    chain_.block(pending)
    pending.clear()
    for key in chain_.keys:  # sequences advance only for txs whose ante passed
        from chain.context import BlockInfo, Context, ExecMode
        from modules.auth.keeper import AccountKeeper

        ctx = Context(store=chain_.store.latest(), block=BlockInfo("x", 0, 0), mode=ExecMode.QUERY)
        chain_.sequences[key.address] = AccountKeeper().get_account(ctx, key.address).sequence


def test_two_fresh_apps_fed_the_same_blocks_reach_the_same_hashes(tmp_path):
    one, two = TestChain(tmp_path / "one"), TestChain(tmp_path / "two")
    assert one.init().app_hash == two.init().app_hash
    assert one.block().app_hash == two.block().app_hash
    for height in range(2, 9):
        txs = []
        for i, key in enumerate(one.keys):
            txs.append(
                one.tx(key, send_msg(key, one.keys[(i + height) % 4].address, height * 10 + i))
            )
        two.sequences = dict(one.sequences)
        h1, h2 = one.block(txs), two.block(txs)
        assert h1.app_hash == h2.app_hash
        assert [r.SerializeToString() for r in h1.tx_results] == [
            r.SerializeToString() for r in h2.tx_results
        ]
    one.store.close()
    two.store.close()
