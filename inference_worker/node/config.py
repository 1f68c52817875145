"""worker.toml: everything an inference worker needs to know, every field with its unit.

Example (relative paths are relative to the file's folder)::

    key = "worker1"                       # keyring name of the operator account
    keyring_home = "~/.infera"            # folder holding keyring/ (`infera keys add`)
    node_rpc = "http://127.0.0.1:26657"   # CometBFT RPC (websocket events, block results)
    node_grpc = "127.0.0.1:9090"          # the node's gRPC (queries and transactions)
    listen = "0.0.0.0:7070"               # where this worker serves the Pipeline service
    endpoint = "203.0.113.7:7070"         # what the chain registers (default: listen)
    state_dir = "worker-state"            # commit state and last seen height

    [[models]]
    id = "smollm2-135m-instruct"          # registered model id
    path = "models/smollm2"               # prepared folder (inference_worker.models)
    spans = [[0, 10]]                     # layer spans [start, end) served

    [metrics]                             # Prometheus metrics (docs/metrics.md); optional
    enable = true                         # default false
    listen = "127.0.0.1:7071"             # host:port of GET /metrics ([::1]:port for IPv6)

Everything else has a default (`WorkerConfig`). `load_config` checks types and values and says
which field is wrong.

Test-only: an ``[adversary]`` table makes the worker cheat (`inference_worker.verify.adversary`; the
compute attack is served for every span, the protocol attack changes commit and reveal)::

    [adversary]                           # refused unless INFERA_UNSAFE_ADVERSARY=1 is set
    compute = { mode = "skip_layer" }     # honest, skip_layer, scale, noise, wrong_model
    protocol = { mode = "never_reveal" }  # honest, copy_reveal, never_reveal, reveal_late, collude

The environment switch keeps a worker.toml copied from a test network from turning a real
worker into a cheater: the table alone is an error.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference_worker.pipeline.codec import CODECS

if TYPE_CHECKING:  # adversary.py imports torch; config.py is read before torch is needed
    from inference_worker.verify.adversary import AdversaryConfig

DTYPES = ("float32", "float16", "bfloat16")
DEVICES = ("cpu", "cuda", "rocm", "mps", "xpu")
UNSAFE_ADVERSARY_ENV = "INFERA_UNSAFE_ADVERSARY"  # "1" allows [adversary]; tests only


class ConfigError(ValueError):
    """worker.toml is missing a field, has an unknown one, or a value out of range."""


@dataclass(frozen=True)
class ModelConfig:
    """One model this worker serves."""

    id: str  # registered model id on chain
    path: Path  # prepared model folder (config.json, model.safetensors, manifest.json)
    spans: tuple[tuple[int, int], ...]  # layer spans [start, end) served, disjoint


@dataclass(frozen=True)
class MetricsConfig:
    """worker.toml's ``[metrics]``: the worker's Prometheus endpoint (inference_worker/metrics.py)."""

    enable: bool = False  # serve GET /metrics (off: no port taken; several workers on one host)
    listen: str = "127.0.0.1:7071"  # host:port; no authentication, keep it node-local


@dataclass(frozen=True)
class WorkerConfig:
    """A worker's configuration; units in the comments."""

    models: tuple[ModelConfig, ...]  # what to serve (at least one span)
    # --- identity: the operator account that registers, stakes, commits and reveals
    key: str = ""  # keyring name of the operator key (with keyring_home)
    keyring_home: Path = Path("~/.infera")  # folder whose keyring/ holds `key`
    mnemonic_file: Path | None = None  # alternative to `key`: a file holding the BIP-39 words
    # --- the node this worker talks to
    node_rpc: str = "http://127.0.0.1:26657"  # CometBFT RPC URL (websocket /subscribe, results)
    node_grpc: str = "127.0.0.1:9090"  # node gRPC host:port (queries, transactions via the SDK)
    chain_id: str = ""  # expected chain id; empty: take the node's
    gas_price: str = "0.025"  # uinfera per gas unit offered for this worker's transactions
    # --- the activation service
    listen: str = "0.0.0.0:7070"  # host:port the Pipeline gRPC service binds
    endpoint: str = ""  # host:port registered on chain for other hops; empty: `listen`
    # --- compute
    device: str = "cpu"  # torch device of the shards: cpu, cuda, rocm, mps, xpu
    dtype: str = "float32"  # compute dtype: float32, float16, bfloat16 (also declared on chain)
    threads: int = 0  # torch intra-op threads; 0: torch's default (one per core)
    codec: str = "fp32"  # wire codec of routes this worker drives (same for every replica)
    # acceleration of the sessions this worker serves, hop by hop (inference_worker.accel.hop):
    # "plain" (today's path), "auto" (the MetaInf learner per session) or
    # "fixed:<method>[/t<threads>]"; lossy methods and the static cache refuse to start
    acceleration: str = "plain"
    # --- registration (done once, when the operator has no worker yet)
    stake: int = 1_000_000  # uinfera bonded at registration (at least the chain's min_stake)
    memory_bytes: int = 0  # memory declared for served layers, bytes; 0: what the spans need x2
    throughput: int = 10  # declared decode throughput, tokens per second (weights routing)
    # --- liveness and timing
    heartbeat_every_blocks: int = 20  # blocks between heartbeats (below the chain's timeout)
    progress_timeout_s: float = 30.0  # stall timeout of the hop before the last one, seconds
    rejoin_timeout_s: float = 30.0  # how long a driven route waits for a failed hop to come
    # back at its own endpoint (a restarted process), seconds; 0: give up at once
    replace_with_other_workers: bool = False  # also try other operators' spans as replacements
    # (they compute the same output, but the chain credits only a route's own hops)
    # --- limits of the Pipeline service
    max_frame_bytes: int = 32 * 1024 * 1024  # hidden-state bytes accepted in one frame
    max_sessions: int = 64  # sessions held at once
    session_idle_timeout_s: float = 300.0  # seconds without traffic before a session is dropped
    # --- local state
    state_dir: Path = Path("worker-state")  # commit records and the last seen height
    # --- observation ([metrics] table)
    metrics: MetricsConfig = MetricsConfig()  # Prometheus endpoint; off by default
    # --- test-only misbehaviour ([adversary]; needs INFERA_UNSAFE_ADVERSARY=1)
    adversary: AdversaryConfig | None = None  # None: an honest worker

    @property
    def advertised_endpoint(self) -> str:
        return self.endpoint or self.listen


_PATHS = {"keyring_home", "mnemonic_file", "state_dir"}


def load_config(path: Path | str) -> WorkerConfig:
    """Read and check a worker.toml; relative paths resolve against its folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    return parse_config(data, base=path.parent)


def parse_config(data: dict[str, Any], *, base: Path) -> WorkerConfig:
    """A checked WorkerConfig from parsed TOML."""
    known = {f.name: f for f in fields(WorkerConfig)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown field(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name == "models":
            values[name] = tuple(_model(i, m, base) for i, m in enumerate(_list(name, value)))
        elif name == "adversary":
            values[name] = _adversary(value, base)
        elif name == "metrics":
            values[name] = _metrics(value)
        elif name in _PATHS:
            values[name] = _path(base, _typed(name, value, str))
        else:
            default = known[name].default
            values[name] = _typed(name, value, type(default))
    if "models" not in values or not values["models"]:
        raise ConfigError("models: serve at least one model span ([[models]])")
    config = WorkerConfig(**values)
    _check(config)
    return config


def _check(config: WorkerConfig) -> None:
    if not config.key and config.mnemonic_file is None:
        raise ConfigError("key or mnemonic_file: name the operator key")
    if config.dtype not in DTYPES:
        raise ConfigError(f"dtype: one of {DTYPES}, got {config.dtype!r}")
    if config.device not in DEVICES:
        raise ConfigError(f"device: one of {DEVICES}, got {config.device!r}")
    if config.codec not in CODECS:
        raise ConfigError(f"codec: one of {CODECS}, got {config.codec!r}")
    if config.acceleration != "plain":  # the check imports torch: only when it is asked for
        from inference_worker.accel.methods import AccelError
        from inference_worker.accel.select import check_acceleration

        try:
            check_acceleration(config.acceleration)
        except AccelError as err:
            raise ConfigError(f"acceleration: {err}") from None
    for name in ("listen", "node_grpc"):
        host, _, port = getattr(config, name).rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{name}: host:port, got {getattr(config, name)!r}")
    positive = ("stake", "throughput", "heartbeat_every_blocks", "max_frame_bytes")
    for name in (*positive, "max_sessions", "progress_timeout_s", "session_idle_timeout_s"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name}: must be positive")
    if config.threads < 0 or config.memory_bytes < 0 or config.rejoin_timeout_s < 0:
        raise ConfigError("threads, memory_bytes and rejoin_timeout_s must not be negative")


def _model(index: int, raw: Any, base: Path) -> ModelConfig:
    where = f"models[{index}]"
    if not isinstance(raw, dict) or set(raw) != {"id", "path", "spans"}:
        raise ConfigError(f"{where}: a table with exactly id, path and spans")
    spans = []
    for span in _list(f"{where}.spans", raw["spans"]):
        ok = isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
        if not ok or not 0 <= span[0] < span[1]:
            raise ConfigError(f"{where}.spans: [start, end] pairs with 0 <= start < end")
        spans.append((span[0], span[1]))
    ordered = sorted(spans)
    if any(a[1] > b[0] for a, b in zip(ordered, ordered[1:], strict=False)):
        raise ConfigError(f"{where}.spans: spans of one model must not overlap")
    if not spans:
        raise ConfigError(f"{where}.spans: at least one span")
    model_id = _typed(f"{where}.id", raw["id"], str)
    return ModelConfig(
        model_id, _path(base, _typed(f"{where}.path", raw["path"], str)), tuple(spans)
    )


def _metrics(raw: Any) -> MetricsConfig:
    """The [metrics] table: enable (bool) and listen (host:port, checked here)."""
    from chain.metrics import MetricsError, parse_listen

    if not isinstance(raw, dict) or not set(raw) <= {"enable", "listen"}:
        raise ConfigError("metrics: a table with enable and/or listen")
    default = MetricsConfig()
    config = MetricsConfig(
        enable=_typed("metrics.enable", raw.get("enable", default.enable), bool),
        listen=_typed("metrics.listen", raw.get("listen", default.listen), str),
    )
    try:
        parse_listen(config.listen)
    except MetricsError as err:
        raise ConfigError(f"metrics.listen: {err}") from None
    return config


def _adversary(raw: Any, base: Path) -> AdversaryConfig:
    """The [adversary] table, refused unless the unsafe switch is set in the environment."""
    if os.environ.get(UNSAFE_ADVERSARY_ENV) != "1":
        raise ConfigError(
            f"adversary: a cheating worker, for tests only; refused unless {UNSAFE_ADVERSARY_ENV}=1"
        )
    if not isinstance(raw, dict) or not set(raw) <= {"compute", "protocol"}:
        raise ConfigError("adversary: a table with compute and/or protocol tables")
    from inference_worker.verify.adversary import AdversaryConfig, ComputeMode

    try:
        config = AdversaryConfig.from_dict(raw)
    except (TypeError, ValueError) as err:  # unknown mode or field
        raise ConfigError(f"adversary: {err}") from None
    compute = config.compute
    if compute.mode is ComputeMode.WRONG_MODEL and not compute.impostor_dir:
        raise ConfigError("adversary.compute: wrong_model needs impostor_dir")
    if compute.impostor_dir:  # relative to worker.toml, like every other path
        impostor = str(_path(base, compute.impostor_dir))
        config = replace(config, compute=replace(compute, impostor_dir=impostor))
    return config


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{name}: expected a list")
    return value


def _typed(name: str, value: Any, kind: type) -> Any:
    if kind is float and type(value) is int:
        return float(value)
    if kind is type(None):  # optional fields are paths, handled above
        kind = str
    if type(value) is not kind:
        raise ConfigError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _path(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path
