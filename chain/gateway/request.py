"""Parse and bound an OpenAI chat-completions request (everything an outsider sends is checked).

Only what maps onto an Infera job is accepted: one choice, greedy (temperature absent or 0) or
sampling (temperature > 0, in thousandths), ``max_tokens``/``max_completion_tokens`` bounded by
the chain's ``inference.max_new_tokens`` and the gateway's own cap. ``stream`` (a boolean) and
``stream_options`` (``include_usage``, streams only) choose a server-sent-events answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from chain.gateway.errors import GatewayError, bad_request

ROLES = ("system", "user", "assistant")
MODEL_RE = re.compile(r"[a-z0-9._-]{1,64}")  # the chain's model id alphabet (fullmatch)
MAX_MESSAGES = 64
IGNORED = frozenset(  # accepted and ignored: they do not change what the chain computes
    {"user", "metadata", "store", "presence_penalty", "frequency_penalty"}
)
KNOWN = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                   "top_p", "n", "stream", "stream_options", "stop", "seed", "top_k"}) | IGNORED  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Bounds of one request."""

    max_body_bytes: int  # request body, bytes
    max_tokens: int  # the gateway's cap on max_tokens (also the default)
    chain_max_new_tokens: int  # inference params max_new_tokens
    max_temperature_milli: int  # inference params max_temperature_milli
    max_top_k: int  # inference params max_top_k


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request."""

    model: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    max_tokens: int
    temperature_milli: int  # 0 = greedy
    top_k: int  # sampling only; 0 = whole vocabulary
    stream: bool = False  # answer as server-sent events
    include_usage: bool = False  # streams only: a last chunk with usage and no choices
    prompt_text: str | None = None  # /v1/completions: the raw prompt (no chat rendering)


COMPLETION_KNOWN = (KNOWN - {"messages", "max_completion_tokens"}) | {
    "prompt", "echo", "best_of", "logprobs", "suffix"}  # fmt: skip
COMPLETION_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions


def parse_body(raw: bytes, max_body_bytes: int) -> dict[str, Any]:
    """The JSON object of a request body, or a 413/400."""
    if len(raw) > max_body_bytes:
        raise GatewayError(413, "request_too_large", f"body exceeds {max_body_bytes} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def parse_chat(body: dict[str, Any], limits: Limits) -> ChatRequest:
    """Validate a chat-completions body against ``limits``."""
    unknown = sorted(set(body) - KNOWN)
    if unknown:
        raise bad_request(f"unsupported parameter {unknown[0]!r}", unknown[0])
    stream, include_usage = parse_stream(body)
    if body.get("n") not in (None, 1):
        raise bad_request("only n=1 is supported", "n")
    if body.get("stop") not in (None, [], ""):
        raise bad_request("stop sequences are not supported", "stop")
    if body.get("top_p") not in (None, 1):
        raise bad_request("top_p is not supported (use top_k)", "top_p")
    model = body.get("model")
    if not isinstance(model, str) or not MODEL_RE.fullmatch(model):
        raise bad_request("model must be a model id ([a-z0-9._-]{1,64})", "model")
    temperature_milli = parse_temperature(body.get("temperature"), limits)
    return ChatRequest(
        model=model,
        messages=parse_messages(body.get("messages")),
        max_tokens=parse_max_tokens(body, limits),
        temperature_milli=temperature_milli,
        top_k=parse_top_k(body.get("top_k"), temperature_milli, limits),
        stream=stream,
        include_usage=include_usage,
    )


def parse_completion(body: dict[str, Any], limits: Limits) -> ChatRequest:
    """Validate a legacy completions body: one string prompt, as the chat checks otherwise."""
    unknown = sorted(set(body) - COMPLETION_KNOWN)
    if unknown:
        raise bad_request(f"unsupported parameter {unknown[0]!r}", unknown[0])
    for param, allowed in (("echo", (None, False)), ("best_of", (None, 1)),
                           ("logprobs", (None,)), ("suffix", (None, ""))):  # fmt: skip
        if body.get(param) not in allowed:
            raise bad_request(f"{param} is not supported", param)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise bad_request("prompt must be one non-empty string", "prompt")
    chat_body = {k: v for k, v in body.items() if k in KNOWN}
    if "max_tokens" not in chat_body:
        chat_body["max_tokens"] = min(COMPLETION_DEFAULT_MAX_TOKENS, limits.max_tokens,
                                      limits.chain_max_new_tokens)  # fmt: skip
    chat_body["messages"] = [{"role": "user", "content": prompt}]  # validated shape only
    parsed = parse_chat(chat_body, limits)
    return ChatRequest(**{**parsed.__dict__, "messages": (), "prompt_text": prompt})


def parse_stream(body: dict[str, Any]) -> tuple[bool, bool]:
    """(stream, include_usage); stream_options only with stream (as OpenAI)."""
    stream, options = body.get("stream"), body.get("stream_options")
    if stream is not None and not isinstance(stream, bool):
        raise bad_request("stream must be a boolean", "stream")
    if options is None:
        return bool(stream), False
    if not stream:
        raise bad_request("stream_options is only allowed with stream=true", "stream_options")
    if not isinstance(options, dict) or set(options) - {"include_usage"}:
        raise bad_request("stream_options takes only include_usage", "stream_options")
    usage = options.get("include_usage", False)
    if not isinstance(usage, bool):
        raise bad_request("stream_options.include_usage must be a boolean", "stream_options")
    return True, usage


def parse_messages(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_MESSAGES:
        raise bad_request(f"messages must be a list of 1..{MAX_MESSAGES} messages", "messages")
    messages = []
    for item in value:
        if not isinstance(item, dict) or item.get("role") not in ROLES:
            raise bad_request(f"each message needs a role in {ROLES}", "messages")
        content = item.get("content")
        if not isinstance(content, str):
            raise bad_request("message content must be a string", "messages")
        messages.append((str(item["role"]), content))
    return tuple(messages)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_max_tokens(body: dict[str, Any], limits: Limits) -> int:
    param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    value = body.get(param)
    if value is None:
        return min(limits.max_tokens, limits.chain_max_new_tokens)
    bound = min(limits.max_tokens, limits.chain_max_new_tokens)
    if not is_int(value) or not 1 <= value <= bound:
        raise bad_request(f"{param} must be an integer in 1..{bound}", param)
    return int(value)


def parse_temperature(value: Any, limits: Limits) -> int:
    """Temperature in thousandths (exactly; 0 or absent = greedy)."""
    if value is None:
        return 0
    if is_int(value) or isinstance(value, float):
        try:
            milli = Decimal(str(value)) * 1000
        except InvalidOperation:
            milli = Decimal(-1)
        if milli.is_finite() and milli == milli.to_integral_value():
            if 0 <= milli <= limits.max_temperature_milli:
                return int(milli)
    top = Decimal(limits.max_temperature_milli) / 1000
    raise bad_request(f"temperature must be in 0..{top} with at most 3 decimals", "temperature")


def parse_top_k(value: Any, temperature_milli: int, limits: Limits) -> int:
    if value is None or value == 0:
        return 0
    if not temperature_milli:
        raise bad_request("top_k needs temperature > 0 (greedy has no top_k)", "top_k")
    if not is_int(value) or not 0 <= value <= limits.max_top_k:
        raise bad_request(f"top_k must be an integer in 0..{limits.max_top_k}", "top_k")
    return int(value)
