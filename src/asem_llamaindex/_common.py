"""Helpers shared by the LlamaIndex adapters."""

from __future__ import annotations

from typing import Any

from asem_core import Hit

__all__ = ["hit_metadata"]


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
