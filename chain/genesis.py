"""Building a chain's genesis.json from a preset (``genesis/presets/*.json``).

A preset holds the CometBFT consensus params, per-module ``app_state`` templates and the amounts
given to validators and developer accounts (``genesis/README.md`` explains every field). This
module fills in the accounts and validators of one network:

- every account (validator operators, developer accounts) gets a bank balance;
- every validator becomes a staking genesis validator bonded with its ed25519 consensus key;
- the bonded pool module account holds exactly the sum of the validators' tokens (staking checks
  this at InitChain);
- CometBFT's own ``validators`` list stays empty: InitChain returns the set the app computed.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain import crypto
from chain.text import is_printable_ascii, parse_uint

PRESETS_DIR = Path(__file__).resolve().parent.parent / "genesis" / "presets"
BONDED_POOL = "bonded_tokens_pool"  # the staking module's bonded pool account name
CHAIN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,49}")  # fullmatch: ASCII only
MAX_MONIKER = 70


class GenesisError(Exception):
    """A preset or a genesis input is invalid."""


@dataclass(frozen=True)
class GenesisValidator:
    moniker: str
    operator_address: str  # bech32 account that bonds (and later operates) the validator
    consensus_pubkey: bytes  # ed25519, 32 bytes, from the node's priv_validator_key.json
    tokens: int  # bonded, in the bond denom


@dataclass(frozen=True)
class GenesisAccount:
    address: str  # bech32
    amount: int  # in the fee denom


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def load_preset(name: str) -> dict[str, Any]:
    """A preset by name (``minimal``, ``standard``) or by path to a JSON file."""
    path = Path(name) if name.endswith(".json") else PRESETS_DIR / f"{name}.json"
    if not path.is_file():
        raise GenesisError(f"unknown preset {name!r}; choose one of {', '.join(preset_names())}")
    try:
        preset = json.loads(path.read_text())
    except ValueError as exc:
        raise GenesisError(f"preset {path} is not valid JSON: {exc}") from None
    for section in ("consensus_params", "accounts", "app_state"):
        if section not in preset:
            raise GenesisError(f"preset {path} lacks the {section!r} section")
    return dict(preset)


def validate_chain_id(chain_id: str) -> None:
    if not isinstance(chain_id, str) or not CHAIN_ID_RE.fullmatch(chain_id):
        raise GenesisError(f"invalid chain id {chain_id!r}: 1-50 letters, digits, '_', '.' or '-'")


def validate_moniker(moniker: str) -> None:
    if not 0 < len(moniker) <= MAX_MONIKER or not is_printable_ascii(moniker):
        raise GenesisError(
            f"invalid moniker {moniker!r}: 1-{MAX_MONIKER} printable ASCII characters"
        )


def _genesis_uint(value: Any) -> int:
    try:
        return parse_uint(str(value))
    except ValueError as exc:
        raise GenesisError(str(exc)) from None


def build_app_state(
    preset: dict[str, Any],
    *,
    validators: list[GenesisValidator],
    accounts: list[GenesisAccount],
) -> dict[str, Any]:
    """The preset's app_state with balances, validators and the bonded pool filled in."""
    app_state = copy.deepcopy(preset["app_state"])
    staking = app_state.setdefault("staking", {})
    bond_denom = staking.get("params", {}).get("bond_denom", "uinfera")
    fee_denom = app_state.get("auth", {}).get("params", {}).get("fee_denom", "uinfera")
    min_bond = _genesis_uint(staking.get("params", {}).get("min_self_bond", "0"))
    power_reduction = _genesis_uint(staking.get("params", {}).get("power_reduction", "1"))
    balances: dict[str, dict[str, int]] = {}
    for account in accounts:
        crypto.from_bech32(account.address)  # raises on a malformed address
        coins = balances.setdefault(account.address, {})
        coins[fee_denom] = coins.get(fee_denom, 0) + account.amount
    entries = []
    for validator in validators:
        _check_validator(validator, min_bond=min_bond, power_reduction=power_reduction)
        entries.append(
            {
                "operator_address": validator.operator_address,
                "consensus_pubkey": base64.b64encode(validator.consensus_pubkey).decode(),
                "tokens": str(validator.tokens),
                "moniker": validator.moniker,
            }
        )
    if len({v.consensus_pubkey for v in validators}) != len(validators):
        raise GenesisError("two genesis validators share a consensus key")
    if len({v.operator_address for v in validators}) != len(validators):
        raise GenesisError("two genesis validators share an operator address")
    bonded = sum(v.tokens for v in validators)
    if bonded:
        pool = crypto.to_bech32(crypto.module_address(BONDED_POOL))
        coins = balances.setdefault(pool, {})
        coins[bond_denom] = coins.get(bond_denom, 0) + bonded
    bank = app_state.setdefault("bank", {})
    bank["balances"] = list(bank.get("balances", [])) + [
        {
            "address": address,
            "coins": [{"denom": d, "amount": str(a)} for d, a in sorted(coins.items())],
        }
        for address, coins in sorted(balances.items())
    ]
    staking["validators"] = list(staking.get("validators", [])) + entries
    return app_state


def _check_validator(validator: GenesisValidator, *, min_bond: int, power_reduction: int) -> None:
    validate_moniker(validator.moniker)
    crypto.from_bech32(validator.operator_address)
    if len(validator.consensus_pubkey) != crypto.ED25519_PUBKEY_LENGTH:
        raise GenesisError(f"validator {validator.moniker!r}: consensus key must be 32 bytes")
    if validator.tokens < max(min_bond, power_reduction):
        raise GenesisError(
            f"validator {validator.moniker!r} bonds {validator.tokens}, below the minimum "
            f"self-bond {min_bond} or one unit of power ({power_reduction})"
        )


def genesis_time_now() -> str:
    """The current UTC time in CometBFT's RFC 3339 form (node code: may read the clock)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


def build_genesis(
    *,
    chain_id: str,
    preset: dict[str, Any],
    validators: list[GenesisValidator],
    accounts: list[GenesisAccount],
    genesis_time: str | None = None,
) -> dict[str, Any]:
    """A complete CometBFT genesis document."""
    validate_chain_id(chain_id)
    if not validators:
        raise GenesisError("a chain needs at least one genesis validator")
    return {
        "genesis_time": genesis_time or genesis_time_now(),
        "chain_id": chain_id,
        "initial_height": "1",
        "consensus_params": copy.deepcopy(preset["consensus_params"]),
        "validators": [],  # InitChain returns the validator set computed by the staking module
        "app_hash": "",
        "app_state": build_app_state(preset, validators=validators, accounts=accounts),
    }


def write_genesis(path: Path, genesis: dict[str, Any]) -> None:
    path.write_text(json.dumps(genesis, indent=2) + "\n")
