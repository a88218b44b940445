"""How the CLI prints hits and notes for people (``--json`` prints the wire format instead)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["print_hits", "print_notes", "short"]


def short(text: str, width: int = 110) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) < width else text[: width - 3] + "..."


def print_hits(hits: Sequence[dict[str, Any]]) -> None:
    """Ranked hits (wire format), two lines each."""
    for rank, hit in enumerate(hits, start=1):
        note = hit["note"]
        print(f"{rank:2d}. [{note['timestamp'][:10]}] {short(note['content'])}")
        print(f"    score={hit['score']:+.2f} sim={hit['similarity']:.2f} q={hit['utility']:.2f} id={note['id']} via {'+'.join(hit['channels'])}")


def print_notes(notes: Sequence[dict[str, Any]]) -> None:
    """Notes (wire format), one line each."""
    for note in notes:
        state = "" if note["valid"] else " (deleted)"
        print(f"{note['id']}  v{note['version']}  q={note['q']:.2f}  [{note['timestamp'][:10]}] {short(note['content'], 90)}{state}")
