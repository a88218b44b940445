"""The model protocol: a batch of chat prompts in, a batch of :class:`Generation` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["LLM", "Generation", "Message"]

Message = dict[str, str]
"""A chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""


@dataclass(frozen=True)
class Generation:
    """One completion.

    Attributes:
        text: The completion (with the ``prefix`` it was asked to start with).
        prompt_tokens: Tokens in the prompt (counted by the model's tokenizer, or estimated).
        completion_tokens: Tokens generated.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class LLM(Protocol):
    """A chat model that completes a batch of prompts."""

    @property
    def name(self) -> str:
        """A name for logs and stats."""
        ...

    def generate(self, prompts: Sequence[Sequence[Message]], *, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """Complete each prompt (greedy by default).

        Args:
            prompts: Chat prompts, each a list of messages.
            max_new_tokens: Token budget of each completion.
            prefix: Text the reply must start with (e.g. ``"{"`` for JSON); models that allow it
                get it pre-filled, and the returned text always starts with it.

        Returns:
            One generation per prompt, in order.
        """
        ...
