"""The acceleration methods a worker has, each tagged with the precision class it preserves.

EXACT methods run the same weights in the same dtype and pick tokens with the same rule as the
plain path; what differs is how work is grouped (a verify pass over several positions, a reused
prefix, a preallocated cache, the thread count). Greedy and seeded-sampling tokens are the
plain path's, up to the last-bit differences that regrouping floating-point sums can cause at
an exact near-tie (the same kind of difference two CPUs give; the chain's dispute check
re-scores with a logit margin for this reason). LOSSY methods change the numbers themselves
(bf16 or int8 weights): they are refused on a job whose declared class is exact.

An *option* the bench and the learner choose among is a method at a thread count,
``"<method>/t<threads>"`` (``"pld10/t2"``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class PrecisionClass(enum.Enum):
    """What a method preserves, and what a job declares it accepts."""

    EXACT = "exact"  # same weights, dtype and token rule as the plain path
    LOSSY = "lossy"  # changes weights or arithmetic precision (bf16, int8)


class AccelError(ValueError):
    """A method that does not exist, does not apply, or is forbidden; `code` is stable."""

    code = 1

    def __init__(self, message: str):
        super().__init__(message)


class UnknownMethodError(AccelError):
    code = 1


class MethodRefusedError(AccelError):
    """A LOSSY method asked for on a job or model whose class is EXACT."""

    code = 2


class NotApplicableError(AccelError):
    """The method cannot run this job (e.g. a static cache shorter than the job)."""

    code = 3


@dataclass(frozen=True)
class Method:
    """One acceleration method; the fields say what `run.generate_accelerated` does."""

    name: str
    precision: PrecisionClass
    draft_tokens: int = 0  # prompt-lookup: draft tokens verified per pass (0: off)
    prefix_cache: bool = False  # reuse the KV cache of the longest stored shared prefix
    static_cache: bool = False  # preallocated KV cache (transformers StaticCache)
    weights: str = "fp32"  # fp32, bf16, int8mix (LOSSY unless fp32)
    summary: str = ""


PLD_NGRAM = 3  # prompt lookup matches the last 3..1 tokens against the context

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("plain", PrecisionClass.EXACT, summary="today's path: prefill, then 1 token a pass"),
        Method("pld4", PrecisionClass.EXACT, draft_tokens=4, summary="prompt lookup, 4 drafts"),
        Method("pld10", PrecisionClass.EXACT, draft_tokens=10, summary="prompt lookup, 10 drafts"),
        Method("prefix", PrecisionClass.EXACT, prefix_cache=True, summary="shared-prefix KV reuse"),
        Method(
            "prefix_pld10",
            PrecisionClass.EXACT,
            draft_tokens=10,
            prefix_cache=True,
            summary="prefix KV reuse + prompt lookup",
        ),
        Method("static", PrecisionClass.EXACT, static_cache=True, summary="static KV cache"),
        Method("bf16", PrecisionClass.LOSSY, weights="bf16", summary="bf16 weights"),
        Method(
            "bf16_pld10",
            PrecisionClass.LOSSY,
            draft_tokens=10,
            weights="bf16",
            summary="bf16 weights + prompt lookup",
        ),
        Method(
            "int8mix",
            PrecisionClass.LOSSY,
            weights="int8mix",
            summary="int8 weights, outlier input channels fp32",
        ),
    )
}
THREAD_CHOICES = (1, 2)  # intra-op thread counts the bench measures (this machine has 2 cores)

_OPTION = re.compile(r"([a-z0-9_]{1,32})/t([1-9][0-9]{0,2})")


def get_method(name: str) -> Method:
    """The method called `name`, or UnknownMethodError."""
    method = METHODS.get(name)
    if method is None:
        raise UnknownMethodError(f"unknown acceleration method {name!r}; one of {sorted(METHODS)}")
    return method


def option_name(method: str, threads: int) -> str:
    return f"{method}/t{threads}"


def parse_option(text: str) -> tuple[Method, int]:
    """``"pld10/t2"`` -> (the method, 2 threads); a bare method name means 0 threads (keep)."""
    match = _OPTION.fullmatch(text)
    if match is None:
        return get_method(text), 0
    return get_method(match.group(1)), int(match.group(2))


def all_options() -> list[str]:
    """Every option the bench measures, in a fixed order."""
    return [option_name(m, t) for m in METHODS for t in THREAD_CHOICES]


def is_allowed(method: Method, job_class: PrecisionClass) -> bool:
    """A LOSSY method only on a job (and model) that declares the LOSSY class."""
    return method.precision is PrecisionClass.EXACT or job_class is PrecisionClass.LOSSY


def check_allowed(method: Method, job_class: PrecisionClass) -> None:
    """Raise MethodRefusedError for a LOSSY method on an EXACT job."""
    if not is_allowed(method, job_class):
        raise MethodRefusedError(
            f"method {method.name!r} is {method.precision.value}; this job's class is "
            f"{job_class.value} and forbids it"
        )


DEFAULT_OPTION = "plain/t2"  # today's fixed configuration: plain path, torch's default threads


def bench_options() -> list[str]:
    """The options the bench measures (the plain default first): every method at the default
    thread count, and the one-thread variants of the plain path and prompt lookup (11)."""
    return [
        DEFAULT_OPTION,
        *(option_name(m, 2) for m in METHODS if m != "plain"),
        option_name("plain", 1),
        option_name("pld10", 1),
    ]
