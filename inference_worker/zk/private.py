"""The digits CNN with PRIVATE weights and a public Poseidon commitment to them.

The circuit depends on the architecture only (channels, the rescale shift), not on the weights:
the weights are private signals, range-checked (int8 weights, 24-bit signed biases) and packed
into field elements whose Poseidon hash is a public output. An owner keeps its weights secret
and registers the commitment with the key (modules/zk: ``weights_commitment``); the chain then
takes only proofs that show it (public input -2), so the key alone no longer pins the model.

Public signals (snarkjs order, outputs first): [class, weights commitment, input commitment].

Packing: weights u = w + 128 (8 bits), 31 per field element (248 bits < 254); biases
u = b + 2^23 (24 bits), 10 per element. Elements in order: kernels (channel-major), then the
dense weights (row-major), then kernel biases and dense biases. The commitment is
Poseidon(Poseidon(e_0..e_15), e_16..) (a chain of Poseidon calls of at most 16 inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

from inference_worker.zk import circuit, digits
from inference_worker.zk.circuit import PIXELS

WEIGHT_BITS = 8  # int8: u = w + 128
BIAS_BITS = 24  # |b| < 2^23: u = b + 2^23
WEIGHTS_PER_ELEMENT = 31  # 31 x 8 = 248 bits
BIASES_PER_ELEMENT = 10  # 10 x 24 = 240 bits
POSEIDON_MAX = 16  # circomlib's Poseidon takes at most 16 inputs


UNPACK = """
// n bits hinted from t (not tied to t: the bits are the value).
template Unpack(n) {
    signal input t;
    signal output b[n];
    for (var k = 0; k < n; k++) {
        b[k] <-- (t >> k) & 1;
        b[k] * (b[k] - 1) === 0;
    }
}
"""


@dataclass(frozen=True)
class PrivateCnn:
    """The quantized CNN as the private circuit's witness: kernels (C, 9), kernel biases (C,),
    dense (10, 36 C), dense biases (10,), and the public shift."""

    kernels: list[list[int]]
    kernel_bias: list[int]
    w2: list[list[int]]
    b2: list[int]
    shift: int

    @property
    def channels(self) -> int:
        return len(self.kernels)


def from_quantized(q: digits.QuantMLP) -> PrivateCnn:
    """Recover the kernels from `digits.quantize_cnn`'s expanded first layer."""
    per = digits.OUT_SIDE * digits.OUT_SIDE
    channels = len(q.w1) // per
    k = digits.KERNEL
    kernels = [[q.w1[c * per][di * digits.SIDE + dj] for di in range(k) for dj in range(k)]
               for c in range(channels)]  # fmt: skip
    return PrivateCnn(kernels=kernels, kernel_bias=[q.b1[c * per] for c in range(channels)],
                      w2=q.w2, b2=q.b2, shift=q.shift)  # fmt: skip


def check_fits(model: PrivateCnn) -> None:
    """ValueError unless every weight is int8 and every bias fits 24 signed bits (what the
    circuit range-checks), and pre-activations and logit differences stay below 2^31."""
    weights = [w for row in model.kernels + model.w2 for w in row]
    if any(not -128 <= w <= 127 for w in weights):
        raise ValueError("weights must be int8")
    if any(not -(2**23) <= b < 2**23 for b in model.kernel_bias + model.b2):
        raise ValueError("biases must fit 24 signed bits")
    zmax = max(sum(abs(w) for w in row) * 16 + abs(b)
               for row, b in zip(model.kernels, model.kernel_bias, strict=True))  # fmt: skip
    hmax = (zmax >> model.shift) + 1
    lmax = max(sum(abs(w) for w in row) * hmax + abs(b)
               for row, b in zip(model.w2, model.b2, strict=True))  # fmt: skip
    if zmax >= 2**31 or 2 * lmax >= 2**31:
        raise ValueError("network too large for 32-bit range checks")


def compile_private_cnn(channels: int, shift: int) -> str:
    """The circom source for ``channels`` 3x3 kernels and ``shift`` (no weights in it)."""
    side, k, out = digits.SIDE, digits.KERNEL, digits.OUT_SIDE
    hidden, classes = channels * out * out, digits.CLASSES
    n_weights = channels * k * k + classes * hidden
    n_biases = channels + classes
    w_elems = -(-n_weights // WEIGHTS_PER_ELEMENT)
    elems = w_elems + -(-n_biases // BIASES_PER_ELEMENT)
    lines = [
        circuit._TEMPLATES,
        UNPACK,
        "template PrivateCnn() {",
        f"    signal input x[{PIXELS}];",
    ]
    lines += [f"    signal input kw[{channels}][{k * k}];", f"    signal input kb[{channels}];"]
    lines += [f"    signal input w[{classes}][{hidden}];", f"    signal input b[{classes}];"]
    lines += [
        "    signal output cls;",
        "    signal output wcommit;",
        "    signal output commitment;",
    ]
    lines += circuit.input_commitment_lines()
    # range checks and packing of the private parameters
    params = [f"kw[{c}][{m}]" for c in range(channels) for m in range(k * k)]
    params += [f"w[{o}][{n}]" for o in range(classes) for n in range(hidden)]
    biases = [f"kb[{c}]" for c in range(channels)] + [f"b[{o}]" for o in range(classes)]
    lines += [f"    component rw[{n_weights}];", f"    component rb[{n_biases}];"]
    lines += [f"    var e[{elems}];", f"    for (var i = 0; i < {elems}; i++) {{ e[i] = 0; }}"]
    # A weight IS its 8 bits (minus 128): the bits are the witness (Unpack: boolean checks
    # only), the input signal merely hints them, and every use below reads the bits' value, so
    # no constraint ties bits to a separate signal (saves one constraint per weight).
    value = {}
    for i, name in enumerate(params):
        lines.append(f"    rw[{i}] = Unpack({WEIGHT_BITS}); rw[{i}].t <-- {name} + 128;")
        bits = " + ".join(f"rw[{i}].b[{j}] * {1 << j}" for j in range(WEIGHT_BITS))
        value[name] = f"({bits} - 128)"
        shift_bits = WEIGHT_BITS * (i % WEIGHTS_PER_ELEMENT)
        lines.append(
            f"    e[{i // WEIGHTS_PER_ELEMENT}] += ({value[name]} + 128) * (1 << {shift_bits});"
        )
    for i, name in enumerate(biases):
        lines.append(
            f"    rb[{i}] = Bits({BIAS_BITS}); rb[{i}].t <== {name} + {2 ** (BIAS_BITS - 1)};"
        )
        slot, offset = w_elems + i // BIASES_PER_ELEMENT, BIAS_BITS * (i % BIASES_PER_ELEMENT)
        lines.append(f"    e[{slot}] += ({name} + {2 ** (BIAS_BITS - 1)}) * (1 << {offset});")
    lines += _poseidon_chain(elems)
    # conv 3x3 + rescale/ReLU, then the dense layer: products of private signals
    lines += [f"    signal prod[{hidden}][{k * k}];", f"    component act[{hidden}];"]
    lines += [f"    signal a[{hidden}];"]
    for c in range(channels):
        for i in range(out):
            for j in range(out):
                n = (c * out + i) * out + j
                terms = []
                for m in range(k * k):
                    pixel = (i + m // k) * side + (j + m % k)
                    weight = value[f"kw[{c}][{m}]"]
                    lines.append(f"    prod[{n}][{m}] <== {weight} * x[{pixel}];")
                    terms.append(f"prod[{n}][{m}]")
                lines.append(f"    act[{n}] = RescaleRelu({shift});")
                lines.append(f"    act[{n}].z <== {' + '.join(terms)} + kb[{c}];")
                lines.append(f"    a[{n}] <== act[{n}].q;")
    lines += [f"    signal pd[{classes}][{hidden}];", f"    signal logit[{classes}];"]
    for o in range(classes):
        for n in range(hidden):
            lines.append(f"    pd[{o}][{n}] <== {value[f'w[{o}][{n}]']} * a[{n}];")
        dense_sum = " + ".join(f"pd[{o}][{n}]" for n in range(hidden))
        lines.append(f"    logit[{o}] <== {dense_sum} + b[{o}];")
    lines += circuit.argmax_lines(classes)
    lines += ["}", "component main = PrivateCnn();", ""]
    return "\n".join(lines)


def _poseidon_chain(elems: int) -> list[str]:
    """wcommit = Poseidon(Poseidon(e_0..e_15), e_16..e_30) ... over ``elems`` elements."""
    lines, start, previous, index = [], 0, "", 0
    while start < elems:
        room = POSEIDON_MAX - (1 if previous else 0)
        chunk = list(range(start, min(start + room, elems)))
        inputs = ([previous] if previous else []) + [f"e[{i}]" for i in chunk]
        lines.append(f"    component wh{index} = Poseidon({len(inputs)});")
        lines += [f"    wh{index}.inputs[{t}] <== {v};" for t, v in enumerate(inputs)]
        previous, start, index = f"wh{index}.out", start + len(chunk), index + 1
    lines.append(f"    wcommit <== {previous};")
    return lines


def witness_input(model: PrivateCnn, pixels: list[int]) -> dict[str, object]:
    """snarkjs input.json: the image and the private weights (decimal strings)."""
    return {
        "x": [str(v) for v in pixels],
        "kw": [[str(v) for v in row] for row in model.kernels],
        "kb": [str(v) for v in model.kernel_bias],
        "w": [[str(v) for v in row] for row in model.w2],
        "b": [str(v) for v in model.b2],
    }
