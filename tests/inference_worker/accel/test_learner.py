"""The MetaInf learner and its baselines on a synthetic table with a known best option per task,
the table round trip and history, and the worker's acceleration setting."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")

from inference_worker.accel.bench import (
    Row,
    append_history,
    load_rows,
    repeat_permille,
    write_table,
)  # noqa: E402
from inference_worker.accel.learner import build_tasks, evaluate  # noqa: E402
from inference_worker.accel.methods import (  # noqa: E402
    DEFAULT_OPTION,
    AccelError,
    MethodRefusedError,
    PrecisionClass,
    bench_options,
    parse_option,
)
from inference_worker.accel.select import Accelerator, check_acceleration  # noqa: E402

MODELS = [("m1", 64, 4), ("m2", 128, 6), ("m3", 192, 6), ("m4", 256, 8)]
WORKLOADS = {"novel": (50, 0), "repeat": (600, 0), "shared": (80, 400)}  # repeat, shared


def synthetic_speed(option: str, repeat: int, shared: int, hardware: str) -> float:
    """Prompt lookup wins on repetitive prompts, the prefix cache on shared ones, one thread
    otherwise; bf16 is fast only with AVX512 (a LOSSY job's best there)."""
    method, threads = parse_option(option)
    speed = 100.0
    if method.draft_tokens and repeat > 300:
        speed *= 3.0 + method.draft_tokens / 20
    if method.prefix_cache and shared > 200:
        speed *= 2.5
    if threads == 1 and not method.draft_tokens:
        speed *= 1.2
    if method.weights == "bf16" and hardware == "AVX512":
        speed *= 4.0
    return speed


def synthetic_rows() -> list[Row]:
    rows = []
    for model, hidden, layers in MODELS:
        for workload, (repeat, shared) in WORKLOADS.items():
            for hardware in ("AVX512", "AVX2"):
                for option in bench_options():
                    method, _ = parse_option(option)
                    rows.append(
                        Row(
                            model=model,
                            family="llama",
                            hidden=hidden,
                            layers=layers,
                            params=hidden * hidden * layers * 12,
                            workload=workload,
                            prompt_tokens=500,
                            prompt_repeat=repeat,
                            shared_prefix=shared,
                            output_tokens=24,
                            hardware=hardware,
                            option=option,
                            precision=method.precision.value,
                            tokens_per_s=synthetic_speed(option, repeat, shared, hardware),
                            ttft_ms=1.0,
                            weight_bytes=1,
                            same_tokens=True,
                            peak_rss_kb=1,
                        )  # fmt: skip
                    )
    return rows


@pytest.mark.parametrize("lossy", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_learner_finds_the_known_best_on_held_out_models(lossy):
    tasks = build_tasks(synthetic_rows())
    assert len(tasks) == 24 and len(bench_options()) >= 10
    scores = evaluate(tasks, hold_out="model", lossy=lossy)
    ours = scores["metainf (ours)"]
    assert ours.accuracy >= 0.9 and ours.mean_regret <= 0.05, (lossy, ours)
    assert ours.speedup > scores["best fixed"].speedup
    assert scores["random"].accuracy < 0.3  # the expectation of a uniform pick


def test_exact_jobs_never_get_a_lossy_option():
    tasks = build_tasks(synthetic_rows())
    from inference_worker.accel.learner import TRAINERS, allowed_options

    for name, trainer in TRAINERS.items():
        select = trainer(tasks, False)
        for task in tasks:
            chosen = select(task, allowed_options(task, False))
            assert task.precision[chosen] == "exact", name


def test_table_round_trip_and_history(tmp_path):
    rows = synthetic_rows()[:5]
    write_table(tmp_path, {"rows": [r.__dict__ for r in rows]})
    assert load_rows(tmp_path / "table.json") == rows
    assert (tmp_path / "table.csv").read_text().count("\n") == 6
    append_history(tmp_path / "h.jsonl", rows[0])
    append_history(tmp_path / "h.jsonl", rows[1])
    lines = (tmp_path / "h.jsonl").read_text().splitlines()
    assert [Row(**json.loads(line)) for line in lines] == rows[:2]


def test_repeat_permille_counts_repeated_trigrams():
    assert repeat_permille([1, 2, 3, 4, 5, 6]) == 0
    assert repeat_permille([1, 2, 3, 1, 2, 3, 1, 2, 3]) > 400


def test_acceleration_setting_is_checked():
    for good in ("plain", "auto", "fixed:pld10", "fixed:prefix/t1"):
        assert check_acceleration(good) == good
    for bad in ("Auto", "fixed:", "fixed:turbo", "fixed:pld10/t0", "auto ", "fixed:pld10/t１"):
        with pytest.raises(AccelError):
            check_acceleration(bad)


def test_fixed_lossy_method_is_refused_for_an_exact_job(tiny_models):
    from inference_worker.pipeline.shard import load_shard

    shards = [load_shard(tiny_models["llama"], 0, 5)]
    accel = Accelerator("fixed:bf16")
    with pytest.raises(MethodRefusedError):
        accel.generate(shards, [1, 2, 3], max_new_tokens=2, job_class=PrecisionClass.EXACT)
    option, _ = Accelerator("fixed:pld10/t1").choose(
        shards, [1, 2, 3], max_new_tokens=2, job_class=PrecisionClass.EXACT
    )
    assert option == "pld10/t1" and DEFAULT_OPTION == "plain/t2"


def test_auto_serves_a_job_through_the_pipeline_with_the_plain_tokens(tiny_models, tmp_path):
    """An "auto" accelerator trained on a table (here the synthetic one) runs the session
    through `pipeline.generate.generate`, picks an EXACT option, logs it, appends the history,
    and the tokens are the plain path's."""
    from inference_worker.pipeline.generate import generate
    from inference_worker.pipeline.shard import load_shard

    table = tmp_path / "t"
    table.mkdir()
    write_table(table, {"rows": [r.__dict__ for r in synthetic_rows()]})
    history = tmp_path / "history.jsonl"
    accel = Accelerator("auto", table=table / "table.json", history=history)
    shards = [load_shard(tiny_models["gpt2"], 0, 2), load_shard(tiny_models["gpt2"], 2, 4)]
    prompt = [40, 41, 42, 43] * 30  # repetitive: the synthetic learner prefers prompt lookup
    option, why = accel.choose(shards, prompt, max_new_tokens=20, job_class=PrecisionClass.EXACT)
    assert parse_option(option)[0].draft_tokens > 0 and why.startswith("auto")
    plain = generate(shards, prompt, max_new_tokens=20)
    fast = generate(shards, prompt, max_new_tokens=20, accelerator=accel)
    assert fast.tokens == plain.tokens
    (row,) = [json.loads(line) for line in history.read_text().splitlines()]
    assert row["option"] == option and row["source"] == "worker"
