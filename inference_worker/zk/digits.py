"""The 64-32-10 MLP on scikit-learn's 8x8 digits: data, float training and fixed-point quantization.

scikit-learn ships the dataset (sklearn/datasets/data/digits.csv.gz). The CSV is read without
importing scikit-learn (whose import needs scipy), from any installed copy of the package.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HIDDEN = 32
CLASSES = 10
PIXELS = 64
WEIGHT_MAX = 127  # quantized weights are int8
HIDDEN_MAX = 255  # hidden activations after rescale+ReLU fit 8 bits (over the training set)
PIXEL_CHARS = "0123456789abcdefg"  # one character per pixel value 0..16 (a job's payload)
PAYLOAD = re.compile(r"[0-9a-g]{64}")  # an encoded image (fullmatch)


def _digits_csv() -> Path:
    spec = importlib.util.find_spec("sklearn")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    extra = os.environ.get("INFERA_SKLEARN_PATH")  # a folder holding sklearn/ (no import needed)
    if extra:
        roots.append(Path(extra) / "sklearn")
    for root in roots:
        path = root / "datasets" / "data" / "digits.csv.gz"
        if path.exists():
            return path
    raise FileNotFoundError("scikit-learn's digits.csv.gz not found (pip install scikit-learn)")


def is_available() -> bool:
    try:
        _digits_csv()
    except FileNotFoundError:
        return False
    return True


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (1797, 64) int64 in 0..16, labels (1797,) int64)."""
    with gzip.open(_digits_csv(), "rt") as f:
        data = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return data[:, :-1], data[:, -1]


def encode_pixels(pixels: list[int]) -> str:
    """An image as 64 characters, one per pixel (0..16 -> "0".."g")."""
    if len(pixels) != PIXELS or any(not 0 <= v <= 16 for v in pixels):
        raise ValueError("an image is 64 pixels in 0..16")
    return "".join(PIXEL_CHARS[v] for v in pixels)


def decode_pixels(text: str) -> list[int]:
    """The inverse of `encode_pixels`; ValueError unless exactly 64 characters of 0-9a-g."""
    if PAYLOAD.fullmatch(text) is None:
        raise ValueError("not 64 pixel characters [0-9a-g]")
    return [PIXEL_CHARS.index(c) for c in text]


def split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """A fixed 80/20 split (every fifth sample is a test sample)."""
    test = np.arange(len(y)) % 5 == 0
    return x[~test], y[~test], x[test], y[test]


@dataclass(frozen=True)
class FloatMLP:
    w1: np.ndarray  # (32, 64), applied to pixels / 16
    b1: np.ndarray  # (32,)
    w2: np.ndarray  # (10, 32)
    b2: np.ndarray  # (10,)

    def predict(self, x: np.ndarray) -> np.ndarray:
        h = np.maximum(x / 16.0 @ self.w1.T + self.b1, 0.0)
        return np.argmax(h @ self.w2.T + self.b2, axis=1)


def train(x: np.ndarray, y: np.ndarray, seed: int = 0, epochs: int = 300) -> FloatMLP:
    """Full-batch Adam on cross-entropy; deterministic for a seed (torch, one thread)."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(PIXELS, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES)
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    w = [p.detach().numpy().astype(np.float64) for p in model.parameters()]
    return FloatMLP(w1=w[0], b1=w[1], w2=w[2], b2=w[3])


@dataclass(frozen=True)
class QuantMLP:
    """Integer network: h = relu(W1 x + b1) >> shift; logits = W2 h + b2; class = argmax."""

    w1: list[list[int]]  # (32, 64) int8
    b1: list[int]  # (32,)
    shift: int  # rescale of the hidden layer (bits)
    w2: list[list[int]]  # (10, 32) int8
    b2: list[int]  # (10,)

    def hidden(self, x: list[int]) -> list[int]:
        z = [
            sum(w * v for w, v in zip(row, x, strict=True)) + b
            for row, b in zip(self.w1, self.b1, strict=True)
        ]
        return [max(v, 0) >> self.shift for v in z]

    def logits(self, x: list[int]) -> list[int]:
        h = self.hidden(x)
        return [
            sum(w * v for w, v in zip(row, h, strict=True)) + b
            for row, b in zip(self.w2, self.b2, strict=True)
        ]

    def predict(self, x: list[int]) -> int:
        logits = self.logits(x)
        return logits.index(max(logits))  # first maximum (the circuit accepts any maximum)


def quantize(model: FloatMLP, x_train: np.ndarray) -> QuantMLP:
    """Power-of-two fixed point: int8 weights, the hidden rescale a shift, integer biases."""
    w1 = model.w1 / 16.0  # the circuit takes raw pixels 0..16
    a = int(np.floor(np.log2(WEIGHT_MAX / np.abs(w1).max())))
    w1q = np.round(w1 * 2.0**a).astype(np.int64)
    b1q = np.round(model.b1 * 2.0**a).astype(np.int64)
    z1 = np.maximum(x_train @ w1q.T + b1q, 0)
    shift = max(0, int(np.ceil(np.log2(max(int(z1.max()), 1) / HIDDEN_MAX))))
    c = int(np.floor(np.log2(WEIGHT_MAX / np.abs(model.w2).max())))
    w2q = np.round(model.w2 * 2.0**c).astype(np.int64)
    b2q = np.round(model.b2 * 2.0 ** (c + a - shift)).astype(np.int64)
    return QuantMLP(w1=w1q.tolist(), b1=b1q.tolist(), shift=shift, w2=w2q.tolist(), b2=b2q.tolist())


def accuracy_quant(q: QuantMLP, x: np.ndarray, y: np.ndarray) -> float:
    return float(
        np.mean([q.predict(row.tolist()) == label for row, label in zip(x, y, strict=True)])
    )


# --- a small CNN: conv 3x3 (valid) + ReLU + dense ---------------------------------------------

SIDE = 8  # images are 8x8
KERNEL = 3  # conv 3x3, stride 1, no padding: 6x6 outputs per channel
CNN_CHANNELS = 2  # 72 ReLU neurons, ~4,000 constraints (3 channels: 5,181, no more accurate)
OUT_SIDE = SIDE - KERNEL + 1


@dataclass(frozen=True)
class FloatCNN:
    kernels: np.ndarray  # (C, 3, 3), applied to pixels / 16
    bias: np.ndarray  # (C,)
    w2: np.ndarray  # (10, C * 36), over the flattened (C, 6, 6) activations
    b2: np.ndarray  # (10,)

    def predict(self, x: np.ndarray) -> np.ndarray:
        images = x.reshape(-1, SIDE, SIDE) / 16.0
        channels = self.kernels.shape[0]
        h = np.zeros((len(x), channels, OUT_SIDE, OUT_SIDE))
        for di in range(KERNEL):
            for dj in range(KERNEL):
                patch = images[:, di : di + OUT_SIDE, dj : dj + OUT_SIDE]  # (n, 6, 6)
                h += self.kernels[None, :, di, dj, None, None] * patch[:, None]
        h = np.maximum(h + self.bias[None, :, None, None], 0.0).reshape(len(x), -1)
        return np.argmax(h @ self.w2.T + self.b2, axis=1)


def train_cnn(
    x: np.ndarray, y: np.ndarray, channels: int = CNN_CHANNELS, seed: int = 0, epochs: int = 300
) -> FloatCNN:
    """Conv2d(1, C, 3) -> ReLU -> Linear(36 C, 10); full-batch Adam, deterministic for a seed."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, channels, KERNEL),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(channels * OUT_SIDE * OUT_SIDE, CLASSES),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt = torch.tensor(x.reshape(-1, 1, SIDE, SIDE) / 16.0, dtype=torch.float32)
    yt = torch.tensor(y)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    w = [p.detach().numpy().astype(np.float64) for p in model.parameters()]
    return FloatCNN(kernels=w[0][:, 0], bias=w[1], w2=w[2], b2=w[3])


def conv_as_dense(kernels: np.ndarray) -> np.ndarray:
    """The convolution as a (C * 36, 64) matrix over the flattened image (row = (c, i, j)):
    a conv layer is a linear layer with shared, sparse weights, so the MLP circuit proves it
    at the same cost per ReLU neuron (linear layers with constant weights cost nothing)."""
    channels = kernels.shape[0]
    dense = np.zeros((channels, OUT_SIDE, OUT_SIDE, PIXELS), dtype=kernels.dtype)
    for c in range(channels):
        for i in range(OUT_SIDE):
            for j in range(OUT_SIDE):
                for di in range(KERNEL):
                    for dj in range(KERNEL):
                        dense[c, i, j, (i + di) * SIDE + (j + dj)] = kernels[c, di, dj]
    return dense.reshape(channels * OUT_SIDE * OUT_SIDE, PIXELS)


def quantize_cnn(model: FloatCNN, x_train: np.ndarray) -> QuantMLP:
    """The CNN quantized as `quantize` does the MLP (int8 kernels and dense weights, one
    power-of-two rescale), returned as the equivalent QuantMLP (conv expanded by conv_as_dense;
    its circuit is `circuit.compile_mlp` of it)."""
    channels = model.kernels.shape[0]
    as_mlp = FloatMLP(
        w1=conv_as_dense(model.kernels),
        b1=np.repeat(model.bias, OUT_SIDE * OUT_SIDE),
        w2=model.w2,
        b2=model.b2,
    )
    q = quantize(as_mlp, x_train)
    assert len(q.w1) == channels * OUT_SIDE * OUT_SIDE
    return q
