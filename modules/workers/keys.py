"""Store keys of the workers module (integers big-endian, so keys sort numerically)."""

import struct

from chain.keys import separator_free

WORKER = b"workers/worker/"  # + operator (20 bytes) -> infera.workers.v1.Worker
SPAN = b"workers/span/"  # + model id + b"/" + operator (20) + u32 start + u32 end -> operator
REPUTATION = b"workers/rep/"  # + operator (20 bytes) -> reputation, micro-units (decimal string)
UNBONDING_QUEUE = b"workers/unbq/"  # + u64 completion height + operator (20) -> operator
BURNED = b"workers/burned"  # -> total stake burned by worker slashes (decimal string)
PARAMS = b"workers/params"  # -> infera.workers.v1.Params

BONDED_POOL = "workers_bonded"  # module account holding bonded worker stake
UNBONDING_POOL = "workers_unbonding"  # module account holding stake that waits out unbonding

OPERATOR_LENGTH = 20
MAX_MODEL_ID_BYTES = 64  # model ids are [a-z0-9._-]{1,64} (models module)
SPAN_TAIL_LENGTH = OPERATOR_LENGTH + 8  # operator + u32 start + u32 end at the end of a span key


def worker_key(operator: bytes) -> bytes:
    return WORKER + operator


def model_spans_prefix(model_id: str) -> bytes:
    """Every span of one model; '/' cannot occur in a model id, so prefixes never collide (an
    id over 64 bytes or holding '/' raises ``ErrInvalidRequest``)."""
    return SPAN + separator_free(model_id, limit=MAX_MODEL_ID_BYTES, what="model id") + b"/"


def span_key(model_id: str, operator: bytes, start: int, end: int) -> bytes:
    return model_spans_prefix(model_id) + operator + struct.pack(">II", start, end)


def parse_span_suffix(suffix: bytes) -> tuple[bytes, int, int]:
    """(operator, start, end) from a span key with its model prefix removed."""
    start, end = struct.unpack(">II", suffix[OPERATOR_LENGTH:])
    return suffix[:OPERATOR_LENGTH], start, end


def reputation_key(operator: bytes) -> bytes:
    return REPUTATION + operator


def unbonding_queue_key(completion_height: int, operator: bytes) -> bytes:
    return UNBONDING_QUEUE + struct.pack(">Q", completion_height) + operator
