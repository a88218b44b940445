"""ASEM core: agentic self-evolving memory for LLM agents, framework-free.

Quick start::

    from asem_core import ASEM

    mem = ASEM.ephemeral()
    mem.add("I adopted a dog named Buddy.", user_id="u1")
    hits = mem.search("What is my dog's name?", user_id="u1")
    mem.feedback(1.0, note_ids=[hits[0].note.id], user_id="u1")
"""

from ._config import ASEMConfig
from ._embedder import DEFAULT_EMBEDDER, Embedder, FunctionEmbedder, SentenceTransformerEmbedder, resolve_embedder
from ._enrich import Enrichment, HeuristicEnricher
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
from ._learned import LearnedManager
from ._lexical import BM25Index
from ._llm import LLM, SMOLLM2, Generation, HFTransformersLLM, LangChainLLM, MeteredLLM, offline_smollm2_path, resolve_llm
from ._llm_stages import Answer, AnswerAgent, LLMEnricher, LLMLinker, PromptedManager, resolve_relative_dates
from ._locomo import CATEGORY_NAMES, QA, Conversation, Turn, load_locomo
from ._manager import Decision, Fact, HeuristicManager, MemoryManager, Neighbour
from ._memory import ASEM, default_home, open_memory
from ._prompt import format_memories
from ._retrieval import zscore
from ._store import SCHEMA_VERSION
from ._types import Hit, Link, Note, Operation, OpType, Scope, Version
from ._utility import UtilityTable, value_rerank

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "SMOLLM2",
    "Generation",
    "HFTransformersLLM",
    "LangChainLLM",
    "MeteredLLM",
    "offline_smollm2_path",
    "resolve_llm",
    "Answer",
    "AnswerAgent",
    "LLMEnricher",
    "LLMLinker",
    "PromptedManager",
    "resolve_relative_dates",
    "LearnedManager",
    "LLMReplyError",
    "ASEM",
    "CATEGORY_NAMES",
    "DEFAULT_EMBEDDER",
    "QA",
    "SCHEMA_VERSION",
    "ASEMConfig",
    "ASEMError",
    "BM25Index",
    "ConfigError",
    "Conversation",
    "DataFormatError",
    "Decision",
    "Embedder",
    "Enrichment",
    "Fact",
    "FunctionEmbedder",
    "HeuristicEnricher",
    "HeuristicManager",
    "Hit",
    "InvalidInputError",
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
    "Turn",
    "UtilityTable",
    "Version",
    "__version__",
    "default_home",
    "format_memories",
    "load_locomo",
    "open_memory",
    "resolve_embedder",
    "value_rerank",
    "zscore",
]
