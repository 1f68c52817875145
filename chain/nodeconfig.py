"""A node's home folder: CometBFT's config.toml tweaks, the app's own app.toml, keys and ids.

Home layout (``infera init``)::

    HOME/config/config.toml          CometBFT settings (ports, timeouts, mempool, peers)
    HOME/config/genesis.json         the chain's genesis (CometBFT format, app_state inside)
    HOME/config/app.toml             Infera node settings (this module: ``AppConfig``)
    HOME/config/priv_validator_key.json, node_key.json   CometBFT keys
    HOME/data/                       CometBFT's block store and state; app.db (the app state);
                                     snapshots/ (state-sync snapshots, chain/snapshots.py)
    HOME/keyring/                    account keys (``chain.keyring``, test backend)
    HOME/dev-accounts.json           mnemonics of the funded developer accounts (mode 0600)

Node-local settings only: nothing here is consensus; validators may differ.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_TOML = "config/config.toml"
APP_TOML = "config/app.toml"
GENESIS_JSON = "config/genesis.json"
PRIV_VALIDATOR_KEY = "config/priv_validator_key.json"
NODE_KEY = "config/node_key.json"
APP_DB = "data/app.db"
SNAPSHOTS = "data/snapshots"  # state-sync snapshots this node made (chain/snapshots.py)
VERDICT_INBOX = "data/verdicts"  # verifier sidecar -> vote extensions (chain/verdict_inbox.py)
DEV_ACCOUNTS = "dev-accounts.json"


class ConfigError(Exception):
    """A home folder is missing, incomplete or holds an invalid setting."""


@dataclass(frozen=True)
class Ports:
    """The TCP ports one node listens on (all on ``host``)."""

    p2p: int = 26656  # CometBFT peer-to-peer
    rpc: int = 26657  # CometBFT JSON-RPC (HTTP and websocket)
    abci: int = 26658  # the app's ABCI socket (CometBFT's proxy_app)
    grpc: int = 9090  # the app's gRPC server (Cosmos SDK convention)
    host: str = "127.0.0.1"
    prometheus: int = 26660  # CometBFT's own Prometheus metrics (config.toml [instrumentation])

    @staticmethod
    def from_base(base: int, index: int, host: str = "127.0.0.1") -> Ports:
        """Ports of testnet node ``index``: ``base + 10*index + {0: p2p, 1: rpc, 2: abci,
        3: grpc, 4: prometheus}``."""
        first = base + 10 * index
        if first < 1024 or first + 4 > 65535:
            raise ConfigError(f"ports {first}..{first + 4} are out of range")
        return Ports(p2p=first, rpc=first + 1, abci=first + 2, grpc=first + 3, host=host,
                     prometheus=first + 4)  # fmt: skip

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc}"


@dataclass(frozen=True)
class AppConfig:
    """``HOME/config/app.toml``: settings of the Python app process (``infera start``)."""

    keep_recent: int = 100  # app-state versions kept for historical queries and proofs (0 = all)
    min_retain_blocks: int = 0  # CometBFT may prune blocks older than this many (0 = keep all)
    max_tx_bytes: int = 1 << 20  # largest tx CheckTx admits to the mempool (bytes; never blocks)
    grpc_enable: bool = True  # serve gRPC (cosmpy's LedgerClient needs it)
    grpc_address: str = "127.0.0.1:9090"  # host:port of the gRPC server
    metrics_enable: bool = False  # serve the app's Prometheus metrics (chain/metrics.py)
    metrics_listen: str = "127.0.0.1:26661"  # host:port (CometBFT's own metrics: 26660)
    snapshot_interval: int = 0  # make a state-sync snapshot every this many heights (0 = none)
    snapshot_keep_recent: int = 2  # snapshots kept on disk (>= 1)
    snapshot_chunk_bytes: int = 4 << 20  # chunk size of the snapshots made (bytes)


APP_TOML_TEMPLATE = """\
# Infera node settings (node-local, not consensus: validators may differ).
# Read by `infera start`. CometBFT's own settings live in config.toml next to this file.

[pruning]
# How many recent versions of the app state stay readable (ABCI queries at a height, Merkle
# proofs). 0 keeps every version forever. The app state itself is always complete.
keep_recent = {keep_recent}

[state]
# Blocks CometBFT may prune: a Commit response tells it to keep this many recent blocks.
# 0 keeps every block (required for nodes that serve historical blocks or state sync).
min_retain_blocks = {min_retain_blocks}

[mempool]
# Largest transaction (bytes) the app admits to this node's mempool (CheckTx, Simulate) and
# puts in the blocks it proposes. It never makes another proposer's block invalid: what a
# block may hold is consensus (the block max_bytes of the consensus params).
max_tx_bytes = {max_tx_bytes}

[grpc]
# The gRPC server (cosmos.auth/bank/tx/base.tendermint and infera.* services) that cosmpy and
# auditors use. Address is host:port.
enable = {grpc_enable}
address = "{grpc_address}"

[metrics]
# The app's Prometheus metrics (height, block time, txs and gas per block, CheckTx rejections,
# job transitions, settlements, slashes; docs/metrics.md) at http://LISTEN/metrics. Node-local
# observation only. CometBFT's own metrics are config.toml's [instrumentation] (port 26660).
enable = {metrics_enable}
listen = "{metrics_listen}"

[state-sync]
# Snapshots of the app state that new nodes restore instead of replaying every block
# (docs/state-sync.md). A snapshot is made every snapshot-interval heights (0: never; this node
# can still restore one) and served to peers; the snapshot-keep-recent newest are kept in
# data/snapshots. Chunk size in bytes (1024 .. 8388608); nodes with the same size make
# identical snapshots, so a joining node can fetch chunks from all of them.
snapshot-interval = {snapshot_interval}
snapshot-keep-recent = {snapshot_keep_recent}
snapshot-chunk-bytes = {snapshot_chunk_bytes}
"""


def write_app_config(home: Path, config: AppConfig) -> None:
    """Write ``HOME/config/app.toml`` with every field commented."""
    text = APP_TOML_TEMPLATE.format(
        keep_recent=config.keep_recent,
        min_retain_blocks=config.min_retain_blocks,
        max_tx_bytes=config.max_tx_bytes,
        grpc_enable=str(config.grpc_enable).lower(),
        grpc_address=config.grpc_address,
        metrics_enable=str(config.metrics_enable).lower(),
        metrics_listen=config.metrics_listen,
        snapshot_interval=config.snapshot_interval,
        snapshot_keep_recent=config.snapshot_keep_recent,
        snapshot_chunk_bytes=config.snapshot_chunk_bytes,
    )
    (home / APP_TOML).write_text(text)


def load_app_config(home: Path) -> AppConfig:
    """Read ``HOME/config/app.toml``; missing fields take their defaults."""
    path = home / APP_TOML
    if not path.is_file():
        return AppConfig()
    try:
        data = tomllib.loads(path.read_text())
        default = AppConfig()
        config = AppConfig(
            keep_recent=int(data.get("pruning", {}).get("keep_recent", default.keep_recent)),
            min_retain_blocks=int(
                data.get("state", {}).get("min_retain_blocks", default.min_retain_blocks)
            ),
            max_tx_bytes=int(data.get("mempool", {}).get("max_tx_bytes", default.max_tx_bytes)),
            grpc_enable=bool(data.get("grpc", {}).get("enable", default.grpc_enable)),
            grpc_address=str(data.get("grpc", {}).get("address", default.grpc_address)),
            metrics_enable=bool(data.get("metrics", {}).get("enable", default.metrics_enable)),
            metrics_listen=str(data.get("metrics", {}).get("listen", default.metrics_listen)),
            **_state_sync_settings(data.get("state-sync", {}), default),
        )
    except (tomllib.TOMLDecodeError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if config.keep_recent < 0 or config.min_retain_blocks < 0 or config.max_tx_bytes <= 0:
        raise ConfigError(f"{path}: keep_recent, min_retain_blocks must be >= 0, max_tx_bytes > 0")
    if config.snapshot_interval < 0 or config.snapshot_keep_recent < 1:
        raise ConfigError(f"{path}: snapshot-interval must be >= 0, snapshot-keep-recent >= 1")
    if not 1 << 10 <= config.snapshot_chunk_bytes <= 8 << 20:
        raise ConfigError(f"{path}: snapshot-chunk-bytes must be in 1024..8388608")
    return config


def _state_sync_settings(section: dict[str, Any], default: AppConfig) -> dict[str, int]:
    """app.toml's ``[state-sync]`` (Cosmos SDK key names) as ``AppConfig`` fields."""
    return {
        "snapshot_interval": int(section.get("snapshot-interval", default.snapshot_interval)),
        "snapshot_keep_recent": int(
            section.get("snapshot-keep-recent", default.snapshot_keep_recent)
        ),
        "snapshot_chunk_bytes": int(
            section.get("snapshot-chunk-bytes", default.snapshot_chunk_bytes)
        ),
    }


# -- CometBFT config.toml -------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a TOML basic string for ASCII text


def set_toml_values(path: Path, updates: dict[str, dict[str, Any]]) -> None:
    """Replace ``key = value`` lines in place, per ``[section]`` ("" = top level).

    A line editor rather than a TOML round trip so that CometBFT's comments survive. Every key must
    already exist in its section (CometBFT writes them all), which also catches typos.
    """
    lines = path.read_text().splitlines()
    pending = {(s, k): v for s, keys in updates.items() for k, v in keys.items()}
    section = ""
    for i, line in enumerate(lines):
        header = re.fullmatch(r"[ \t]*\[([^\]]+)\][ \t]*", line)
        if header:
            section = header.group(1).strip()
            continue
        match = re.match(r"([ \t]*)([A-Za-z0-9_-]+)[ \t]*=", line)
        if match and (section, match.group(2)) in pending:
            key = match.group(2)
            lines[i] = f"{match.group(1)}{key} = {_toml_value(pending.pop((section, key)))}"
    if pending:
        missing = ", ".join(f"[{s}] {k}" for s, k in pending)
        raise ConfigError(f"{path}: keys not found: {missing}")
    path.write_text("\n".join(lines) + "\n")


def configure_cometbft(
    home: Path,
    *,
    moniker: str,
    ports: Ports,
    timeout_commit: str = "300ms",
    persistent_peers: str = "",
    log_level: str = "info",
) -> None:
    """Apply Infera's settings to a fresh ``cometbft init`` config.toml."""
    host = ports.host
    set_toml_values(
        home / CONFIG_TOML,
        {
            "": {
                "proxy_app": f"tcp://{host}:{ports.abci}",
                "moniker": moniker,
                "log_level": log_level,
                "log_format": "json",  # `infera start` re-emits each line through structlog
            },
            "rpc": {
                "laddr": f"tcp://{host}:{ports.rpc}",
                "max_body_bytes": 10_000_000,  # room for batched broadcast_tx calls
                "max_request_batch_size": 1000,  # JSON-RPC calls per batch (CometBFT: 10)
                "timeout_broadcast_tx_commit": "30s",
            },
            "p2p": {
                "laddr": f"tcp://{host}:{ports.p2p}",
                "external_address": f"{host}:{ports.p2p}",
                "persistent_peers": persistent_peers,
                "addr_book_strict": False,  # peers on 127.0.0.1 / private addresses
                "allow_duplicate_ip": True,  # several nodes on one host
                "flush_throttle_timeout": "10ms",  # fast blocks: do not hold messages 100 ms
                "send_rate": 20_480_000,
                "recv_rate": 20_480_000,
            },
            "mempool": {
                "size": 50_000,  # transactions held (1000+ tx/s with room for bursts)
                "cache_size": 100_000,  # recently seen tx hashes (duplicate filter)
                "max_txs_bytes": 1_073_741_824,
            },
            "consensus": {
                "timeout_commit": timeout_commit,
                "timeout_propose": "2s",
                "peer_gossip_sleep_duration": "20ms",
            },
            "tx_index": {"indexer": "kv"},
            # CometBFT's own metrics (consensus, mempool, p2p, ...; docs/metrics.md), node-local.
            # Observation only: the app never reads them, so the app hash cannot depend on them.
            "instrumentation": {
                "prometheus": True,
                "prometheus_listen_addr": f"{host}:{ports.prometheus}",
            },
        },
    )


def configure_state_sync(
    home: Path,
    *,
    rpc_servers: list[str],
    trust_height: int,
    trust_hash: str,
    trust_period: str = "168h0m0s",
    discovery_time: str = "15s",
) -> None:
    """Make a new node join by state sync (config.toml ``[statesync]``): CometBFT's light client
    checks headers from ``rpc_servers`` (two or more) against the block ``trust_height`` whose
    hash is ``trust_hash`` (hex, from a source the operator trusts)."""
    if len(rpc_servers) < 2:
        raise ConfigError("state sync needs at least two RPC servers")
    if trust_height < 1 or not re.fullmatch(r"[0-9A-Fa-f]{64}", trust_hash):
        raise ConfigError("trust height must be >= 1 and trust hash 64 hex digits")
    set_toml_values(
        home / CONFIG_TOML,
        {
            "statesync": {
                "enable": True,
                "rpc_servers": ",".join(rpc_servers),
                "trust_height": trust_height,
                "trust_hash": trust_hash.upper(),
                "trust_period": trust_period,
                "discovery_time": discovery_time,
            }
        },
    )


def read_cometbft_config(home: Path) -> dict[str, Any]:
    """CometBFT's config.toml as a dictionary."""
    path = home / CONFIG_TOML
    if not path.is_file():
        raise ConfigError(f"{path} not found: run `infera init --home {home}` first")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_tcp_address(address: str) -> tuple[str, int]:
    """``tcp://host:port`` (or ``host:port``) -> (host, port)."""
    match = re.fullmatch(r"(?:tcp://)?\[?([^\]]*?)\]?:([0-9]{1,5})", address.strip(" \t"))
    if not match:
        raise ConfigError(f"invalid address {address!r}: expected tcp://host:port")
    return match.group(1) or "0.0.0.0", int(match.group(2))


def consensus_pubkey(home: Path) -> bytes:
    """The node's ed25519 validator public key (32 bytes) from priv_validator_key.json."""
    path = home / PRIV_VALIDATOR_KEY
    try:
        key = json.loads(path.read_text())["pub_key"]
        if key["type"] != "tendermint/PubKeyEd25519":
            raise ConfigError(f"{path}: unsupported key type {key['type']}")
        return base64.b64decode(key["value"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def node_id(home: Path) -> str:
    """CometBFT's node id: hex of the first 20 bytes of sha256(ed25519 node public key)."""
    path = home / NODE_KEY
    try:
        private = base64.b64decode(json.loads(path.read_text())["priv_key"]["value"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    # A Go ed25519 private key is seed (32 bytes) || public key (32 bytes).
    return hashlib.sha256(private[32:]).digest()[:20].hex()
