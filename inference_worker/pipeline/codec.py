"""Wire codecs for hidden states passed between hops.

Every payload is a header followed by the data, all little-endian:

    offset  size  field
    0       4     magic b"IFHS"
    4       1     version (1)
    5       1     codec id (1 fp32, 2 fp16, 3 bf16, 4 int8)
    6       1     dtype id of the tensor (1 float32, 2 float16, 3 bfloat16)
    7       1     ndim (1..8)
    8       4*n   dims, u32 each (every dim >= 1)
    then, for int8 only: u16 block size, u8 outliers per block, u8 zero

Lossless codecs (``fp32``, ``fp16``, ``bf16``) send the raw row-major bytes in the codec's dtype:
exact when the tensor already has that dtype (a float32 tensor sent as fp16 is rounded once,
on encode). The ``int8`` codec is blockwise absmax quantization that keeps outliers exact: the
flattened tensor is cut into blocks of ``INT8_BLOCK`` values (the last one zero-padded); in each
block the ``INT8_OUTLIERS`` largest magnitudes are sent exactly in the tensor's dtype with their
positions, and the rest as round(x / scale) in int8 with scale = absmax(rest) / 127. Hidden
states of real LMs carry a few activations ~10^4 times the median; plain absmax int8 would crush
every other value of their block to zero. Its data section is

    scales      f32 x nblocks
    positions   u8  x nblocks x outliers   (ascending within a block, distinct, < block)
    outliers    dtype x nblocks x outliers
    values      i8  x nblocks x block      (in [-127, 127]; 0 at outlier and padding slots)

Encoding is deterministic (stable sort for outlier choice), so replicas that use the same codec
exchange identical bytes. `decode` refuses anything malformed with a CodecError.
"""

from __future__ import annotations

import struct
import sys

import torch

MAGIC = b"IFHS"
VERSION = 1
INT8_BLOCK = 64  # values per quantization block
INT8_OUTLIERS = 4  # values per block kept exactly
MAX_NDIM = 8
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # decode refuses larger payloads unless told otherwise

_CODEC_IDS = {"fp32": 1, "fp16": 2, "bf16": 3, "int8": 4}
_DTYPE_IDS = {torch.float32: 1, torch.float16: 2, torch.bfloat16: 3}
_DTYPES = {v: k for k, v in _DTYPE_IDS.items()}
_RAW_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
CODECS = tuple(_CODEC_IDS)  # names accepted by encode/decode


class CodecError(ValueError):
    """A tensor cannot be encoded, or a payload is malformed, oversized or of the wrong shape."""


def encode(tensor: torch.Tensor, codec: str) -> bytes:
    """Encode a float tensor (any shape, e.g. hidden (batch, seq, hidden)) for the wire."""
    _check_platform()
    if codec not in _CODEC_IDS:
        raise CodecError(f"unknown codec {codec!r}; known: {CODECS}")
    if tensor.dtype not in _DTYPE_IDS:
        raise CodecError(f"cannot encode dtype {tensor.dtype}; floats only")
    if not 1 <= tensor.ndim <= MAX_NDIM or tensor.numel() == 0:
        raise CodecError(f"cannot encode shape {tuple(tensor.shape)}")
    tensor = tensor.detach().to("cpu").contiguous()
    if not bool(torch.isfinite(tensor).all()):
        raise CodecError("cannot encode non-finite values")
    if codec in _RAW_DTYPES:
        data = tensor.to(_RAW_DTYPES[codec])
        return _header(codec, data.dtype, data.shape) + _raw_bytes(data)
    return _header(codec, tensor.dtype, tensor.shape) + _encode_int8(tensor)


def decode(
    payload: bytes,
    codec: str,
    expected_shape: tuple[int, ...] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> torch.Tensor:
    """Decode a payload made by `encode` with the same `codec`; returns a CPU tensor.

    Raises CodecError when the payload is longer than `max_bytes`, was made by another codec,
    has a malformed header, a shape other than `expected_shape`, a data section of the wrong
    length, or invalid or non-finite contents.
    """
    _check_platform()
    if codec not in _CODEC_IDS:
        raise CodecError(f"unknown codec {codec!r}; known: {CODECS}")
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise CodecError(f"payload must be bytes, got {type(payload).__name__}")
    payload = bytes(payload)
    if len(payload) > max_bytes:
        raise CodecError(f"payload of {len(payload)} bytes exceeds max_bytes={max_bytes}")
    dtype, shape, offset = _parse_header(payload, codec)
    if expected_shape is not None and shape != tuple(expected_shape):
        raise CodecError(f"payload shape {shape} differs from expected {tuple(expected_shape)}")
    numel = 1
    for dim in shape:
        numel *= dim
    if codec in _RAW_DTYPES:
        tensor = _decode_raw(payload[offset:], dtype, numel).reshape(shape)
    else:
        tensor = _decode_int8(payload, offset, dtype, numel).reshape(shape)
    if not bool(torch.isfinite(tensor).all()):
        raise CodecError("payload holds non-finite values")
    return tensor


# --- header ----------------------------------------------------------------------------------


def _check_platform() -> None:
    if sys.byteorder != "little":  # raw tensor bytes are written in native order
        raise CodecError("wire codecs need a little-endian host")


def _header(codec: str, dtype: torch.dtype, shape: torch.Size) -> bytes:
    head = MAGIC + struct.pack("<BBBB", VERSION, _CODEC_IDS[codec], _DTYPE_IDS[dtype], len(shape))
    head += struct.pack(f"<{len(shape)}I", *shape)
    if codec == "int8":
        head += struct.pack("<HBB", INT8_BLOCK, INT8_OUTLIERS, 0)
    return head


def _parse_header(payload: bytes, codec: str) -> tuple[torch.dtype, tuple[int, ...], int]:
    """(dtype, shape, offset of the data section)."""
    if len(payload) < 8 or payload[:4] != MAGIC:
        raise CodecError("not a hidden-state payload (bad magic)")
    version, codec_id, dtype_id, ndim = struct.unpack_from("<BBBB", payload, 4)
    if version != VERSION:
        raise CodecError(f"unsupported payload version {version}")
    if codec_id != _CODEC_IDS[codec]:
        raise CodecError(f"payload was encoded with codec id {codec_id}, expected {codec!r}")
    if dtype_id not in _DTYPES:
        raise CodecError(f"unknown dtype id {dtype_id}")
    dtype = _DTYPES[dtype_id]
    if codec in _RAW_DTYPES and dtype != _RAW_DTYPES[codec]:
        raise CodecError(f"{codec} payload declares dtype {dtype}")
    if not 1 <= ndim <= MAX_NDIM:
        raise CodecError(f"ndim {ndim} out of range 1..{MAX_NDIM}")
    offset = 8 + 4 * ndim
    if len(payload) < offset:
        raise CodecError("payload truncated inside the header")
    shape = struct.unpack_from(f"<{ndim}I", payload, 8)
    if min(shape) < 1:
        raise CodecError(f"payload shape {shape} has an empty dimension")
    if codec == "int8":
        if len(payload) < offset + 4:
            raise CodecError("payload truncated inside the header")
        block, outliers, zero = struct.unpack_from("<HBB", payload, offset)
        if (block, outliers, zero) != (INT8_BLOCK, INT8_OUTLIERS, 0):
            raise CodecError(f"int8 parameters {block}/{outliers} differ from this codec's")
        offset += 4
    return dtype, tuple(shape), offset


# --- lossless --------------------------------------------------------------------------------


def _raw_bytes(tensor: torch.Tensor) -> bytes:
    return tensor.contiguous().view(torch.uint8).numpy().tobytes()


def _from_bytes(data: bytes, dtype: torch.dtype) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype)


def _decode_raw(data: bytes, dtype: torch.dtype, numel: int) -> torch.Tensor:
    expected = numel * dtype.itemsize
    if len(data) != expected:
        raise CodecError(f"data section is {len(data)} bytes, shape needs {expected}")
    return _from_bytes(data, dtype)


# --- int8 with exact outliers ----------------------------------------------------------------


def _encode_int8(tensor: torch.Tensor) -> bytes:
    flat = tensor.reshape(-1)  # (n,) in the source dtype
    nblocks = -(-flat.numel() // INT8_BLOCK)
    padded = torch.zeros(nblocks * INT8_BLOCK, dtype=flat.dtype)
    padded[: flat.numel()] = flat
    exact = padded.view(nblocks, INT8_BLOCK)  # (nblocks, block) source dtype
    values = exact.float()  # (nblocks, block) float32
    # Outliers: largest magnitudes, ties broken by position (stable), positions ascending.
    order = values.abs().argsort(dim=1, descending=True, stable=True)
    positions = order[:, :INT8_OUTLIERS].sort(dim=1).values  # (nblocks, outliers)
    outliers = exact.gather(1, positions)  # (nblocks, outliers) source dtype, exact
    rest = values.scatter(1, positions, 0.0)  # (nblocks, block)
    scales = rest.abs().amax(dim=1) / 127.0  # (nblocks,)
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))
    quantized = torch.round(rest / safe[:, None]).clamp(-127, 127).to(torch.int8)
    return b"".join(
        (
            _raw_bytes(scales),
            _raw_bytes(positions.to(torch.uint8)),
            _raw_bytes(outliers),
            _raw_bytes(quantized),
        )
    )


def _decode_int8(payload: bytes, offset: int, dtype: torch.dtype, numel: int) -> torch.Tensor:
    nblocks = -(-numel // INT8_BLOCK)
    sizes = (
        nblocks * 4,  # scales
        nblocks * INT8_OUTLIERS,  # positions
        nblocks * INT8_OUTLIERS * dtype.itemsize,  # outlier values
        nblocks * INT8_BLOCK,  # quantized values
    )
    if len(payload) - offset != sum(sizes):
        raise CodecError(f"data section is {len(payload) - offset} bytes, shape needs {sum(sizes)}")
    sections = []
    for size in sizes:
        sections.append(payload[offset : offset + size])
        offset += size
    scales = _from_bytes(sections[0], torch.float32)  # (nblocks,)
    positions = _from_bytes(sections[1], torch.uint8).view(nblocks, INT8_OUTLIERS).long()
    outliers = _from_bytes(sections[2], dtype).view(nblocks, INT8_OUTLIERS)
    quantized = _from_bytes(sections[3], torch.int8).view(nblocks, INT8_BLOCK)
    _check_int8(scales, positions, quantized, numel)
    values = (quantized.float() * scales[:, None]).to(dtype)  # (nblocks, block)
    values.scatter_(1, positions, outliers)
    return values.reshape(-1)[:numel]


def _check_int8(
    scales: torch.Tensor, positions: torch.Tensor, quantized: torch.Tensor, numel: int
) -> None:
    if not bool((torch.isfinite(scales) & (scales >= 0)).all()):
        raise CodecError("int8 payload has a negative or non-finite scale")
    if bool((positions >= INT8_BLOCK).any()) or bool((positions[:, 1:] <= positions[:, :-1]).any()):
        raise CodecError("int8 outlier positions must be ascending, distinct and inside a block")
    if bool((quantized == -128).any()):
        raise CodecError("int8 payload holds -128, outside the symmetric range")
    if bool(quantized.gather(1, positions).any()) or bool(quantized.reshape(-1)[numel:].any()):
        raise CodecError("int8 payload has values at outlier or padding slots")
