"""Creating node home folders: ``infera init`` (one node) and the homes of ``infera testnet``.

A home is made by ``cometbft init`` (keys, default config), then Infera's config tweaks
(``chain.nodeconfig``), an app.toml, an operator key in the keyring and, once every validator of
the network is known, the shared genesis.json.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.genesis import (
    GenesisAccount,
    GenesisValidator,
    build_genesis,
    load_preset,
    validate_chain_id,
    validate_moniker,
    write_genesis,
)
from chain.keyring import KeyInfo, Keyring, key_from_mnemonic, new_mnemonic
from chain.node import find_cometbft
from chain.nodeconfig import (
    DEV_ACCOUNTS,
    GENESIS_JSON,
    PRIV_VALIDATOR_KEY,
    AppConfig,
    ConfigError,
    Ports,
    configure_cometbft,
    consensus_pubkey,
    node_id,
    write_app_config,
)
from modules.beacon import genesis as beacon_genesis
from modules.beacon import logic as beacon_logic

# Domain of the BLS beacon secret derived from the validator's ed25519 seed: the BLS key is a
# function of the node's key file, and nothing derived under another domain equals it.
BEACON_KEY_DOMAIN = b"infera/beacon/v1/from-priv-validator-key"
OPERATOR_KEY = "validator"  # keyring name of a node's validator operator account
DEV_KEY_PREFIX = "dev"  # developer accounts are dev0, dev1, ...


@dataclass(frozen=True)
class NodeHome:
    """A prepared home folder (before genesis)."""

    home: Path
    moniker: str
    ports: Ports
    node_id: str
    consensus_pubkey: bytes  # ed25519
    operator: KeyInfo


def prepare_home(
    home: Path,
    *,
    moniker: str,
    ports: Ports,
    timeout_commit: str,
    persistent_peers: str = "",
    cometbft: str | None = None,
) -> NodeHome:
    """``cometbft init`` plus Infera's config, app.toml and an operator key; no genesis yet."""
    validate_moniker(moniker)
    if (home / GENESIS_JSON).exists():
        raise ConfigError(f"{home} is already initialised ({home / GENESIS_JSON} exists)")
    home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [cometbft or find_cometbft(), "init", "--home", str(home)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ConfigError(f"cometbft init failed: {result.stderr.strip() or result.stdout.strip()}")
    configure_cometbft(
        home,
        moniker=moniker,
        ports=ports,
        timeout_commit=timeout_commit,
        persistent_peers=persistent_peers,
    )
    write_app_config(home, AppConfig(grpc_address=f"{ports.host}:{ports.grpc}"))
    operator = Keyring(home).add(OPERATOR_KEY)
    return NodeHome(
        home=home,
        moniker=moniker,
        ports=ports,
        node_id=node_id(home),
        consensus_pubkey=consensus_pubkey(home),
        operator=operator,
    )


def beacon_secret(home: Path) -> int:
    """The node's BLS beacon secret, derived from HOME/config/priv_validator_key.json.

    KeyGen over sha256(BEACON_KEY_DOMAIN || ed25519 seed) (``beacon.logic.compute_secret``
    adds its own domain too): deterministic, so ``infera init``/``infera testnet`` (which
    write the public key and its proof of possession into genesis) and ``infera start``
    (which signs the shares) derive the same key from the same file, and no secret is
    stored anywhere else. Whoever holds the key file holds both keys, as for CometBFT."""
    path = home / PRIV_VALIDATOR_KEY
    try:
        private = base64.b64decode(json.loads(path.read_text())["priv_key"]["value"], validate=True)
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if len(private) != 64:  # a Go ed25519 private key is seed (32 bytes) || public key
        raise ConfigError(f"{path}: not an ed25519 private key")
    return beacon_logic.compute_secret(BEACON_KEY_DOMAIN + private[:32])


def beacon_keys(nodes: list[NodeHome]) -> list[dict[str, str]]:
    """The genesis ``beacon.keys`` of ``nodes``: consensus key, BLS key, proof of possession."""
    return [beacon_genesis.genesis_entry(n.consensus_pubkey, beacon_secret(n.home)) for n in nodes]


def new_dev_accounts(count: int) -> list[KeyInfo]:
    """``count`` fresh developer keys named dev0, dev1, ... (random mnemonics)."""
    if count < 0:
        raise ConfigError("the number of developer accounts must be >= 0")
    return [key_from_mnemonic(f"{DEV_KEY_PREFIX}{i}", new_mnemonic()) for i in range(count)]


def save_dev_accounts(path: Path, accounts: list[KeyInfo], balance: int, denom: str) -> None:
    """``dev-accounts.json``: name, address, mnemonic and genesis balance (mode 0600)."""
    records = [
        {
            "name": k.name,
            "address": k.address,
            "mnemonic": k.mnemonic,
            "balance": f"{balance}{denom}",
        }
        for k in accounts
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(records, out, indent=2)
        out.write("\n")


def load_dev_accounts(path: Path) -> list[dict[str, str]]:
    """The records saved by ``save_dev_accounts``."""
    try:
        return list(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read developer accounts {path}: {exc}") from None


def import_keys(home: Path, keys: list[KeyInfo]) -> None:
    keyring = Keyring(home)
    for key in keys:
        keyring.store(key)


def write_network_genesis(
    *,
    chain_id: str,
    preset_name: str,
    nodes: list[NodeHome],
    dev_accounts: list[KeyInfo],
    beacon: bool = False,
) -> dict[str, Any]:
    """Build the genesis with every node as a validator and write it into every home.

    ``beacon``: register every validator's BLS key (derived from its key file) so the chain
    runs the randomness beacon from block 1. Off by default for now: it costs each validator
    about 0.5 s of CPU per block (share signing, aggregate pairing check; modules/beacon), which
    a 2-core machine running a 4-validator network cannot keep up with at sub-second blocks."""
    preset = load_preset(preset_name)
    amounts = preset["accounts"]
    bond = int(amounts["validator_bond"])
    accounts = [
        GenesisAccount(n.operator.address, int(amounts["validator_balance"])) for n in nodes
    ]
    accounts += [
        GenesisAccount(k.address, int(amounts["dev_account_balance"])) for k in dev_accounts
    ]
    validators = [
        GenesisValidator(
            moniker=n.moniker,
            operator_address=n.operator.address,
            consensus_pubkey=n.consensus_pubkey,
            tokens=bond,
        )
        for n in nodes
    ]
    genesis = build_genesis(
        chain_id=chain_id, preset=preset, validators=validators, accounts=accounts
    )
    if beacon:  # every genesis validator joins the randomness beacon from block 1
        genesis["app_state"].setdefault("beacon", {})["keys"] = beacon_keys(nodes)
    for node in nodes:
        write_genesis(node.home / GENESIS_JSON, genesis)
    return genesis


def init_node(
    home: Path,
    *,
    chain_id: str,
    moniker: str,
    preset_name: str = "minimal",
    ports: Ports | None = None,
    dev_accounts: int | None = None,
    timeout_commit: str = "300ms",
    beacon: bool = False,
) -> dict[str, Any]:
    """``infera init``: a single-validator chain in ``home``; returns a summary."""
    validate_chain_id(chain_id)
    preset = load_preset(preset_name)
    count = int(preset["accounts"]["dev_accounts"]) if dev_accounts is None else dev_accounts
    node = prepare_home(
        home, moniker=moniker, ports=ports or Ports(), timeout_commit=timeout_commit
    )
    devs = new_dev_accounts(count)
    import_keys(home, devs)
    genesis = write_network_genesis(
        chain_id=chain_id, preset_name=preset_name, nodes=[node], dev_accounts=devs, beacon=beacon
    )
    fee_denom = genesis["app_state"]["auth"]["params"]["fee_denom"]
    balance = int(preset["accounts"]["dev_account_balance"])
    save_dev_accounts(home / DEV_ACCOUNTS, devs, balance, fee_denom)
    return {
        "home": str(home),
        "chain_id": chain_id,
        "moniker": moniker,
        "node_id": node.node_id,
        "operator": node.operator.address,
        "rpc": node.ports.rpc_url,
        "dev_accounts": [k.address for k in devs],
    }
