"""ASEM core: agentic self-evolving memory for LLM agents, framework-free.

Quick start::

    from asem_core import ASEM

    mem = ASEM.ephemeral()
    mem.add("I adopted a dog named Buddy.", user_id="u1")
    hits = mem.search("What is my dog's name?", user_id="u1")
    mem.feedback(1.0, note_ids=[hits[0].note.id], user_id="u1")

The names below are what users call. Everything else stays importable from its module:
:mod:`asem_core.llm` (model backends, metering), :mod:`asem_core.manager` (every manager
policy), :mod:`asem_core.locomo` (the LoCoMo loader and session-by-session ingest),
:mod:`asem_core.lexical` (the BM25 index) and :mod:`asem_core.training` (the trainer's contract).
"""

from ._answering import Answer, AnswerAgent
from ._asem import ASEM, default_home, open_memory
from ._config import ASEMConfig
from ._embedder import DEFAULT_EMBEDDER, Embedder, FunctionEmbedder, SentenceTransformerEmbedder, offline_minilm_path
from ._errors import (
    ASEMError,
    ConfigError,
    DataFormatError,
    InvalidInputError,
    LLMReplyError,
    ModelLoadError,
    NoteNotFoundError,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from ._filters import matches_filter
from ._prompt import format_memories
from ._types import Hit, Link, Note, Operation, OpType, Scope, Version
from ._utility import value_rerank
from .llm import LLM, Generation
from .manager import Decision, Fact, HeuristicManager, MemoryManager, Neighbour

__version__ = "0.1.0"

__all__ = [
    "ASEM",
    "DEFAULT_EMBEDDER",
    "LLM",
    "ASEMConfig",
    "ASEMError",
    "Answer",
    "AnswerAgent",
    "ConfigError",
    "DataFormatError",
    "Decision",
    "Embedder",
    "Fact",
    "FunctionEmbedder",
    "Generation",
    "HeuristicManager",
    "Hit",
    "InvalidInputError",
    "LLMReplyError",
    "Link",
    "MemoryManager",
    "ModelLoadError",
    "Neighbour",
    "Note",
    "NoteNotFoundError",
    "OpType",
    "Operation",
    "SchemaVersionError",
    "Scope",
    "SentenceTransformerEmbedder",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
    "Version",
    "__version__",
    "default_home",
    "format_memories",
    "matches_filter",
    "offline_minilm_path",
    "open_memory",
    "value_rerank",
]
