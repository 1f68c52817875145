"""Genesis from presets: the bonded pool holds the bonds, and the app accepts the result."""

from __future__ import annotations

import json

import pytest

from chain import crypto
from chain.genesis import (
    GenesisAccount,
    GenesisError,
    GenesisValidator,
    build_genesis,
    load_preset,
    preset_names,
)
from chain.store import CommitStore
from chain.wiring import build_app
from tendermint.abci import types_pb2 as abci
from tests.harness import Key

POOL = crypto.to_bech32(crypto.module_address("bonded_tokens_pool"))


def _validator(name: str, tokens: int = 10_000_000) -> GenesisValidator:
    key = bytes([len(name)]) * 32 if name else b"\x01" * 32
    return GenesisValidator(name, Key(name).bech32, key, tokens)


def _balances(genesis: dict) -> dict[str, int]:
    return {
        b["address"]: int(b["coins"][0]["amount"]) for b in genesis["app_state"]["bank"]["balances"]
    }


def test_presets_exist_and_set_block_gas_and_vote_extension_height() -> None:
    assert {"minimal", "standard"} <= set(preset_names())
    for name in ("minimal", "standard"):
        params = load_preset(name)["consensus_params"]
        assert int(params["block"]["max_gas"]) > 0
        assert int(params["abci"]["vote_extensions_enable_height"]) >= 0


def test_bonded_pool_holds_exactly_the_validators_tokens() -> None:
    validators = [_validator("a", 5_000_000), _validator("bb", 7_000_000)]
    genesis = build_genesis(
        chain_id="c-1",
        preset=load_preset("minimal"),
        validators=validators,
        accounts=[GenesisAccount(Key("dev").bech32, 100)],
    )

    assert _balances(genesis)[POOL] == 12_000_000
    assert _balances(genesis)[Key("dev").bech32] == 100
    assert genesis["validators"] == []
    assert len(genesis["app_state"]["staking"]["validators"]) == 2


def test_the_app_loads_a_built_genesis_and_returns_the_validator_set(tmp_path) -> None:
    genesis = build_genesis(
        chain_id="c-1", preset=load_preset("standard"), validators=[_validator("solo", 10**12)],
        accounts=[GenesisAccount(Key("dev").bech32, 10**9)],
    )  # fmt: skip
    store = CommitStore(str(tmp_path / "db"))
    request = abci.RequestInitChain(
        chain_id="c-1", initial_height=1, app_state_bytes=json.dumps(genesis["app_state"]).encode()
    )
    response = build_app(store).init_chain(request)
    store.close()

    assert [(u.pub_key.ed25519, u.power) for u in response.validators] == [(b"\x04" * 32, 10**6)]


def test_build_rejects_low_bond_duplicate_keys_and_bad_chain_id() -> None:
    preset = load_preset("minimal")
    with pytest.raises(GenesisError, match="below the minimum"):
        build_genesis(chain_id="c", preset=preset, validators=[_validator("a", 1)], accounts=[])
    with pytest.raises(GenesisError, match="share a consensus key"):
        twins = [_validator("a"), GenesisValidator("b", Key("b").bech32, b"\x01" * 32, 10**7)]
        build_genesis(chain_id="c", preset=preset, validators=twins, accounts=[])
    with pytest.raises(GenesisError, match="invalid chain id"):
        build_genesis(chain_id="bad id!", preset=preset, validators=[_validator("a")], accounts=[])
    with pytest.raises(GenesisError, match="unknown preset"):
        load_preset("nope")
