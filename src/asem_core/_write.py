"""The write path: a typed change set (:class:`WritePlan`) and the one function that applies it.

Ingest, ``update``, ``delete`` and ``feedback`` each build a plan; :func:`apply_plan` turns it
into one :class:`~asem_core._journal.Batch` that the store records in its journal before writing
it in one fixed order — history first (every stored note has its history), then notes (with their
joint and intent embeddings), then the operation log — so the order every guarantee rests on
lives in one place, and a batch cut short by a crash is completed on the next open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._journal import Batch
from ._store import ChromaStore
from ._types import Link, Note, Operation, OpType, Scope, Version

__all__ = ["EmbedNotes", "WritePlan", "apply_plan"]

EmbedNotes = Callable[[Sequence[Note], Mapping[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]
"""``(notes, known intents) -> (joint, intent)`` embeddings of notes (intents in ``known`` are reused)."""


@dataclass
class WritePlan:
    """The changes one call makes to one scope, applied together by :func:`apply_plan`.

    Attributes:
        scope: The scope written.
        at: ISO time of the change.
        base: Notes as read from the store (what :meth:`current` falls back to).
        notes: Notes to write, new or changed (copies; ``base`` is never modified).
        versions: Note id -> (op, reason) of the new version each changed note gets.
        new_intents: Intent vectors of notes created by this plan.
        reembed: Existing notes whose content changed (their embeddings are recomputed).
        ops: Operations for the log (one per incoming fact or explicit call).
        log: Other log entries (e.g. FEEDBACK rows).
        utility_only: Only utilities (q, uses) change: no history, no re-read, no re-index.
    """

    scope: Scope
    at: str
    base: dict[str, Note] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)
    versions: dict[str, tuple[OpType, str]] = field(default_factory=dict)
    new_intents: dict[str, np.ndarray] = field(default_factory=dict)
    reembed: set[str] = field(default_factory=set)
    ops: list[Operation] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    utility_only: bool = False

    def current(self, note_id: str) -> Note:
        """The note as this plan has it (its pending change, else the stored copy)."""
        return self.notes.get(note_id) or self.base[note_id]

    def edit(self, note_id: str) -> Note:
        """A copy of the note to change in place; later calls return the same copy."""
        note = self.notes.get(note_id)
        if note is None:
            note = self.current(note_id).copy()
            self.notes[note_id] = note
        return note

    def create(self, note: Note, intent: np.ndarray, op: OpType, reason: str) -> None:
        """Add a new note (its intent vector is already known) with its first version."""
        self.notes[note.id] = note
        self.base[note.id] = note
        self.new_intents[note.id] = intent
        self.versions[note.id] = (op, reason)

    def change(self, note_id: str, op: OpType, reason: str, *, reembed: bool = False) -> Note:
        """Start a new version of an existing note (bumped version, ``updated_at``); returns the copy to edit."""
        note = self.edit(note_id)
        note.version, note.updated_at = note.version + 1, self.at
        self.versions[note_id] = (op, reason)
        if reembed:
            self.reembed.add(note_id)
        return note

    def link(self, a: str, b: str, relation: str, back: str | None = None) -> None:
        """Link two notes both ways, ``relation`` from ``a`` and ``back`` (default the same) from ``b``.

        A side that already links to the other is left as it is.
        """
        for src, dst, rel in ((a, b, relation), (b, a, back or relation)):
            if any(lk.target == dst for lk in self.current(src).links):
                continue
            self.edit(src).links.append(Link(dst, rel))

    def relabel(self, a: str, b: str, relation: str) -> None:
        """Give the "similar" link between two notes a relation label, on both sides."""
        for src, dst in ((a, b), (b, a)):
            note = self.edit(src)
            note.links = [Link(lk.target, relation) if lk.target == dst and lk.relation == "similar" else lk for lk in note.links]

    def log_entries(self) -> list[dict[str, Any]]:
        """The log rows of this plan: its operations, then the other entries."""
        rows = [{"op": o.op.value, "note_id": o.note_id, "target_id": o.target_id, "reason": o.reason, "text": o.text[:2000], "at": self.at} for o in self.ops]
        return rows + self.log


def _merge_fresh(store: ChromaStore, plan: WritePlan) -> None:
    """Re-read existing notes and merge this plan's changes into the fresh copies.

    Links and sources are united and utility is kept, so a writer in another process (through a
    Chroma server) loses no link, source or utility update made in the meantime.
    """
    existing = [nid for nid in plan.notes if nid not in plan.new_intents]
    if not existing:
        return
    fresh, _ = store.get_notes(plan.scope, existing)
    for current in fresh:
        mine = plan.notes[current.id]
        targets = {lk.target for lk in current.links}
        relabel = {lk.target: lk.relation for lk in mine.links}
        current.links = [Link(lk.target, relabel[lk.target]) if lk.relation == "similar" and lk.target in relabel else lk for lk in current.links]
        current.links += [lk for lk in mine.links if lk.target not in targets]
        current.source_ids += [sid for sid in mine.source_ids if sid not in current.source_ids]
        if current.id in plan.versions:
            current.content, current.valid, current.timestamp = mine.content, mine.valid, mine.timestamp
            current.keywords, current.updated_at = mine.keywords, mine.updated_at
            current.tags, current.context = mine.tags, mine.context
            current.metadata = mine.metadata
            current.version = max(current.version + 1, mine.version)
        plan.notes[current.id] = current


def apply_plan(store: ChromaStore, plan: WritePlan, embed: EmbedNotes) -> None:
    """Write a plan as one journaled batch (history, notes, intent vectors, log; see :mod:`asem_core._journal`).

    A utility-only plan writes ``q`` and ``uses`` alone, so a feedback that read a note before
    another client deleted or updated it cannot bring the old content, validity or version back.
    Other writes of an existing note leave its utility as stored.

    Args:
        store: The store.
        plan: The changes.
        embed: Computes the embeddings of new and re-embedded notes.
    """
    batch = Batch(plan.scope)
    if plan.notes and plan.utility_only:
        batch.put_utilities(plan.notes.values())
    elif plan.notes:
        _merge_fresh(store, plan)
        new = set(plan.new_intents)
        to_embed = [n for nid, n in plan.notes.items() if nid in new or nid in plan.reembed]
        plain = [n for nid, n in plan.notes.items() if nid not in new and nid not in plan.reembed]
        batch.put_versions([Version(plan.notes[nid], op, reason, plan.at) for nid, (op, reason) in plan.versions.items()])
        if to_embed:
            joint, intents = embed(to_embed, {k: v for k, v in plan.new_intents.items() if k not in plan.reembed})
            batch.put_notes(to_embed, joint, intents, utility=new)
        if plain:
            batch.put_notes(plain, utility=False)
    batch.put_log(plan.log_entries())
    store.commit(batch)
