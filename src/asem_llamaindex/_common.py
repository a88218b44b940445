"""Helpers shared by the LlamaIndex adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asem_core import ASEM, Hit, InvalidInputError

__all__ = ["hit_metadata", "resolve_memory"]


def resolve_memory(memory: ASEM | str | Path | None) -> ASEM:
    """An :class:`ASEM` from an instance, a store folder, or ``None`` (the default store)."""
    if isinstance(memory, ASEM):
        return memory
    if memory is None:
        return ASEM()
    if isinstance(memory, (str, Path)):
        return ASEM(path=memory)
    msg = f"memory must be an ASEM instance or a store path, got {type(memory).__name__}"
    raise InvalidInputError(msg)


def hit_metadata(hit: Hit) -> dict[str, Any]:
    """Note fields a node carries as metadata."""
    note = hit.note
    return {
        "note_id": note.id,
        "timestamp": note.timestamp,
        "q": hit.utility,
        "similarity": hit.similarity,
        "keywords": list(note.keywords),
        "tags": list(note.tags),
        "context": note.context,
        "links": [link.target for link in note.links],
        "source_ids": list(note.source_ids),
        **{f"meta_{k}": v for k, v in note.metadata.items() if isinstance(v, (str, int, float, bool))},
    }
