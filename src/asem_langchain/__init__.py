"""LangChain integration of ASEM: a classic-chain memory, a retriever, a LangGraph store and agent tools.

Thin adapters over :mod:`asem_core`; install with ``pip install asem[langchain]``. The adapters (and
LangChain) are imported on first use of a name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._memory import ASEMMemory
    from ._retriever import ASEMRetriever
    from ._store import ASEMStore
    from ._tools import create_memory_tools

__all__ = ["ASEMMemory", "ASEMRetriever", "ASEMStore", "create_memory_tools"]

_HOMES = {"ASEMMemory": "._memory", "ASEMRetriever": "._retriever", "ASEMStore": "._store", "create_memory_tools": "._tools"}
"""Where each public name lives: its module is imported on first use, so ``import asem_langchain`` stays cheap."""


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
