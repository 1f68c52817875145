"""What equivariant encryption costs: transform time and inference overhead vs the plain model.

    python bench/bench_ee_overhead.py [--quick] [--reps 7] [--tiny-reps 41]

For each model (the tiny llama / gpt2 / bert, and unless --quick SmolLM2-135M-Instruct and
all-MiniLM-L6-v2) and each key (``perm``: vocabulary + residual permutation, signed for llama;
``full``: every kind the family takes, ``ee.FAMILY_KINDS``): the time of ``transform_model``,
the stored parameter count, and the median wall time of one fp32 forward pass over a batch
(8 prompts x 64 tokens; the tiny models 32 x 16), the plain and the served model interleaved
rep by rep so that load on the machine hits both alike. overhead = served / plain - 1, of the
medians and of the minima (the minimum is the least disturbed by other load).
CPU, fp32, torch's default threads; timings are wall-clock on whatever else the machine runs.

Prints a table and writes bench/results/ee_overhead.json (ee_overhead_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from transformers import AutoModel, AutoModelForCausalLM  # noqa: E402

from inference_worker.models import (  # noqa: E402
    _load_config,
    make_tiny_model,
    prepare_minilm,
    prepare_smollm2,
    stored_tensors,
)
from inference_worker.privacy import ee  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _load(model_dir: Path, family: str) -> torch.nn.Module:
    auto = AutoModel if family == "bert" else AutoModelForCausalLM
    return auto.from_pretrained(str(model_dir), dtype=torch.float32).eval()


def _params(model_dir: Path) -> int:
    total = 0
    for t in stored_tensors(model_dir).values():
        n = 1
        for d in t.shape:
            n *= int(d)
        total += n
    return total


def _forward_s(model: torch.nn.Module, ids: torch.Tensor) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        model(ids)
    return time.perf_counter() - started


def measure(name: str, src: Path, family: str, batch: tuple[int, int], reps: int) -> list[dict]:
    config = _load_config(src)
    ids = torch.randint(
        0, int(config.vocab_size), batch, generator=torch.Generator().manual_seed(1)
    )
    rows = []
    for label, kinds in (("perm", frozenset()), ("full", None)):
        key = ee.generate_full_key(config, kinds=kinds, seed=5)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            ee.transform_model(src, Path(tmp) / "ee", key)
            transform_s = time.perf_counter() - started
            plain, served = _load(src, family), _load(Path(tmp) / "ee", family)
            enc = key.vocab_perm[ids]
            _forward_s(plain, ids), _forward_s(served, enc)  # warm-up
            times_p, times_s = [], []
            for _ in range(reps):
                times_p.append(_forward_s(plain, ids))
                times_s.append(_forward_s(served, enc))
            p, s = statistics.median(times_p), statistics.median(times_s)
            p_min, s_min = min(times_p), min(times_s)
            rows.append(
                {
                    "model": name,
                    "key": label,
                    "kinds": key.kinds,
                    "transform_s": round(transform_s, 3),
                    "params_plain": _params(src),
                    "params_served": _params(Path(tmp) / "ee"),
                    "batch": list(batch),
                    "forward_plain_ms": round(p * 1e3, 2),
                    "forward_served_ms": round(s * 1e3, 2),
                    "overhead_pct": round((s / p - 1) * 100, 1),
                    "forward_plain_min_ms": round(p_min * 1e3, 2),
                    "forward_served_min_ms": round(s_min * 1e3, 2),
                    "overhead_min_pct": round((s_min / p_min - 1) * 100, 1),
                    "reps": reps,
                }
            )
            print(_line(rows[-1]), flush=True)
    return rows


def _line(r: dict) -> str:
    return (
        f"{r['model']:<10} {r['key']:<5} {r['transform_s']:>9.2f} {r['params_plain']:>11} "
        f"{r['params_served']:>11} {r['forward_plain_ms']:>10.1f} {r['forward_served_ms']:>10.1f} "
        f"{r['overhead_pct']:>+8.1f} {r['overhead_min_pct']:>+8.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny models only")
    ap.add_argument("--reps", type=int, default=7, help="timed forward passes, real models")
    ap.add_argument("--tiny-reps", type=int, default=41, help="timed forward passes, tiny models")
    args = ap.parse_args()
    print(
        f"{'model':<10} {'key':<5} {'transform':>9} {'params':>11} {'served':>11} "
        f"{'plain ms':>10} {'served ms':>10} {'median%':>8} {'min%':>8}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in ("llama", "gpt2", "bert"):
            src = make_tiny_model(family, Path(tmp) / family, seed=1234)
            rows += measure(f"tiny-{family}", src, family, (32, 16), args.tiny_reps)
        if not args.quick:
            rows += measure("smollm2", prepare_smollm2(), "llama", (8, 64), args.reps)
            rows += measure("minilm", prepare_minilm(), "bert", (8, 64), args.reps)
    out = {
        "rows": rows,
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average": os.getloadavg(),
            "platform": platform.platform(),
            "torch": torch.__version__,
        },
        "command": "python bench/bench_ee_overhead.py" + (" --quick" if args.quick else ""),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("ee_overhead_quick.json" if args.quick else "ee_overhead.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path} (load average {out['machine']['load_average']})")


if __name__ == "__main__":
    main()
