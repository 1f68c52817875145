"""Pure workers rules: declarations, liveness, span packing, slashing and reputation arithmetic."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

import chain.pb  # noqa: F401

from chain.fixed import ONE, Decimal
from infera.workers.v1 import types_pb2
from modules.workers.errors import (
    ErrInvalidEncryptionKey,
    ErrInvalidEndpoint,
    ErrInvalidHardware,
    ErrInvalidRuntime,
)

DEVICES = ("cpu", "cuda", "mps", "rocm", "xpu")
DTYPES = ("bfloat16", "float16", "float32")
ENCRYPTION_KEY_LENGTH = 32  # X25519 public key
MAX_ENDPOINT = 261  # 253-character DNS name + ":" + 5-digit port + room for IPv6 brackets
MAX_VERSION = 64  # characters of a version string
# fullmatch over ASCII classes (never "$", which accepts a trailing newline, or isdigit).
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PORT = re.compile(r"[1-9][0-9]{0,4}")
_DIGITS = re.compile(r"[0-9]+")
_VERSION = re.compile(r"[\x21-\x7e]+")  # printable ASCII without space

REPUTATION_ONE = 1_000_000  # 1.0 in micro-units
REPUTATION_START = REPUTATION_ONE  # every new operator starts here
REPUTATION_MIN = 100_000  # 0.1
REPUTATION_MAX = 10_000_000  # 10

BONDED = types_pb2.WORKER_STATUS_BONDED
UNBONDING = types_pb2.WORKER_STATUS_UNBONDING


# -- declarations ------------------------------------------------------------------------------


def is_valid_endpoint(endpoint: str) -> bool:
    """``host:port`` with a lower-case DNS name, an IPv4 address or a bracketed IPv6 address,
    and a port in 1..65535 (no scheme, no path)."""
    if not 0 < len(endpoint) <= MAX_ENDPOINT or not endpoint.isascii():
        return False
    host, sep, port = endpoint.rpartition(":")
    if not sep or not _PORT.fullmatch(port) or int(port) > 65535:
        return False
    return _is_valid_host(host)


def _is_valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        return _is_ip(host[1:-1], version=6)
    if _is_ip(host, version=4):
        return True
    labels = host.split(".")
    if len(host) > 253 or all(_DIGITS.fullmatch(label) for label in labels):
        return False  # all-numeric names are malformed IPv4 addresses, not DNS names
    return all(_DNS_LABEL.fullmatch(label) for label in labels)


def _is_ip(text: str, *, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def validate_endpoint(endpoint: str) -> None:
    if not is_valid_endpoint(endpoint):
        raise ErrInvalidEndpoint(f"endpoint {endpoint!r}")


def validate_hardware(hardware: types_pb2.Hardware) -> None:
    if hardware.device not in DEVICES:
        raise ErrInvalidHardware(
            f"device {hardware.device!r}, expected one of {', '.join(DEVICES)}"
        )
    if hardware.memory_bytes <= 0:
        raise ErrInvalidHardware("memory_bytes must be positive")
    if hardware.throughput <= 0:
        raise ErrInvalidHardware("throughput must be a positive number of tokens per second")


def validate_runtime(runtime: types_pb2.Runtime) -> None:
    for name in ("torch_version", "transformers_version"):
        value = getattr(runtime, name)
        if not 0 < len(value) <= MAX_VERSION or not _VERSION.fullmatch(value):
            raise ErrInvalidRuntime(f"{name} {value!r}")
    if runtime.dtype not in DTYPES:
        raise ErrInvalidRuntime(f"dtype {runtime.dtype!r}, expected one of {', '.join(DTYPES)}")


def validate_encryption_key(key: bytes) -> None:
    if len(key) != ENCRYPTION_KEY_LENGTH:
        raise ErrInvalidEncryptionKey(f"got {len(key)} bytes")


# -- liveness ----------------------------------------------------------------------------------


def is_heartbeat_fresh(worker: types_pb2.Worker, height: int, timeout_blocks: int) -> bool:
    """A worker heard from at height h is live up to height h + timeout_blocks inclusive, i.e.
    it turns inactive once ``timeout_blocks`` whole blocks passed without a heartbeat."""
    return height - worker.last_heartbeat_height <= timeout_blocks


def is_active(worker: types_pb2.Worker, params: types_pb2.Params, height: int) -> bool:
    """Routable: bonded, bonded stake at least min_stake, heartbeat fresh."""
    return (
        worker.status == BONDED
        and int(worker.bonded) >= int(params.min_stake)
        and is_heartbeat_fresh(worker, height, params.heartbeat_timeout_blocks)
    )


# -- spans -------------------------------------------------------------------------------------


def is_overlapping(spans: Sequence[types_pb2.Span], model_id: str, start: int, end: int) -> bool:
    """Whether [start, end) of ``model_id`` shares a layer with one of ``spans``."""
    return any(s.model_id == model_id and s.start < end and start < s.end for s in spans)


def compute_used_memory(spans: Sequence[types_pb2.Span], bytes_per_layer: Mapping[str, int]) -> int:
    """Bytes the spans need: sum of (end - start) x the model's bytes per layer."""
    return sum((s.end - s.start) * bytes_per_layer[s.model_id] for s in spans)


def compute_sorted_spans(spans: Sequence[types_pb2.Span]) -> list[types_pb2.Span]:
    """Spans in their stored order: by model id, then start."""
    return sorted(spans, key=lambda s: (s.model_id, s.start, s.end))


# -- stake -------------------------------------------------------------------------------------


def compute_slash_split(bonded: int, unbonding: int, fraction: str) -> tuple[int, int]:
    """(from bonded, from unbonding) for slashing floor((bonded + unbonding) x fraction), taken
    from bonded stake first. ``fraction`` is a decimal string in [0, 1]."""
    rate = Decimal.parse(fraction)
    if rate.raw > ONE:
        raise ValueError(f"slash fraction {fraction!r} exceeds 1")
    amount = rate.mul_int_floor(bonded + unbonding)
    from_bonded = min(amount, bonded)
    return from_bonded, amount - from_bonded


# -- measured speed ----------------------------------------------------------------------------

SPEED_MAX = 1000  # committed in the assigning block
SPEED_EWMA_WEIGHT = 8  # a new sample moves the average by 1/8 of the gap


def compute_speed_sample(blocks_after_assignment: int, commit_window_blocks: int) -> int:
    """0..1000: 1000 - 1000 x blocks / (window + 1) for a commit ``blocks`` blocks after the
    assigning block (a commit in the window's last block still scores above 0)."""
    blocks = max(0, blocks_after_assignment)
    return max(0, SPEED_MAX - SPEED_MAX * blocks // (commit_window_blocks + 1))


def compute_speed(current: int, samples: int, sample: int) -> int:
    """Integer EWMA: the first sample as is, then current + (sample - current) / 8 (floor)."""
    if samples == 0:
        return sample
    return (current * (SPEED_EWMA_WEIGHT - 1) + sample) // SPEED_EWMA_WEIGHT


# -- reputation --------------------------------------------------------------------------------


def compute_reputation(current: int, numerator: int, denominator: int) -> int:
    """clamp(current x numerator // denominator) to [REPUTATION_MIN, REPUTATION_MAX]."""
    if numerator < 0 or denominator <= 0:
        raise ValueError(f"reputation factor {numerator}/{denominator} must be non-negative")
    return max(REPUTATION_MIN, min(REPUTATION_MAX, current * numerator // denominator))
