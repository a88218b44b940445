"""Helpers shared by the LangChain adapters."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document

from asem_core import Hit

__all__ = ["hit_to_document"]


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
