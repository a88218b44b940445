"""LangChain integration of ASEM: a classic-chain memory, a retriever, a LangGraph store and agent tools.

Thin adapters over :mod:`asem_core`; install with ``pip install asem[langchain]``.
"""

from ._memory import ASEMMemory
from ._retriever import ASEMRetriever
from ._store import ASEMStore
from ._tools import create_memory_tools

__all__ = ["ASEMMemory", "ASEMRetriever", "ASEMStore", "create_memory_tools"]
