"""Compile a quantized MLP (QuantMLP) to a circom 2 circuit with the weights as constants.

Public signals (snarkjs order, outputs first): [class, commitment], where commitment =
Poseidon(p0, p1) over the pixels packed 32 per field element (5 bits each). The pixels are the
private witness; the verifying key pins the weights (they are constants of the circuit).

Constraints per part: every pixel is range-checked to 5 bits; each hidden neuron's rescale and
ReLU are ONE 32-bit decomposition of z + 2^31 (the top bit is the sign, bits shift..30 the
rescaled value) and one product; the class is proven a maximum by a 32-bit range check of
best - logit_k for each k. The linear layers cost nothing (constant coefficients).
"""

from __future__ import annotations

from inference_worker.zk.digits import PIXELS, QuantMLP

RANGE_BITS = 32  # |z| < 2^31 for every pre-activation and logit difference (checked below)
PIXEL_BITS = 5  # pixels 0..16 < 32
PACK = 32  # pixels per packed field element (32 x 5 = 160 bits < 254)

_TEMPLATES = """pragma circom 2.0.0;
include "circomlib/poseidon.circom";

// bits of t (t < 2^n); out = the n bits, little-endian.
template Bits(n) {
    signal input t;
    signal output b[n];
    var acc = 0;
    for (var k = 0; k < n; k++) {
        b[k] <-- (t >> k) & 1;
        b[k] * (b[k] - 1) === 0;
        acc += b[k] * (1 << k);
    }
    acc === t;
}

// relu(z) >> s with one range check: z + 2^31 = bits, sign = bit 31.
template RescaleRelu(s) {
    signal input z;
    signal output q;
    component bits = Bits(32);
    bits.t <== z + (1 << 31);
    var mag = 0;
    for (var k = s; k < 31; k++) { mag += bits.b[k] * (1 << (k - s)); }
    q <== bits.b[31] * mag;
}

template IsZero() {
    signal input v;
    signal output out;
    signal inv;
    inv <-- v != 0 ? 1 / v : 0;
    out <== 1 - v * inv;
    v * out === 0;
}
"""


def _dot(weights: list[int], signals: str, bias: int) -> str:
    terms = [f"({w})*{signals}[{i}]" for i, w in enumerate(weights) if w]
    return " + ".join(terms + [f"({bias})"])


def compile_mlp(q: QuantMLP) -> str:
    """The circom source of ``q`` (deterministic: the same network gives the same source)."""
    hidden, classes = len(q.w1), len(q.w2)
    bound = max(sum(abs(w) for w in row) * 16 + abs(b) for row, b in zip(q.w1, q.b1, strict=True))
    hmax = (bound >> q.shift) + 1
    lbound = max(
        sum(abs(w) for w in row) * hmax + abs(b) for row, b in zip(q.w2, q.b2, strict=True)
    )
    if bound >= 2**31 or 2 * lbound >= 2**31:
        raise ValueError("network too large for 32-bit range checks")
    lines = [_TEMPLATES, "template Mlp() {", f"    signal input x[{PIXELS}];"]
    lines += ["    signal output cls;", "    signal output commitment;"]
    lines += input_commitment_lines()
    lines += [f"    component act[{hidden}];", f"    signal a[{hidden}];"]
    for j in range(hidden):
        lines.append(f"    act[{j}] = RescaleRelu({q.shift});")
        lines.append(f"    act[{j}].z <== {_dot(q.w1[j], 'x', q.b1[j])};")
        lines.append(f"    a[{j}] <== act[{j}].q;")
    lines.append(f"    signal logit[{classes}];")
    for k in range(classes):
        lines.append(f"    logit[{k}] <== {_dot(q.w2[k], 'a', q.b2[k])};")
    lines += argmax_lines(classes)
    lines += ["}", "component main = Mlp();", ""]
    return "\n".join(lines)


def input_commitment_lines() -> list[str]:
    """Range-check the 64 pixels (5 bits) and set ``commitment`` = Poseidon of the packed pixels."""
    lines = [f"    component px[{PIXELS}];", f"    var packed[{PIXELS // PACK}];"]
    lines += [f"    for (var i = 0; i < {PIXELS // PACK}; i++) {{ packed[i] = 0; }}"]
    lines += [f"    for (var i = 0; i < {PIXELS}; i++) {{"]
    lines += [f"        px[i] = Bits({PIXEL_BITS}); px[i].t <== x[i];"]
    lines += [
        f"        packed[i \\ {PACK}] += x[i] * (1 << ({PIXEL_BITS} * (i % {PACK})));",
        "    }",
    ]
    lines += [f"    component h = Poseidon({PIXELS // PACK});"]
    lines += [f"    for (var i = 0; i < {PIXELS // PACK}; i++) {{ h.inputs[i] <== packed[i]; }}"]
    lines += ["    commitment <== h.out;"]
    return lines


def argmax_lines(classes: int) -> list[str]:
    """``cls`` proven a maximum of ``logit[0..classes)`` (32-bit range checks)."""
    return [
        "    var best = 0;",
        f"    for (var k = 1; k < {classes}; k++) {{ if (logit[k] > logit[best]) {{ best = k; }} }}",
        "    cls <-- best;",
        f"    component eq[{classes}];",
        f"    signal pick[{classes}];",
        "    var one = 0;",
        "    var chosen = 0;",
        f"    for (var k = 0; k < {classes}; k++) {{",
        "        eq[k] = IsZero(); eq[k].v <== cls - k;",
        "        pick[k] <== eq[k].out * logit[k];",
        "        one += eq[k].out; chosen += pick[k];",
        "    }",
        "    one === 1;",
        f"    component ge[{classes}];",
        f"    for (var k = 0; k < {classes}; k++) {{ ge[k] = Bits({RANGE_BITS}); ge[k].t <== chosen - logit[k]; }}",
    ]


def witness_input(pixels: list[int]) -> dict[str, list[str]]:
    """snarkjs input.json for one image."""
    return {"x": [str(v) for v in pixels]}
