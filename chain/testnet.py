"""Local multi-validator networks on one host: ``infera testnet``.

``create_testnet`` makes ``OUTPUT/node0 .. node{N-1}``, each a full home with its own ports
(``Ports.from_base``: node i uses base+10i .. base+10i+4 for p2p, RPC, ABCI, gRPC and CometBFT's
Prometheus metrics), every node
wired to all others as persistent peers, one shared genesis with all N validators, and funded
developer accounts (``OUTPUT/dev-accounts.json``, also in every node's keyring).
``OUTPUT/testnet.json`` describes the network.

``run_testnet`` starts every node as its own ``infera start`` process (its own process group,
logs in ``HOME/node.log``) and stops them all on Ctrl-C/SIGTERM; ``stop_testnet`` asks a running
supervisor (or, without one, the nodes) to stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog

from chain.nodeconfig import CONFIG_TOML, DEV_ACCOUNTS, ConfigError, Ports, set_toml_values
from chain.nodeinit import (
    NodeHome,
    import_keys,
    new_dev_accounts,
    prepare_home,
    save_dev_accounts,
    write_network_genesis,
)

log = structlog.get_logger("infera.testnet")

TESTNET_JSON = "testnet.json"
PID_FILE = "testnet.pids.json"
NODE_LOG = "node.log"
STOP_GRACE_SECONDS = 25.0
REPO_ROOT = Path(__file__).resolve().parent.parent


def create_testnet(
    output: Path,
    *,
    validators: int,
    chain_id: str = "infera-testnet",
    preset_name: str = "minimal",
    base_port: int = 26656,
    dev_accounts: int | None = None,
    timeout_commit: str = "300ms",
    beacon: bool = False,
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """Create the homes of an N-validator network in ``output``; returns testnet.json's content."""
    from chain.genesis import load_preset

    if validators < 1:
        raise ConfigError("a testnet needs at least 1 validator")
    if (output / TESTNET_JSON).exists():
        raise ConfigError(f"{output} already holds a testnet ({output / TESTNET_JSON})")
    preset = load_preset(preset_name)
    nodes: list[NodeHome] = []
    for i in range(validators):
        nodes.append(
            prepare_home(
                output / f"node{i}",
                moniker=f"node{i}",
                ports=Ports.from_base(base_port, i, host),
                timeout_commit=timeout_commit,
            )
        )
    for node in nodes:  # node ids exist only after `cometbft init`: wire peers afterwards
        peers = ",".join(
            f"{p.node_id}@{p.ports.host}:{p.ports.p2p}" for p in nodes if p is not node
        )
        set_toml_values(node.home / CONFIG_TOML, {"p2p": {"persistent_peers": peers}})
    count = int(preset["accounts"]["dev_accounts"]) if dev_accounts is None else dev_accounts
    devs = new_dev_accounts(count)
    for node in nodes:
        import_keys(node.home, devs)
    genesis = write_network_genesis(
        chain_id=chain_id, preset_name=preset_name, nodes=nodes, dev_accounts=devs, beacon=beacon
    )
    fee_denom = genesis["app_state"]["auth"]["params"]["fee_denom"]
    save_dev_accounts(
        output / DEV_ACCOUNTS, devs, int(preset["accounts"]["dev_account_balance"]), fee_denom
    )
    description = {
        "chain_id": chain_id,
        "preset": preset_name,
        "nodes": [
            {
                "name": n.moniker,
                "home": str(n.home.resolve()),
                "node_id": n.node_id,
                "operator": n.operator.address,
                "p2p": n.ports.p2p,
                "rpc": n.ports.rpc_url,
                "abci": n.ports.abci,
                "grpc": f"{n.ports.host}:{n.ports.grpc}",
                "prometheus": f"{n.ports.host}:{n.ports.prometheus}",  # CometBFT's /metrics
            }
            for n in nodes
        ],
        "dev_accounts": [k.address for k in devs],
    }
    (output / TESTNET_JSON).write_text(json.dumps(description, indent=2) + "\n")
    return description


def add_full_node(
    output: Path, *, name: str, state_sync: bool = False, base_port: int | None = None
) -> dict[str, Any]:
    """Make ``OUTPUT/NAME``, a non-validator node of the testnet: its genesis, every validator
    as a persistent peer, ports after the validators' (or ``base_port`` .. +4). With
    ``state_sync`` its config.toml joins by state sync (docs/state-sync.md): node0's and node1's
    RPC servers and a trusted height and block hash read from node0, which must be running."""
    from chain.nodeconfig import GENESIS_JSON, configure_state_sync, read_cometbft_config

    description = load_testnet(output)
    validators = description["nodes"]
    index = len(validators) + len(description.get("full_nodes", []))
    host = validators[0]["grpc"].rsplit(":", 1)[0]
    ports = (
        Ports.from_base(validators[0]["p2p"], index, host)
        if base_port is None
        else Ports.from_base(base_port, 0, host)
    )
    first = Path(validators[0]["home"])
    timeout_commit = str(read_cometbft_config(first)["consensus"]["timeout_commit"])
    peers = ",".join(f"{v['node_id']}@{host}:{v['p2p']}" for v in validators)
    trust = _trust_point(validators) if state_sync else None  # before anything is written
    home = output / name
    node = prepare_home(
        home, moniker=name, ports=ports, timeout_commit=timeout_commit, persistent_peers=peers
    )
    (home / GENESIS_JSON).write_bytes((first / GENESIS_JSON).read_bytes())
    entry = {"name": name, "home": str(home.resolve()), "node_id": node.node_id,
             "p2p": ports.p2p, "rpc": ports.rpc_url, "state_sync": state_sync,
             "prometheus": f"{host}:{ports.prometheus}"}  # fmt: skip
    if trust is not None:
        configure_state_sync(
            home,
            rpc_servers=[validators[0]["rpc"], validators[1]["rpc"]],
            trust_height=trust[0],
            trust_hash=trust[1],
        )
        entry.update(trust_height=trust[0], trust_hash=trust[1])
    description.setdefault("full_nodes", []).append(entry)
    (output / TESTNET_JSON).write_text(json.dumps(description, indent=2) + "\n")
    return entry


def _trust_point(validators: list[dict[str, Any]]) -> tuple[int, str]:
    """A recent height and its block hash from node0's RPC (the running network)."""
    from chain.cli.rpc import CometRPC

    if len(validators) < 2:
        raise ConfigError("state sync needs two validators' RPC servers")
    rpc = CometRPC(validators[0]["rpc"], timeout=10)
    height = rpc.height() - 1
    if height < 1:
        raise ConfigError("the testnet has no committed block yet: start it first")
    return height, str(rpc.call("block", height=str(height))["block_id"]["hash"])


def load_testnet(output: Path) -> dict[str, Any]:
    path = output / TESTNET_JSON
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: create the network with `infera testnet`") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def node_command(home: str | Path, log_level: str = "info") -> list[str]:
    """The command line that runs one node (what ``infera start`` runs)."""
    return [
        sys.executable, "-m", "chain.cli.main", "--log-format", "json",
        "--log-level", log_level, "start", "--home", str(home),
    ]  # fmt: skip


def node_env() -> dict[str, str]:
    """The environment for node processes: this checkout importable."""
    path = os.environ.get("PYTHONPATH", "")
    parts = [str(REPO_ROOT)] + [p for p in path.split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(parts)))


def spawn_node(home: str | Path, log_level: str = "info") -> subprocess.Popen[bytes]:
    """Start one node in its own process group, logging to ``HOME/node.log`` (appended)."""
    out = open(Path(home) / NODE_LOG, "ab")  # noqa: SIM115 - owned by the child from here on
    try:
        return subprocess.Popen(
            node_command(home, log_level),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=node_env(),
            start_new_session=True,
        )
    finally:
        out.close()


def stop_process_group(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> int:
    """SIGTERM a node's process group, SIGKILL it after ``grace`` seconds; returns the exit code."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
    _signal_group(process.pid, signal.SIGKILL)  # stragglers (e.g. an orphaned cometbft)
    return int(process.returncode)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_testnet(output: Path, log_level: str = "info") -> int:
    """Run every node of the network until Ctrl-C/SIGTERM, then stop them all."""
    description = load_testnet(output)
    pid_path = output / PID_FILE
    if pid_path.exists() and _alive(json.loads(pid_path.read_text()).get("supervisor", 0)):
        raise ConfigError(f"the testnet in {output} is already running ({pid_path})")
    stop = {"requested": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["requested"] = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for node in description["nodes"]:
            processes[node["name"]] = spawn_node(node["home"], log_level)
            log.info(
                "node started", node=node["name"], rpc=node["rpc"], pid=processes[node["name"]].pid
            )
        pid_path.write_text(
            json.dumps(
                {"supervisor": os.getpid(), "nodes": {n: p.pid for n, p in processes.items()}}
            )
        )
        reported: set[str] = set()
        while not stop["requested"] and len(reported) < len(processes):
            for name, process in processes.items():
                if name not in reported and process.poll() is not None:
                    reported.add(name)
                    log.error("node exited", node=name, exit_code=process.returncode)
            time.sleep(0.2)
    finally:
        log.info("stopping testnet", nodes=len(processes))
        for process in processes.values():
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        codes = {name: stop_process_group(p) for name, p in processes.items()}
        pid_path.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("testnet stopped", exit_codes=codes)
    return 0 if stop["requested"] else 1


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def stop_testnet(output: Path, timeout: float = 60.0) -> bool:
    """Ask the supervisor of ``output`` to stop the network; returns False when none ran."""
    pid_path = output / PID_FILE
    if not pid_path.exists():
        return False
    pids = json.loads(pid_path.read_text())
    supervisor = int(pids.get("supervisor", 0))
    if _alive(supervisor):
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(supervisor) and time.monotonic() < deadline:
            time.sleep(0.2)
    else:  # the supervisor died without cleaning up: stop the nodes directly
        for pid in pids.get("nodes", {}).values():
            _signal_group(int(pid), signal.SIGTERM)
    pid_path.unlink(missing_ok=True)
    return True
