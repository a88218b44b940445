"""Any LangChain chat model as an :class:`~asem_core.llm.LLM`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ConfigError
from ._protocol import Generation, Message

__all__ = ["LangChainLLM"]


class LangChainLLM:
    """Any LangChain ``BaseChatModel`` (OpenAI, Anthropic, Ollama, vLLM, ChatHuggingFace ...).

    Batches go through the model's own ``batch``; token counts come from ``usage_metadata``
    where the provider reports them, else they are estimated (4 characters a token).

    Args:
        model: The chat model.
    """

    def __init__(self, model: Any) -> None:
        if not (hasattr(model, "invoke") and hasattr(model, "batch")):
            msg = f"a LangChain chat model needs .invoke and .batch, got {type(model).__name__}"
            raise ConfigError(msg)
        self.model = model

    @property
    def name(self) -> str:
        """The provider's model name where it has one."""
        for attr in ("model_name", "model", "model_id"):
            value = getattr(self.model, attr, None)
            if isinstance(value, str):
                return value
        return type(self.model).__name__

    def generate(self, prompts: Sequence[Sequence[Message]], *, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """See :meth:`LLM.generate`. The prefix is asked for in the prompt and added if missing."""
        from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

        kinds: dict[str, type[BaseMessage]] = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        batch: list[list[BaseMessage]] = []
        for messages in prompts:
            msgs = [dict(m) for m in messages]
            if prefix:
                msgs[-1]["content"] += f"\nStart your reply with {prefix}"
            batch.append([kinds.get(m["role"], HumanMessage)(content=m["content"]) for m in msgs])
        replies = self.model.batch(batch)
        out = []
        for sent, reply in zip(batch, replies):
            content = reply.content if isinstance(reply.content, str) else str(reply.content)
            text = content.strip()
            if prefix and not text.startswith(prefix):
                text = prefix + text
            usage = getattr(reply, "usage_metadata", None) or {}
            prompt_tokens = int(usage.get("input_tokens") or sum(len(str(m.content)) for m in sent) // 4)
            completion_tokens = int(usage.get("output_tokens") or len(content) // 4)
            out.append(Generation(text, prompt_tokens, completion_tokens))
        return out
