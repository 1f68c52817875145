"""Generate honest route claims in this process, under whatever CPU kernels torch picks here.

Run as a subprocess with ``ATEN_CPU_CAPABILITY`` set (``default``, ``avx2``, ...) to get the
claims an honest worker on another CPU would make. Writes a pickle:
``{"capability": torch's kernel set, "claims": [(case name, RouteClaim), ...]}``.

    python kernel_claims.py MODEL_DIR OUT.pkl JOBS
"""

from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path

import torch

from inference_worker.pipeline.generate import Sampling
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.evidence import generate_claim
from inference_worker.verify.fingerprint import derive_probe_seed

SPAN_SPLITS = (((0, 1), (1, 3), (3, 5)), ((0, 2), (2, 5)), ((0, 5),))  # tiny llama: 5 layers
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
MAX_NEW_TOKENS = 32


def cases(jobs: int) -> list[tuple[str, int, str, bool]]:
    """(name, job, dtype name, sampled) for every claim: each job greedy and sampled, in both
    precisions."""
    return [
        (f"job{job}-{dtype}-{'sampled' if sampled else 'greedy'}", job, dtype, sampled)
        for job in range(jobs)
        for dtype in DTYPES
        for sampled in (False, True)
    ]


def main(model_dir: Path, out: Path, jobs: int) -> None:
    torch.set_num_threads(1)  # thread count changes reductions too: one, on every side
    shards = {
        (dtype, split): [load_shard(model_dir, a, b, dtype=DTYPES[dtype]) for a, b in split]
        for dtype in DTYPES
        for split in SPAN_SPLITS
    }
    claims = []
    for name, job, dtype, sampled in cases(jobs):
        rng = random.Random(job)  # test data, not chain code
        prompt = tuple(rng.randrange(1, 96) for _ in range(rng.randrange(3, 12)))
        sampling = (
            Sampling(seed=rng.getrandbits(64), temperature=1.0, top_k=20) if sampled else None
        )
        split = SPAN_SPLITS[job % len(SPAN_SPLITS)]
        claim = generate_claim(
            shards[(dtype, split)], prompt, max_new_tokens=MAX_NEW_TOKENS,
            probe_seed=derive_probe_seed(job), eos_ids=set(), sampling=sampling,
        )  # fmt: skip
        claims.append((name, claim))
    capability = torch.backends.cpu.get_cpu_capability()
    out.write_bytes(pickle.dumps({"capability": capability, "claims": claims}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
