"""The trainer's contract: the prompts, reply parsers and prefixes of the trained stages, and the model card.

``asem-train`` (and any other trainer) builds its prompts and scores its completions with
exactly what the memory uses at inference, from here, so a trained adapter meets the prompt it
was trained on.
"""

from __future__ import annotations

from ._answering import ANSWER_PREFIX, REFUSAL, answer_messages, parse_answer
from ._text import content_words, lexical_tokens
from .llm import SMOLLM2_ALIASES, HFTransformersLLM, MeteredLLM, ReplyError, offline_smollm2_path
from .locomo import ingest_sessions
from .manager import (
    MANAGER_CARD,
    MANAGER_PREFIX,
    MANAGER_SYSTEM,
    LearnedManager,
    PromptedManager,
    asks_llm,
    manager_messages,
    parse_manager_reply,
    resolve_manager,
    write_manager_card,
)

__all__ = [
    "ANSWER_PREFIX",
    "MANAGER_CARD",
    "MANAGER_PREFIX",
    "MANAGER_SYSTEM",
    "REFUSAL",
    "SMOLLM2_ALIASES",
    "HFTransformersLLM",
    "LearnedManager",
    "MeteredLLM",
    "PromptedManager",
    "ReplyError",
    "answer_messages",
    "asks_llm",
    "content_words",
    "ingest_sessions",
    "lexical_tokens",
    "manager_messages",
    "offline_smollm2_path",
    "parse_answer",
    "parse_manager_reply",
    "resolve_manager",
    "write_manager_card",
]
