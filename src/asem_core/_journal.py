"""Rows of the store and the write-ahead journal that makes every batch of writes whole.

A :class:`Batch` holds every row one call writes to one scope: history versions, notes (with
their joint and intent vectors, or metadata only), utilities, and operation-log entries, each
with its final id and value. :meth:`~asem_core._store.ChromaStore.commit` first records the
batch in the store's journal collection (one upsert), then writes the rows, then drops the
record. A process killed in between leaves the record behind, and the next open replays it:
every row is an upsert of a fixed id to a fixed value, so replaying a batch that was already
partly (or wholly) written gives the same store as an uninterrupted run.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ._types import Link, Note, OpType, Scope, Version

__all__ = ["DUMMY", "Batch", "NoteRow", "Row", "chunks", "history_id", "note_to_record", "record_to_note", "version_document", "version_from_document"]

DUMMY = [1.0]
"""The embedding of rows that are looked up by id only (history, log, journal, meta)."""

_UTILITY = ("q", "uses")


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()
    except (ValueError, OverflowError, OSError):
        return 0.0


def note_to_record(note: Note, utility: bool = True) -> dict[str, Any]:
    """Encode a note as Chroma metadata (flat; an empty list is written as None, which removes the key).

    Args:
        note: The note.
        utility: Include ``q`` and ``uses``. Writes of an existing note leave them out, so only
            :meth:`Batch.put_utilities` ever changes a stored utility (and nothing else).
    """
    meta: dict[str, Any] = {
        "ts": note.timestamp,
        "ts_epoch": _epoch(note.timestamp),
        "ctx": note.context,
        "created": note.created_at,
        "updated": note.updated_at,
        "valid": bool(note.valid),
        "version": int(note.version),
        "meta": json.dumps(note.metadata, ensure_ascii=False, default=str),
        "kw": list(note.keywords) or None,
        "tags": list(note.tags) or None,
        "links": [link.target for link in note.links] or None,
        "rels": [link.relation for link in note.links] or None,
        "src": list(note.source_ids) or None,
    }
    if utility:
        meta.update(q=float(note.q), uses=int(note.uses))
    meta.update(note.scope.to_dict())
    return meta


def record_to_note(note_id: str, content: str, meta: dict[str, Any]) -> Note:
    """Decode Chroma metadata written by :func:`note_to_record`."""
    targets = list(meta.get("links") or [])
    rels = list(meta.get("rels") or [])
    rels += ["related"] * (len(targets) - len(rels))
    return Note(
        id=note_id,
        content=content,
        timestamp=str(meta.get("ts", "")),
        keywords=list(meta.get("kw") or []),
        tags=list(meta.get("tags") or []),
        context=str(meta.get("ctx", "")),
        links=[Link(t, r) for t, r in zip(targets, rels)],
        q=float(meta.get("q", 0.5)),
        uses=int(meta.get("uses", 0)),
        scope=Scope(meta.get("user_id"), meta.get("agent_id"), meta.get("session_id")),
        created_at=str(meta.get("created", "")),
        updated_at=str(meta.get("updated", "")),
        valid=bool(meta.get("valid", True)),
        version=int(meta.get("version", 1)),
        metadata=json.loads(meta.get("meta") or "{}"),
        source_ids=list(meta.get("src") or []),
    )


def history_id(scope: Scope, note_id: str, version: int) -> str:
    """The id of a history row: scoped, so no write in one scope can reach another scope's history."""
    return f"{scope.key}:{note_id}@{version}"


def version_document(version: Version) -> str:
    """The JSON document of a history row."""
    return json.dumps({"note": version.note.to_dict(), "op": version.op.value, "reason": version.reason, "at": version.at}, ensure_ascii=False, default=str)


def version_from_document(document: str) -> Version:
    """Decode :func:`version_document`."""
    data = json.loads(document)
    return Version(Note.from_dict(data["note"]), OpType(data["op"]), data["reason"], data["at"])


@dataclass
class Row:
    """A row looked up by id: history, log (its embedding is :data:`DUMMY`)."""

    id: str
    document: str
    metadata: dict[str, Any]


@dataclass
class NoteRow:
    """A note row: full (document, metadata, joint vector) or metadata only (merged into the stored row)."""

    id: str
    metadata: dict[str, Any]
    document: str | None = None
    embedding: np.ndarray | None = None


def _vec(data: np.ndarray) -> str:
    return base64.b64encode(np.asarray(data, dtype=np.float32).tobytes()).decode("ascii")


def _unvec(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).copy()


@dataclass
class Batch:
    """Every row one call writes to one scope, with final ids and values (see the module docstring).

    Attributes:
        scope: The scope written.
        history: History rows.
        notes: Note rows (full or metadata only).
        intents: Intent vectors by note id.
        log: Operation-log rows.
    """

    scope: Scope
    history: list[Row] = field(default_factory=list)
    notes: list[NoteRow] = field(default_factory=list)
    intents: dict[str, np.ndarray] = field(default_factory=dict)
    log: list[Row] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.history or self.notes or self.intents or self.log)

    def put_versions(self, versions: Iterable[Version]) -> None:
        """History rows of these versions."""
        for v in versions:
            meta = {"note_id": v.note.id, "version": v.note.version, "scope": v.note.scope.key}
            self.history.append(Row(history_id(v.note.scope, v.note.id, v.note.version), version_document(v), meta))

    def put_notes(self, notes: Sequence[Note], joint: np.ndarray | None = None, intents: np.ndarray | None = None, *, utility: bool | set[str] = True) -> None:
        """Note rows: full rows with ``joint`` vectors, else metadata only.

        Args:
            notes: The notes.
            joint: Their joint vectors (the content changed or the note is new).
            intents: Their intent vectors.
            utility: Write q and uses: True for all, False for none, or the ids that get them
                (new notes); other rows keep whatever utility the store has.
        """
        for k, note in enumerate(notes):
            with_q = utility if isinstance(utility, bool) else note.id in utility
            meta = note_to_record(note, with_q)
            if joint is None:
                self.notes.append(NoteRow(note.id, meta))
            else:
                self.notes.append(NoteRow(note.id, meta, note.content, np.asarray(joint[k], dtype=np.float32)))
            if intents is not None:
                self.intents[note.id] = np.asarray(intents[k], dtype=np.float32)

    def put_utilities(self, notes: Iterable[Note]) -> None:
        """Rows that change only ``q`` and ``uses`` of stored notes (never content, validity or version)."""
        self.notes.extend(NoteRow(n.id, {"q": float(n.q), "uses": int(n.uses)}) for n in notes)

    def put_log(self, entries: Sequence[dict[str, Any]]) -> None:
        """Operation-log rows (each entry has at least ``op``, ``reason`` and ``at``; ids and order fixed now)."""
        base = time.time_ns()
        for i, e in enumerate(entries):
            seq = int(e.get("seq", base + i))
            row_id = str(e.get("id") or uuid.uuid4().hex)
            doc = json.dumps({**e, "id": row_id, "seq": seq}, ensure_ascii=False, default=str)
            self.log.append(Row(row_id, doc, {"scope": self.scope.key, "op": str(e["op"]), "seq": seq}))

    # ------------------------------------------------------------------ the journal record
    def to_json(self) -> str:
        """The batch as one JSON text (vectors as base64 float32)."""
        return json.dumps(
            {
                "scope": self.scope.to_dict(),
                "history": [[r.id, r.document, r.metadata] for r in self.history],
                "notes": [[r.id, r.metadata, r.document, _vec(r.embedding) if r.embedding is not None else None] for r in self.notes],
                "intents": [[k, _vec(v)] for k, v in self.intents.items()],
                "log": [[r.id, r.document, r.metadata] for r in self.log],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Batch:
        """Decode :meth:`to_json`."""
        data = json.loads(text)
        return cls(
            scope=Scope(**data["scope"]),
            history=[Row(*r) for r in data["history"]],
            notes=[NoteRow(i, m, d, _unvec(e) if e is not None else None) for i, m, d, e in data["notes"]],
            intents={k: _unvec(v) for k, v in data["intents"]},
            log=[Row(*r) for r in data["log"]],
        )


def chunks(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters (at least one piece)."""
    return [text[i : i + size] for i in range(0, max(len(text), 1), size)] or [""]
