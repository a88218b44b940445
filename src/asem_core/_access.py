"""Reading and editing notes of a scope: get, all, update, delete, history, log, stats, export/import.

A part of :class:`~asem_core.ASEM` (a mixin; it holds no state of its own).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidInputError, NoteNotFoundError
from ._ingest import IngestPipeline, check_metadata
from ._text import now_iso, validate_text
from ._transfer import export_jsonl, import_jsonl
from ._types import Note, Operation, OpType, Scope, Version
from ._write import WritePlan

__all__ = ["NoteAccess"]


class NoteAccess(IngestPipeline):
    """Explicit reads and edits of notes (part of :class:`~asem_core.ASEM`)."""

    # ------------------------------------------------------------------ helpers
    def _covered(self, scope: Scope) -> list[Scope]:
        """The scope and the narrower scopes beneath it (a user's sessions and agents)."""
        return [scope, *self.store.scopes_under(scope)]

    def _locate(self, scope: Scope, ids: Sequence[str]) -> dict[Scope, list[Note]]:
        """The notes of ``ids`` grouped by the scope that holds them, among ``scope`` and those beneath it."""
        found: dict[Scope, list[Note]] = {}
        rest = list(dict.fromkeys(ids))
        for candidate in self._covered(scope):
            if not rest:
                break
            notes, _ = self.store.get_notes(candidate, rest)
            if notes:
                found[candidate] = notes
                have = {n.id for n in notes}
                rest = [i for i in rest if i not in have]
        return found

    def _find(self, note_id: str, scope: Scope) -> tuple[Scope, Note]:
        """The note and the scope that holds it (``scope`` or one beneath it)."""
        if not isinstance(note_id, str) or not note_id:
            msg = f"note id must be a non-empty string, got {note_id!r}"
            raise InvalidInputError(msg)
        for owner, notes in self._locate(scope, [note_id]).items():
            return owner, notes[0]
        msg = f"no note {note_id!r} in scope {scope} or beneath it"
        raise NoteNotFoundError(msg)

    # ------------------------------------------------------------------ explicit edits and reads
    def _existing(self, scope: Scope, note_ids: Sequence[str]) -> list[str]:
        """``note_ids`` without repeats, checked to be notes of ``scope`` or beneath it.

        Raises:
            InvalidInputError: An id that is not a non-empty string.
            NoteNotFoundError: An id that is not there.
        """
        ids = list(dict.fromkeys(note_ids))
        if not all(isinstance(i, str) and i for i in ids):
            msg = f"note_ids must be note id strings, got {note_ids!r}"
            raise InvalidInputError(msg)
        have = {n.id for notes in self._locate(scope, ids).values() for n in notes}
        missing = [i for i in ids if i not in have]
        if missing:
            msg = f"no note(s) {missing} in scope {scope} or beneath it; nothing was stored"
            raise NoteNotFoundError(msg)
        return ids

    def get(self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> Note:
        """One note of a scope (valid or not). Raises :class:`NoteNotFoundError` if absent."""
        return self._find(note_id, Scope(user_id, agent_id, session_id))[1]

    def all(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, include_invalid: bool = False) -> list[Note]:
        """Every note of a scope and the narrower scopes beneath it, oldest first (deleted ones only with ``include_invalid``)."""
        covered = self._covered(Scope(user_id, agent_id, session_id))
        notes = [n for s in covered for n in self.store.iter_notes(s) if include_invalid or n.valid]
        notes.sort(key=lambda n: (n.created_at, n.timestamp))
        return notes

    def update(
        self,
        note_id: str,
        text: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        reason: str = "explicit update",
        metadata: Mapping[str, Any] | None = None,
    ) -> Operation:
        """Replace a note's content (and optionally its metadata) with a new version; the old one stays in :meth:`history`.

        Args:
            note_id: The note.
            text: Its new content.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            reason: Logged with the change.
            metadata: Keys to set in the note's metadata (others are kept).
        """
        text = validate_text(text, self.config.max_text_chars)
        extra = check_metadata(metadata, "update")
        with self._lock:
            scope, note = self._find(note_id, Scope(user_id, agent_id, session_id))
            if not note.valid:
                msg = f"note {note_id!r} was deleted; add the fact again instead of updating it"
                raise InvalidInputError(msg)
            state = self._state(scope)
            plan = WritePlan(scope, now_iso(), base={note.id: note})
            changed = plan.change(note.id, OpType.UPDATE, reason, reembed=True)
            changed.content, changed.metadata = text, {**note.metadata, **extra}
            enr = self.enricher.enrich([text], [note.timestamp], [changed.speaker], self._embed([text]))[0]
            changed.keywords, changed.tags, changed.context = enr.keywords, enr.tags, enr.context
            plan.ops.append(Operation(OpType.UPDATE, note.id, reason, text, note.id))
            self._apply(plan, state)
            return plan.ops[0]

    def delete(
        self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, reason: str = "explicit delete"
    ) -> Operation:
        """Mark a note invalid: it leaves search results but stays readable in :meth:`history`."""
        with self._lock:
            scope, note = self._find(note_id, Scope(user_id, agent_id, session_id))
            if not note.valid:
                return Operation(OpType.NOOP, note.id, "already deleted", "", note.id)
            state = self._state(scope)
            plan = WritePlan(scope, now_iso(), base={note.id: note})
            plan.change(note.id, OpType.DELETE, reason).valid = False
            plan.ops.append(Operation(OpType.DELETE, note.id, reason, "", note.id))
            self._apply(plan, state)
            return plan.ops[0]

    def delete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, reason: str = "delete_all"
    ) -> list[Operation]:
        """Mark every note of a scope and the narrower scopes beneath it deleted.

        Soft, like :meth:`delete`: each note keeps its versions in :meth:`history` and the log
        records one DELETE per note. One atomic write per scope.

        Returns:
            One DELETE operation per note that was valid.

        Raises:
            InvalidInputError: No scope id was given (the whole store is never wiped by accident).
        """
        scope = Scope(user_id, agent_id, session_id)
        if scope.is_global:
            msg = "delete_all needs user_id, agent_id or session_id"
            raise InvalidInputError(msg)
        done: list[Operation] = []
        with self._lock:
            for owner in self._covered(scope):
                notes = [n for n in self.store.iter_notes(owner) if n.valid]
                if not notes:
                    continue
                state = self._state(owner)
                plan = WritePlan(owner, now_iso(), base={n.id: n for n in notes})
                for note in notes:
                    plan.change(note.id, OpType.DELETE, reason).valid = False
                    plan.ops.append(Operation(OpType.DELETE, note.id, reason, "", note.id))
                self._apply(plan, state)
                done += plan.ops
        return done

    def scopes(self) -> list[dict[str, Any]]:
        """Every scope of the store that holds notes or did, with its count of valid notes (``{"user_id": ..., "notes": 3}``)."""
        return [{**s.to_dict(), "notes": sum(1 for n in self.store.iter_notes(s) if n.valid)} for s in self.store.scopes()]

    def history(self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> list[Version]:
        """Every version of a note, oldest first."""
        owner, _ = self._find(note_id, Scope(user_id, agent_id, session_id))
        return self.store.versions(owner, note_id)

    def operations(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The operation log of a scope and the narrower scopes beneath it (every write with its reason), oldest first."""
        rows = [row for s in self._covered(Scope(user_id, agent_id, session_id)) for row in self.store.ops(s)]
        rows.sort(key=lambda r: r["seq"])
        return rows[-limit:] if limit else rows

    def stats(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Counts for a scope and the narrower scopes beneath it, or for the whole store when no scope id is given."""
        scopes = self._covered(Scope(user_id, agent_id, session_id)) if (user_id or agent_id or session_id) else self.store.scopes()
        notes = valid = links = 0
        for scope in scopes:
            for note in self.store.iter_notes(scope):
                notes += 1
                valid += int(note.valid)
                links += len(note.links)
        return {
            "notes": notes,
            "valid_notes": valid,
            "deleted_notes": notes - valid,
            "links": links,
            "scopes": len(scopes),
            "manager": self.manager.name,
            "embedder": self.embedder.name,
            "llm": None,
            "llm_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "llm_seconds": 0.0,
            "llm_stages": {},
            **(self.llm.totals() if self.llm is not None else {}),
            **self._counters,
        }

    # ------------------------------------------------------------------ export / import
    def export(self, path: str | os.PathLike[str], *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> int:
        """Write notes with their full history as JSONL (a scope and those beneath it, or all). Returns the note count."""
        scopes = self._covered(Scope(user_id, agent_id, session_id)) if (user_id or agent_id or session_id) else self.store.scopes()
        return export_jsonl(self.store, scopes, path)

    def import_(self, path: str | os.PathLike[str]) -> int:
        """Load a JSONL dump written by :meth:`export` (ids, utilities, history and operation log kept): all of it or nothing.

        The whole file is checked before anything is written. Notes the store already holds at
        the same or a newer version are left as they are, so importing a file twice changes
        nothing. A note id that belongs to another scope of this store is refused.

        Returns:
            The number of notes written.

        Raises:
            DataFormatError: The file is not a valid ASEM export (each problem is listed with its
                line); nothing is written.
            StoreError: A write failed; what this import had written was removed again.
        """
        with self._lock:
            scopes = import_jsonl(self.store, path, self._embeddings_for, self.config.max_text_chars)
            for key in scopes:
                self._states.pop(key, None)
            return sum(scopes.values())
