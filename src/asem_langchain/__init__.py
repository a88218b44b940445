"""LangChain integration of ASEM: a classic-chain memory, a retriever and agent tools.

Thin adapters over :mod:`asem_core`; install with ``pip install asem[langchain]``.
"""

from ._memory import ASEMMemory
from ._retriever import ASEMRetriever
from ._tools import create_memory_tools

__all__ = ["ASEMMemory", "ASEMRetriever", "create_memory_tools"]
