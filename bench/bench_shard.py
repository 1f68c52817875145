"""Layer-span sharding on SmolLM2-135M-Instruct (CPU): speed, wire bytes, codec agreement.

    python bench/bench_shard.py [--new-tokens 64] [--agreement-tokens 32]

Measures, all float32 and greedy:
* tokens/s and time to first token of plain transformers ``generate``, of our driver with one
  shard, and of our driver with three shards in one process (pipeline overhead only: no network);
* bytes per token on the wire at a hop boundary for each codec (decode steps; prefill sends
  one hidden vector per prompt token the same way);
* greedy-token agreement of each lossy codec with fp32 over 10 prompts x 32 tokens, through
  the three-shard route (every boundary encodes and decodes), with the fp32 top-2 logit margin
  where a codec first diverges; plain absmax int8 without outlier handling for contrast;
* each codec's relative error on the real hidden states at the two boundaries.

Timings are wall-clock on whatever else the machine runs: compare rows of one run.

Prints a table and writes bench/results/shard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from inference_worker.models import prepare_smollm2, read_manifest  # noqa: E402
from inference_worker.pipeline.codec import CODECS, INT8_BLOCK, decode, encode  # noqa: E402
from inference_worker.pipeline.generate import generate, reference_generate  # noqa: E402
from inference_worker.pipeline.shard import load_shard  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "shard.json"
THREE_SHARDS = [(0, 10), (10, 21), (21, 30)]
QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain photosynthesis in one sentence.",
    "List three prime numbers.",
    "Who wrote Romeo and Juliet?",
    "How do I boil an egg?",
    "Translate 'good morning' into Spanish.",
    "What is 12 times 7?",
    "Give me a name for a pet turtle.",
    "Why is the sky blue?",
]
REPEATS = 5  # timed rounds per configuration; the median is reported


def chat_ids(tokenizer, question: str) -> list[int]:
    messages = [{"role": "user", "content": question}]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(encoded["input_ids"])


def _timed(run) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result) of `run()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def time_configurations(model, one, three, prompt: list[int], new_tokens: int) -> dict:
    """Speed of transformers generate and of our driver with one and three shards.

    The configurations take turns, REPEATS rounds, so load from other processes on the
    machine hits them alike; medians are reported. CPU ms per token counts this process's CPU
    time (all threads), which other load disturbs less than wall time.
    """
    configs = {
        "transformers_generate": lambda n: reference_generate(
            "", prompt, n, eos_ids=set(), model=model
        ),
        "driver_one_shard": lambda n: generate(one, prompt, max_new_tokens=n, eos_ids=set()),
        "driver_three_shards": lambda n: generate(three, prompt, max_new_tokens=n, eos_ids=set()),
    }
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in configs}
    for run in configs.values():
        run(2)  # warm up
    for _ in range(REPEATS):
        for name, run in configs.items():
            first_wall, _, _ = _timed(lambda run=run: run(1))  # prefill + first token
            wall, cpu, _ = _timed(lambda run=run: run(new_tokens))
            samples[name].append((first_wall, wall, cpu))
    report = {}
    for name, rows in samples.items():
        ttft = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        report[name] = {
            "time_to_first_token_s": ttft,
            "tokens_per_s": new_tokens / wall,
            "best_tokens_per_s": new_tokens / min(r[1] for r in rows),  # least disturbed run
            "decode_tokens_per_s": (new_tokens - 1) / (wall - ttft),
            "cpu_ms_per_token": 1000 * statistics.median(r[2] for r in rows) / new_tokens,
            "wall_s_runs": [round(r[1], 2) for r in rows],
        }
    report["driver_one_shard"]["shard_parameter_mb"] = [_mib(s) for s in one]
    report["driver_three_shards"]["shard_parameter_mb"] = [_mib(s) for s in three]
    return report


def _mib(shard) -> float:
    return round(shard.parameter_bytes() / 2**20, 1)


def naive_int8(x: torch.Tensor) -> torch.Tensor:
    """Round trip through plain blockwise absmax int8 (no outlier handling), for contrast."""
    blocks = x.reshape(-1, INT8_BLOCK).float()  # hidden sizes here are multiples of the block
    scales = blocks.abs().amax(dim=1, keepdim=True) / 127.0
    q = torch.round(blocks / scales.clamp(min=1e-30)).clamp(-127, 127)
    return (q * scales).reshape(x.shape).to(x.dtype)


@torch.inference_mode()
def greedy_with_transform(shards, prompt: list[int], new_tokens: int, transform) -> list[int]:
    """Greedy tokens with `transform` applied to the hidden states at every hop boundary."""
    caches = [s.new_cache() for s in shards]
    ids, tokens = torch.tensor([prompt]), []
    for _ in range(new_tokens):
        hidden = shards[0].embed(ids, cache=caches[0])
        for hop, (shard, cache) in enumerate(zip(shards, caches, strict=True)):
            hidden = shard.forward(transform(hidden) if hop else hidden, cache=cache)
        tokens.append(int(shards[-1].head(hidden).argmax()))
        ids = torch.tensor([[tokens[-1]]])
    return tokens


@torch.inference_mode()
def top2_margin(shards, tokens: list[int]) -> float:
    """fp32 logit gap between the best and second-best next token after `tokens`."""
    hidden = shards[0].embed(torch.tensor([tokens]))
    for shard in shards:
        hidden = shard.forward(hidden)
    top = torch.topk(shards[-1].head(hidden)[0], 2).values
    return float(top[0] - top[1])


@torch.inference_mode()
def boundary_errors(shards, prompt: list[int]) -> dict:
    """Relative L2 error of each codec on the real hidden states at each hop boundary."""
    hidden = shards[0].embed(torch.tensor([prompt]))
    boundaries = []
    for shard in shards[:-1]:
        hidden = shard.forward(hidden)
        boundaries.append(hidden)
    errors: dict[str, list[float]] = {}
    transforms = {c: (lambda x, c=c: decode(encode(x, c), c).float()) for c in CODECS}
    transforms["naive-int8"] = naive_int8
    for name, transform in transforms.items():
        errors[name] = [float((transform(h) - h).norm() / h.norm()) for h in boundaries]
    absolute = [h.abs().flatten() for h in boundaries]
    errors["max_over_median_abs"] = [float(a.max() / a.median()) for a in absolute]
    return errors


def codec_agreement(shards, prompts: list[list[int]], new_tokens: int) -> dict:
    """Per codec: bytes per decode token at a boundary and greedy agreement with fp32."""
    baseline = [
        generate(shards, p, max_new_tokens=new_tokens, eos_ids=set()).tokens for p in prompts
    ]
    one_token = torch.randn(1, 1, int(shards[0].hidden_size))
    runs = {
        codec: [
            generate(shards, p, max_new_tokens=new_tokens, eos_ids=set(), wire_codec=codec).tokens
            for p in prompts
        ]
        for codec in CODECS
    }
    runs["naive-int8"] = [greedy_with_transform(shards, p, new_tokens, naive_int8) for p in prompts]
    results = {}
    for codec, tokens in runs.items():
        prefix = [_common_prefix(t, b) for t, b in zip(tokens, baseline, strict=True)]
        same = sum(
            x == y for t, b in zip(tokens, baseline, strict=True) for x, y in zip(t, b, strict=True)
        )
        margins = [
            round(top2_margin(shards, p + b[:d]), 4) if d < new_tokens else None
            for p, b, d in zip(prompts, baseline, prefix, strict=True)
        ]
        wire_codec = codec if codec in CODECS else "int8"  # naive int8: about int8's size
        results[codec] = {
            "bytes_per_token": len(encode(one_token, wire_codec)),
            "identical_sequences": sum(p == new_tokens for p in prefix),
            "prompts": len(prompts),
            "mean_prefix_agreement": sum(prefix) / (len(prompts) * new_tokens),
            "positionwise_agreement": same / (len(prompts) * new_tokens),
            "first_divergence": [p if p < new_tokens else None for p in prefix],
            "fp32_top2_margin_at_divergence": margins,
        }
    return results


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--agreement-tokens", type=int, default=32)
    parser.add_argument("--skip-agreement", action="store_true", help="timings and errors only")
    args = parser.parse_args()

    started = time.perf_counter()
    model_dir = prepare_smollm2()
    prepare_s = time.perf_counter() - started
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    prompts = [chat_ids(tokenizer, q) for q in QUESTIONS]
    prompt = prompts[0]

    started = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    hf_load_s = time.perf_counter() - started
    reference = reference_generate("", prompt, args.new_tokens, eos_ids=set(), model=model)

    started = time.perf_counter()
    one = [load_shard(model_dir, 0, 30)]
    one_load_s = time.perf_counter() - started
    started = time.perf_counter()
    three = [load_shard(model_dir, a, b) for a, b in THREE_SHARDS]
    three_load_s = time.perf_counter() - started
    speed = time_configurations(model, one, three, prompt, args.new_tokens)
    del model
    same_tokens = generate(three, prompt, max_new_tokens=args.new_tokens, eos_ids=set()).tokens
    codecs = {} if args.skip_agreement else codec_agreement(three, prompts, args.agreement_tokens)
    errors = boundary_errors(three, prompt)

    report = {
        "model": read_manifest(model_dir).name,
        "machine": {
            "cpu_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "prompt_tokens": len(prompt),
        "new_tokens": args.new_tokens,
        "load_s": {
            "prepare_cached": prepare_s,
            "transformers": hf_load_s,
            "one_shard": one_load_s,
            "three_shards": three_load_s,
        },
        **speed,
        "three_shards_equal_transformers_tokens": same_tokens == reference,
        "sample_output": tokenizer.decode(reference, skip_special_tokens=True),
        "codecs": codecs,
        "codec_relative_l2_error_at_boundaries": errors,
        "codec_agreement_setup": f"{len(prompts)} prompts x {args.agreement_tokens} tokens, route {THREE_SHARDS}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)


def print_table(report: dict) -> None:
    m = report["machine"]
    print(f"\nSmolLM2-135M-Instruct, float32, CPU ({m['cpu_threads']} threads), torch {m['torch']}")
    print(f"prompt {report['prompt_tokens']} tokens, {report['new_tokens']} new tokens (greedy)\n")
    print(f"{'configuration':<30}{'tok/s':>8}{'decode tok/s':>14}{'TTFT ms':>10}{'CPU ms/tok':>12}")
    for key, label in (
        ("transformers_generate", "transformers generate"),
        ("driver_one_shard", "driver, 1 shard"),
        ("driver_three_shards", "driver, 3 shards (in-process)"),
    ):
        row = report[key]
        print(
            f"{label:<30}{row['tokens_per_s']:>8.1f}{row['decode_tokens_per_s']:>14.1f}"
            f"{1000 * row['time_to_first_token_s']:>10.0f}{row['cpu_ms_per_token']:>12.1f}"
        )
    print(f"3 shards == transformers tokens: {report['three_shards_equal_transformers_tokens']}")
    print(f"shard parameters (MiB): {report['driver_three_shards']['shard_parameter_mb']}")
    print(f"load s: {report['load_s']}")
    print(f"\nwire codecs ({report['codec_agreement_setup']}), agreement with fp32:")
    print(
        f"{'codec':<8}{'bytes/token':>12}{'identical':>11}{'prefix agr.':>13}{'position agr.':>15}"
    )
    for codec, row in report["codecs"].items():
        print(
            f"{codec:<8}{row['bytes_per_token']:>12}{row['identical_sequences']:>8}/{row['prompts']:<2}"
            f"{row['mean_prefix_agreement']:>13.3f}{row['positionwise_agreement']:>15.3f}"
        )
    errors = report["codec_relative_l2_error_at_boundaries"]
    print("\nrelative L2 error on the prompt's hidden states at the two boundaries:")
    for name, values in errors.items():
        print(f"  {name:<20}" + "".join(f"{v:>12.3g}" for v in values))
    print(f"\nsample: {report['sample_output']!r}\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
