"""LlamaIndex integration of ASEM: a retriever, a value-aware node postprocessor and a memory block.

Thin adapters over :mod:`asem_core`; install with ``pip install asem[llamaindex]``.
"""

from ._memory_block import ASEMMemoryBlock
from ._postprocessor import ValueAwareRerank
from ._retriever import ASEMRetriever

__all__ = ["ASEMMemoryBlock", "ASEMRetriever", "ValueAwareRerank"]
