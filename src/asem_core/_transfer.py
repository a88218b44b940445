"""Export and import: notes with their full history as JSON lines."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from ._errors import DataFormatError
from ._store import ChromaStore
from ._types import Note, OpType, Scope, Version
from ._write import EmbedNotes

__all__ = ["export_jsonl", "import_jsonl"]


def export_jsonl(store: ChromaStore, scopes: Sequence[Scope], path: str | os.PathLike[str]) -> int:
    """Write every note of ``scopes`` with its history, one JSON object a line. Returns the note count."""
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for scope in scopes:
            for note in store.iter_notes(scope):
                history = [{"note": v.note.to_dict(), "op": v.op.value, "reason": v.reason, "at": v.at} for v in store.versions(note.id)]
                fh.write(json.dumps({"note": note.to_dict(), "history": history}, ensure_ascii=False) + "\n")
                count += 1
    return count


def import_jsonl(store: ChromaStore, path: str | os.PathLike[str], embed: EmbedNotes) -> dict[str, int]:
    """Load a file written by :func:`export_jsonl` (ids, utilities and history kept).

    Returns:
        Notes written per scope key.

    Raises:
        DataFormatError: The file is not an ASEM export; nothing is written.
    """
    rows: list[tuple[Note, list[Version]]] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                data = json.loads(line)
                note = Note.from_dict(data["note"])
                hist = [Version(Note.from_dict(v["note"]), OpType(v["op"]), str(v["reason"]), str(v["at"])) for v in data.get("history", [])]
                rows.append((note, hist))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        msg = f"{path}: not an ASEM export ({type(exc).__name__}: {exc})"
        raise DataFormatError(msg) from exc
    by_scope: dict[str, list[tuple[Note, list[Version]]]] = {}
    for row in rows:
        by_scope.setdefault(row[0].scope.key, []).append(row)
    for group in by_scope.values():
        notes = [r[0] for r in group]
        store.put_versions([v for r in group for v in r[1]])
        joint, intents = embed(notes, {})
        store.put_notes(notes, joint, intents)
    return {key: len(group) for key, group in by_scope.items()}
