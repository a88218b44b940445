"""Helpers shared by the LangChain adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from asem_core import ASEM, Hit, InvalidInputError

__all__ = ["hit_to_document", "resolve_memory"]


def resolve_memory(memory: ASEM | str | Path | None) -> ASEM:
    """An :class:`ASEM` from an instance, a store folder, or ``None`` (the default store under ``$ASEM_HOME``)."""
    if isinstance(memory, ASEM):
        return memory
    if memory is None:
        return ASEM()
    if isinstance(memory, (str, Path)):
        return ASEM(path=memory)
    msg = f"memory must be an ASEM instance or a store path, got {type(memory).__name__}"
    raise InvalidInputError(msg)


def hit_to_document(hit: Hit) -> Document:
    """A LangChain ``Document`` for a hit: the note text, with its fields as metadata."""
    note = hit.note
    metadata: dict[str, Any] = {
        "note_id": note.id,
        "q": hit.utility,
        "similarity": hit.similarity,
        "score": hit.score,
        "timestamp": note.timestamp,
        "keywords": list(note.keywords),
        "tags": list(note.tags),
        "links": [link.target for link in note.links],
        "source_ids": list(note.source_ids),
        **{f"meta_{k}": v for k, v in note.metadata.items()},
    }
    return Document(page_content=note.content, metadata=metadata, id=note.id)
