"""The worker's ``acceleration`` setting and the per-session choice (structlog says which, why).

``acceleration`` in worker.toml:

- ``"plain"`` (default): today's path, nothing changes;
- ``"fixed:<option>"``: always this option (``"fixed:pld10"``, ``"fixed:prefix/t1"``);
- ``"auto"``: per session, the MetaInf learner (`learner.MetaLearner`, trained on the shipped
  table of this machine plus the worker's own history) predicts every allowed option's speedup
  from the session's features and runs the best.

Allowed means: EXACT methods on an EXACT job; LOSSY ones only where the job's class is LOSSY;
and only options whose weights are those the shards were loaded with (bf16/int8 weights are a
load-time choice, `weights.load_method_shards`; a session cannot switch them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import torch

from inference_worker.accel.bench import Row, append_history, load_rows, repeat_permille
from inference_worker.accel.learner import MetaLearner, build_tasks, task_features
from inference_worker.accel.methods import (
    DEFAULT_OPTION,
    AccelError,
    PrecisionClass,
    bench_options,
    check_allowed,
    is_allowed,
    parse_option,
)
from inference_worker.accel.run import PrefixStore, generate_accelerated
from inference_worker.pipeline.generate import GenerationResult, Sampling
from inference_worker.pipeline.shard import Shard

log = structlog.get_logger("infera.worker.accel")

SHIPPED_TABLE = Path(__file__).parent / "data" / "table.json"  # measured on the dev machine
_SETTING = re.compile(r"plain|auto|fixed:[a-z0-9_]{1,32}(/t[1-9][0-9]{0,2})?")


def check_acceleration(text: str) -> str:
    """The setting if well-formed and naming a known method; AccelError otherwise."""
    if _SETTING.fullmatch(text) is None:
        raise AccelError(f"acceleration: plain, auto or fixed:<method>[/t<threads>], got {text!r}")
    if text.startswith("fixed:"):
        parse_option(text.removeprefix("fixed:"))
    return text


def hardware_name() -> str:
    """The kernel set torch dispatches to here (AVX512, AVX2, DEFAULT, ...)."""
    return str(torch.backends.cpu.get_cpu_capability())


@dataclass
class Accelerator:
    """One worker's acceleration: the setting, the learner (auto), the prefix store, history."""

    setting: str = "plain"
    table: Path | None = None  # training table (default: the shipped one)
    history: Path | None = None  # JSON lines of jobs run here (appended, and learned from)
    store: PrefixStore = field(default_factory=PrefixStore)
    learner: MetaLearner | None = None

    def __post_init__(self) -> None:
        check_acceleration(self.setting)
        if self.setting == "auto" and self.learner is None:
            rows = load_rows(self.table or SHIPPED_TABLE)
            if self.history is not None and self.history.exists():
                rows += [Row(**_json(line)) for line in self.history.read_text().splitlines()]
            self.learner = MetaLearner().fit(build_tasks(rows), lossy=True)

    def choose(
        self, shards: Sequence[Shard], prompt_ids: Sequence[int], *, max_new_tokens: int,
        job_class: PrecisionClass,
    ) -> tuple[str, str]:  # fmt: skip
        """(option, why) for this session."""
        if self.setting == "plain":
            return DEFAULT_OPTION.split("/")[0], "acceleration = plain"
        if self.setting.startswith("fixed:"):
            option = self.setting.removeprefix("fixed:")
            check_allowed(parse_option(option)[0], job_class)  # MethodRefusedError on a lossy
            return option, "acceleration = fixed"
        weights = "bf16" if shards[0].dtype == torch.bfloat16 else "fp32"
        options = [
            o for o in bench_options()
            if is_allowed(parse_option(o)[0], job_class) and parse_option(o)[0].weights == weights
        ]  # fmt: skip
        assert self.learner is not None
        option, speedup = self.learner.choose(
            self._features(shards, prompt_ids, max_new_tokens), options
        )
        return option, f"auto: predicted {speedup:.2f}x over {DEFAULT_OPTION} among {len(options)}"

    def _features(
        self, shards: Sequence[Shard], prompt_ids: Sequence[int], max_new_tokens: int
    ) -> tuple[float, ...]:
        config = shards[0].config
        shared = max((_common(p, prompt_ids) for _, p, _ in self.store.entries), default=0)
        return task_features(
            params=_params(shards), hidden=int(config.hidden_size), layers=shards[0].num_layers,
            family=shards[0].family.name, prompt_tokens=len(prompt_ids),
            prompt_repeat=repeat_permille(prompt_ids), shared_prefix=shared,
            output_tokens=max_new_tokens, hardware=hardware_name(),
        )  # fmt: skip

    def generate(
        self, shards: Sequence[Shard], prompt_ids: Sequence[int], *, max_new_tokens: int,
        job_class: PrecisionClass = PrecisionClass.EXACT, sampling: Sampling | None = None,
        eos_ids: set[int] | None = None, model: str = "",
    ) -> GenerationResult:  # fmt: skip
        """Run one session with the chosen option; log it and append it to the history."""
        option, why = self.choose(
            shards, prompt_ids, max_new_tokens=max_new_tokens, job_class=job_class
        )
        method, threads = parse_option(option)
        log.info("accel.session", option=option, why=why, prompt_tokens=len(prompt_ids))
        result = generate_accelerated(
            shards, prompt_ids, method, max_new_tokens=max_new_tokens, threads=threads,
            eos_ids=eos_ids, sampling=sampling, prefix_store=self.store,
        )  # fmt: skip
        if self.history is not None:
            append_history(
                self.history, self._row(shards, prompt_ids, max_new_tokens, option, result, model)
            )
        return result

    def _row(
        self, shards: Sequence[Shard], prompt_ids: Sequence[int], max_new_tokens: int,
        option: str, result: GenerationResult, model: str,
    ) -> Row:  # fmt: skip
        method, _ = parse_option(option)
        return Row(
            model=model or shards[0].config.model_type, family=shards[0].family.name,
            hidden=int(shards[0].config.hidden_size), layers=shards[0].num_layers,
            params=_params(shards), workload="worker", prompt_tokens=len(prompt_ids),
            prompt_repeat=repeat_permille(prompt_ids), shared_prefix=self.store.reused_tokens,
            output_tokens=max_new_tokens, hardware=hardware_name(), option=option,
            precision=method.precision.value,
            tokens_per_s=round(len(result.tokens) / max(result.total_s, 1e-9), 3),
            ttft_ms=round(result.time_to_first_token_s * 1000, 3),
            weight_bytes=sum(s.parameter_bytes() for s in shards), same_tokens=False,  # unchecked
            peak_rss_kb=0, source="worker",
        )  # fmt: skip


def _json(line: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(line)
    return data


def _params(shards: Sequence[Shard]) -> int:
    return sum(
        p.numel()
        for s in shards
        for m in [*s.parts.layers, *s.parts.modules.values()]
        for p in m.parameters()
    )


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
