"""Simulation: gas estimates for fee-less txs (as clients send them) cover the real tx."""

from __future__ import annotations

from tests.harness import send_msg


def test_feeless_simulation_charges_the_fee_transfer_and_changes_nothing(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    before = chain_.store.last_app_hash
    simulated = chain_.app.simulate(
        chain_.tx(a, send_msg(a, b.address, 5), fee=0, gas=0, bump=False)
    )
    assert simulated.code == 0, simulated.log
    assert chain_.store.last_app_hash == before
    real = chain_.block([chain_.tx(a, send_msg(a, b.address, 5))]).tx_results[0]
    assert real.code == 0
    # same work but a slightly different tx size: within 1% of the real gas
    assert abs(simulated.gas_used - real.gas_used) * 100 <= real.gas_used


def test_simulation_of_an_unfunded_account_reports_the_message_error(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 10**30), fee=0, gas=0, bump=False)
    assert chain_.app.simulate(raw).code == 5


def test_simulation_stops_at_the_block_max_gas(tmp_path, monkeypatch):
    """Simulate meters no tx gas limit but never more than one block's gas (it was infinite)."""
    from tests import harness

    monkeypatch.setattr(harness, "MAX_BLOCK_GAS", 150_000)
    chain_ = harness.TestChain(tmp_path / "chain")
    chain_.init()
    chain_.block()
    a, b = chain_.keys[0], chain_.keys[1]
    one = chain_.app.simulate(chain_.tx(a, send_msg(a, b.address, 1), fee=0, gas=0, bump=False))
    assert one.code == 0 and one.gas_used < 150_000, one.log
    many = [send_msg(a, b.address, 1) for _ in range(20)]
    raw = chain_.tx(a, *many, fee=0, gas=0, bump=False)
    outcome = chain_.app.simulate(raw)
    assert (outcome.codespace, outcome.code) == ("sdk", 11), outcome.log
    assert "out of gas" in outcome.log and "gasWanted: 150000" in outcome.log
    chain_.store.close()
