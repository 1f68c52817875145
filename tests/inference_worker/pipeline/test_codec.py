"""Hidden-state wire codecs: round trips and refusal of every malformed payload."""

from __future__ import annotations

import struct

import pytest
import torch

from inference_worker.pipeline.codec import (
    CODECS,
    INT8_BLOCK,
    INT8_OUTLIERS,
    CodecError,
    decode,
    encode,
)

HEADER_3D = 8 + 4 * 3  # magic, version, codec, dtype, ndim, three dims


def hidden(seed: int = 0, shape: tuple[int, ...] = (1, 5, 96), dtype=torch.float32) -> torch.Tensor:
    """Activations with a few huge outliers, like a real LM's residual stream."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    x.view(-1)[::37] *= 3000.0
    return x.to(dtype)


@pytest.mark.parametrize(
    ("codec", "dtype"), [("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)]
)
def test_lossless_codecs_round_trip_exactly_in_their_dtype(codec, dtype):
    x = hidden(dtype=dtype)
    payload = encode(x, codec)
    assert len(payload) == HEADER_3D + x.numel() * x.element_size()
    y = decode(payload, codec, expected_shape=(1, 5, 96))
    assert y.dtype == dtype and torch.equal(x, y)


def test_fp16_codec_rounds_float32_once():
    x = hidden() / 3000  # within fp16 range
    y = decode(encode(x, "fp16"), "fp16")
    assert y.dtype == torch.float16 and torch.equal(y, x.to(torch.float16))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_int8_keeps_outliers_exact_and_bounds_the_rest(dtype):
    x = hidden(1, (2, 7, 100), dtype)  # 1400 values: the last block is padded
    y = decode(encode(x, "int8"), "int8", expected_shape=(2, 7, 100))
    assert y.dtype == dtype and y.shape == x.shape
    flat_x, flat_y = x.reshape(-1).float(), y.reshape(-1).float()
    big = flat_x.abs() > 1000
    assert torch.equal(flat_x[big], flat_y[big])  # every outlier travels exactly
    error = (flat_x - flat_y).abs()[~big]
    assert error.max() < 4.5 / 127 + 0.02  # rest |x| <~ 4.5: half a step, plus dtype rounding


def test_int8_is_much_smaller_than_fp32():
    x = hidden(2, (1, 1, 576))
    assert len(encode(x, "int8")) < 0.4 * len(encode(x, "fp32"))
    nblocks = 576 // INT8_BLOCK
    data = nblocks * (4 + INT8_OUTLIERS * (1 + 4) + INT8_BLOCK)
    assert len(encode(x, "int8")) == 8 + 4 * 3 + 4 + data


def test_int8_handles_all_zero_and_tiny_tensors():
    for x in (torch.zeros(3, 70), torch.tensor([1.5]), torch.tensor([[-2.0, 0.0, 7.0]])):
        assert torch.equal(decode(encode(x, "int8"), "int8"), x)


@pytest.mark.parametrize("codec", CODECS)
def test_encoding_is_deterministic(codec):
    assert encode(hidden(3), codec) == encode(hidden(3).clone(), codec)


# --- encode refusals -------------------------------------------------------------------------


def test_encode_refuses_unknown_codec_and_non_float_or_empty_tensors():
    with pytest.raises(CodecError, match="unknown codec"):
        encode(hidden(), "int4")
    with pytest.raises(CodecError, match="floats only"):
        encode(torch.ones(2, 3, dtype=torch.int64), "fp32")
    with pytest.raises(CodecError, match="cannot encode shape"):
        encode(torch.zeros(0, 4), "fp32")
    with pytest.raises(CodecError, match="cannot encode shape"):
        encode(torch.tensor(1.0), "fp32")


@pytest.mark.parametrize("codec", CODECS)
def test_encode_refuses_non_finite_values(codec):
    x = hidden()
    x[0, 1, 2] = float("nan")
    with pytest.raises(CodecError, match="non-finite"):
        encode(x, codec)


# --- decode refusals -------------------------------------------------------------------------


def patched(payload: bytes, offset: int, new: bytes) -> bytes:
    return payload[:offset] + new + payload[offset + len(new) :]


def test_decode_refuses_unknown_codec_and_non_bytes():
    with pytest.raises(CodecError, match="unknown codec"):
        decode(encode(hidden(), "fp32"), "fp64")
    with pytest.raises(CodecError, match="must be bytes"):
        decode("IFHS", "fp32")  # type: ignore[arg-type]


@pytest.mark.parametrize("codec", CODECS)
def test_decode_refuses_oversized_payloads(codec):
    payload = encode(hidden(), codec)
    with pytest.raises(CodecError, match="exceeds max_bytes"):
        decode(payload, codec, max_bytes=len(payload) - 1)
    decode(payload, codec, max_bytes=len(payload))


@pytest.mark.parametrize("codec", CODECS)
def test_decode_refuses_a_wrong_shape(codec):
    with pytest.raises(CodecError, match="differs from expected"):
        decode(encode(hidden(), codec), codec, expected_shape=(1, 6, 96))


@pytest.mark.parametrize("codec", CODECS)
def test_decode_refuses_truncated_or_padded_data(codec):
    payload = encode(hidden(), codec)
    with pytest.raises(CodecError, match="data section"):
        decode(payload[:-1], codec)
    with pytest.raises(CodecError, match="data section"):
        decode(payload + b"\x00", codec)


def test_decode_refuses_malformed_headers():
    good = encode(hidden(), "fp32")
    cases = [
        (patched(good, 0, b"XXXX"), "bad magic"),
        (patched(good, 4, b"\x02"), "version"),
        (patched(good, 5, b"\x02"), "codec id"),
        (patched(good, 6, b"\x09"), "unknown dtype id"),
        (patched(good, 6, b"\x02"), "declares dtype"),
        (patched(good, 7, b"\x00"), "ndim 0 out of range"),
        (patched(good, 7, b"\x09"), "ndim 9 out of range"),
        (patched(good, 12, struct.pack("<I", 0)), "empty dimension"),
        (good[:14], "truncated inside the header"),
    ]
    for payload, message in cases:
        with pytest.raises(CodecError, match=message):
            decode(payload, "fp32")
    with pytest.raises(CodecError, match="bad magic"):
        decode(b"", "fp32")


def test_decode_refuses_a_payload_of_another_codec():
    with pytest.raises(CodecError, match="expected 'int8'"):
        decode(encode(hidden(), "bf16"), "int8")


def test_decode_refuses_huge_declared_shapes_without_allocating():
    huge = patched(encode(hidden(), "fp32"), 8, struct.pack("<3I", 2**32 - 1, 2**32 - 1, 2**32 - 1))
    with pytest.raises(CodecError, match="data section"):
        decode(huge, "fp32")


@pytest.mark.parametrize("codec", ["fp32", "bf16"])
def test_decode_refuses_non_finite_values(codec):
    payload = bytearray(encode(torch.ones(1, 2, 4), codec))
    inf = struct.pack("<f", float("inf")) if codec == "fp32" else b"\x80\x7f"
    payload[HEADER_3D : HEADER_3D + len(inf)] = inf
    with pytest.raises(CodecError, match="non-finite"):
        decode(bytes(payload), codec)


class Int8Sections:
    """Offsets of the int8 data sections for a (1, 2, 64) float32 tensor: two blocks."""

    shape = (1, 2, 64)
    nblocks = 2
    start = HEADER_3D + 4
    scales = start
    positions = scales + 4 * nblocks
    outliers = positions + INT8_OUTLIERS * nblocks
    values = outliers + 4 * INT8_OUTLIERS * nblocks


def test_decode_refuses_bad_int8_parameters():
    payload = encode(hidden(shape=Int8Sections.shape), "int8")
    with pytest.raises(CodecError, match="int8 parameters"):
        decode(patched(payload, HEADER_3D, struct.pack("<H", 32)), "int8")
    with pytest.raises(CodecError, match="int8 parameters"):
        decode(patched(payload, HEADER_3D + 2, b"\x03"), "int8")


@pytest.mark.parametrize("scale", [-1.0, float("nan"), float("inf")])
def test_decode_refuses_bad_int8_scales(scale):
    payload = encode(hidden(shape=Int8Sections.shape), "int8")
    bad = patched(payload, Int8Sections.scales, struct.pack("<f", scale))
    with pytest.raises(CodecError, match="scale"):
        decode(bad, "int8")


@pytest.mark.parametrize(
    "positions", [b"\x00\x01\x02\x40", b"\x03\x02\x05\x06", b"\x01\x01\x02\x03"]
)
def test_decode_refuses_bad_int8_outlier_positions(positions):
    payload = encode(hidden(shape=Int8Sections.shape), "int8")
    with pytest.raises(CodecError, match="outlier positions"):
        decode(patched(payload, Int8Sections.positions, positions), "int8")


def test_decode_refuses_int8_minus_128_and_values_in_outlier_or_padding_slots():
    x = hidden(shape=Int8Sections.shape)
    payload = encode(x, "int8")
    with pytest.raises(CodecError, match="-128"):
        decode(patched(payload, Int8Sections.values + 3, b"\x80"), "int8")
    first_outlier = payload[Int8Sections.positions]
    with pytest.raises(CodecError, match="outlier or padding"):
        decode(patched(payload, Int8Sections.values + first_outlier, b"\x05"), "int8")
    # (1, 1, 70) is two blocks, 58 padding slots at the end of the second.
    padded = encode(hidden(shape=(1, 1, 70)), "int8")
    with pytest.raises(CodecError, match="outlier or padding"):
        decode(padded[:-1] + b"\x01", "int8")
