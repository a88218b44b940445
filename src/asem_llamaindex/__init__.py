"""LlamaIndex integration of ASEM: a retriever, a value-aware node postprocessor and a memory block.

Thin adapters over :mod:`asem_core`; install with ``pip install asem[llamaindex]``. The adapters (and
LlamaIndex) are imported on first use of a name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._memory_block import ASEMMemoryBlock
    from ._postprocessor import ValueAwareRerank
    from ._retriever import ASEMRetriever

__all__ = ["ASEMMemoryBlock", "ASEMRetriever", "ValueAwareRerank"]

_HOMES = {"ASEMMemoryBlock": "._memory_block", "ValueAwareRerank": "._postprocessor", "ASEMRetriever": "._retriever"}
"""Where each public name lives: its module is imported on first use, so ``import asem_llamaindex`` stays cheap."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
