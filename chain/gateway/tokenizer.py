"""Chat messages -> prompt bytes, and output tokens -> text, as the model's workers see them.

Workers tokenize the prompt bytes of a job as plain text (``PromptTokenizer`` in
inference_worker/pipeline/route.py), so the gateway renders the chat here: with the model's own
chat template when its folder has one (``apply_chat_template``, generation prompt added), else a
plain fallback ("role: content" lines, then "assistant:"). The tokenizer code (transformers) is
imported only when a model folder is loaded, as ``infera worker run`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol


class Tokenizer(Protocol):
    """One model's prompt rendering and output decoding."""

    def render(self, messages: Sequence[tuple[str, str]]) -> bytes: ...

    def count(self, prompt: bytes) -> int: ...  # tokens the workers see for ``prompt``

    def decode(self, tokens: Sequence[int]) -> str: ...


def render_plain(messages: Sequence[tuple[str, str]]) -> bytes:
    """The fallback chat format of a model without a chat template."""
    lines = [f"{role}: {content}" for role, content in messages]
    return ("\n".join(lines) + "\nassistant:").encode()


class FolderTokenizer:
    """The tokenizer of a prepared model folder (the one its workers load)."""

    def __init__(self, model_dir: Path) -> None:
        from inference_worker.models import read_manifest
        from inference_worker.pipeline.route import PromptTokenizer

        vocab_size = read_manifest(model_dir).vocab_size
        self.prompt = PromptTokenizer(model_dir, vocab_size)
        self.hf: Any = self.prompt._tokenizer

    def render(self, messages: Sequence[tuple[str, str]]) -> bytes:
        if self.hf is None or not getattr(self.hf, "chat_template", None):
            return render_plain(messages)
        chat = [{"role": role, "content": content} for role, content in messages]
        text = self.hf.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return str(text).encode()

    def count(self, prompt: bytes) -> int:
        return len(self.prompt.encode(prompt))

    def decode(self, tokens: Sequence[int]) -> str:
        return self.prompt.decode(tokens)
