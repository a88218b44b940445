"""Export and import: notes with their full history, and the operation log, as JSON lines.

A file holds one line per note (``{"note": ..., "history": [...]}``) and one line per logged
operation (``{"log": ..., "scope": ...}``). Import is all-or-nothing: the whole file is checked
first (every problem reported with its line), then written scope by scope through the journal;
if a write still fails, what this import wrote is removed again. Re-importing a file changes
nothing: notes the store holds at the same or a newer version, history versions and log rows
it already has are left as they are.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import DataFormatError, InvalidInputError, StoreError
from ._import_check import ExportFile, LogLine, NoteLine, parse_export
from ._journal import Batch
from ._store import ChromaStore
from ._types import Scope
from ._write import EmbedNotes

__all__ = ["export_jsonl", "import_jsonl"]

_MAX_PROBLEMS = 50
_CHUNK = 500


def check_path(path: object, what: str) -> Path:
    """``path`` as a :class:`Path`, or :class:`InvalidInputError` unless it is a str or an ``os.PathLike``."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        msg = f"{what} must be a file path (str or os.PathLike), got {path!r}"
        raise InvalidInputError(msg)
    return Path(path)


def export_jsonl(store: ChromaStore, scopes: Sequence[Scope], path: str | os.PathLike[str]) -> int:
    """Write every note of ``scopes`` with its history, then each scope's operation log. Returns the note count."""
    path = check_path(path, "export path")
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for scope in scopes:
            for note in store.iter_notes(scope):
                history = [{"note": v.note.to_dict(), "op": v.op.value, "reason": v.reason, "at": v.at} for v in store.versions(scope, note.id)]
                fh.write(json.dumps({"note": note.to_dict(), "history": history}, ensure_ascii=False) + "\n")
                count += 1
            for row in store.ops(scope):
                fh.write(json.dumps({"log": row, "scope": scope.to_dict()}, ensure_ascii=False, default=str) + "\n")
    return count


def _read(path: str | os.PathLike[str]) -> tuple[list[tuple[int, object]], list[str]]:
    """The decoded JSON value of every non-blank line, and the lines that are not JSON."""
    try:
        raw = check_path(path, "import path").read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the file ({exc})"
        raise DataFormatError(msg) from exc
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is accepted
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text ({exc})"
        raise DataFormatError(msg) from exc
    values: list[tuple[int, object]] = []
    problems: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, json.loads(line)))
        except (json.JSONDecodeError, RecursionError) as exc:
            problems.append(f"line {number}: not JSON ({type(exc).__name__}: {exc})")
    return values, problems


@dataclass
class _Stored:
    """What the store already holds of the file's ids, read once: history (note id -> {(scope key, version)}) and log owners."""

    history: dict[str, set[tuple[str, int]]]
    log_owner: dict[str, str]

    @classmethod
    def read(cls, store: ChromaStore, parsed: ExportFile) -> _Stored:
        ids = [e.note.id for e in parsed.notes]
        history: dict[str, set[tuple[str, int]]] = {}
        for start in range(0, len(ids), _CHUNK):
            for row in store.history_rows(ids[start : start + _CHUNK]):
                history.setdefault(str(row.metadata.get("note_id")), set()).add((str(row.metadata.get("scope")), int(row.metadata.get("version", 0))))
        log_ids = [str(x.row["id"]) for x in parsed.log]
        log_owner: dict[str, str] = {}
        for start in range(0, len(log_ids), _CHUNK):
            log_owner.update(store.log_owners(log_ids[start : start + _CHUNK]))
        return cls(history, log_owner)


def _cross_check(store: ChromaStore, parsed: ExportFile, stored: _Stored) -> list[str]:
    """Problems between the file and the store: ids of another scope, links to unknown notes, repeated log ids."""
    problems: list[str] = []
    in_file = {(e.note.scope.key, e.note.id) for e in parsed.notes}
    for entry in parsed.notes:
        others = {key for key, _ in stored.history.get(entry.note.id, set())} - {entry.note.scope.key}
        if others:
            problems.append(f"line {entry.line}: note id {entry.note.id!r} belongs to another scope in this store")
        missing = sorted({lk.target for lk in entry.note.links if (entry.note.scope.key, lk.target) not in in_file})
        if missing:
            found = {n.id for n in store.get_notes(entry.note.scope, missing)[0]}
            lost = [t for t in missing if t not in found]
            if lost:
                problems.append(f"line {entry.line}: links to note(s) {lost[:5]} that are neither in the file nor in scope {entry.note.scope}")
    seen: dict[str, int] = {}
    for log in parsed.log:
        row_id = str(log.row["id"])
        first = seen.setdefault(row_id, log.line)
        if first != log.line:
            problems.append(f"line {log.line}: log id {row_id!r} already appears on line {first}")
        elif stored.log_owner.get(row_id, log.scope.key) != log.scope.key:
            problems.append(f"line {log.line}: log id {row_id!r} belongs to another scope in this store")
    return problems


@dataclass
class _ScopeImport:
    """What an import writes to one scope, and what undoes it."""

    scope: Scope
    batch: Batch
    restore: Batch
    new_notes: list[str] = field(default_factory=list)
    new_scope: bool = False
    record: str = field(default_factory=lambda: uuid.uuid4().hex)


def _plan(store: ChromaStore, scope: Scope, notes: list[NoteLine], logs: list[LogLine], known: _Stored, embed: EmbedNotes) -> _ScopeImport:
    ids = [e.note.id for e in notes]
    stored = {n.id: n for start in range(0, len(ids), _CHUNK) for n in store.get_notes(scope, ids[start : start + _CHUNK])[0]}
    have = {(nid, version) for nid in ids for key, version in known.history.get(nid, set()) if key == scope.key}
    write = [e.note for e in notes if e.note.id not in stored or stored[e.note.id].version < e.note.version]
    job = _ScopeImport(scope, Batch(scope), Batch(scope), [n.id for n in write if n.id not in stored], not store.has_scope(scope))
    job.batch.put_versions([v for e in notes for v in e.history if (v.note.id, v.note.version) not in have])
    if write:
        joint, intents = embed(write, {})
        job.batch.put_notes(write, joint, intents, utility=True)
    replaced = [n.id for n in write if n.id in stored]
    if replaced:  # notes the file has at a newer version: keep their stored rows to put back on failure
        old, vectors = store.get_notes(scope, replaced, embeddings=True)
        old_intents = store.intent_embeddings(scope, replaced)
        job.restore.put_notes(old, vectors, None, utility=True)
        job.restore.intents.update(old_intents)
    job.batch.put_log([x.row for x in logs if str(x.row["id"]) not in known.log_owner])
    return job


def _undo(store: ChromaStore, job: _ScopeImport) -> None:
    store.forget(job.record)
    if job.new_scope:
        store.drop_scope(job.scope)
    store.delete_rows(job.scope, job.new_notes, [r.id for r in job.batch.history], [r.id for r in job.batch.log])
    if job.restore:
        store.write_rows(job.restore)


def import_jsonl(store: ChromaStore, path: str | os.PathLike[str], embed: EmbedNotes, max_text_chars: int) -> dict[str, int]:
    """Load a file written by :func:`export_jsonl`: all of it, or nothing.

    Returns:
        Notes written per scope key (0 for a scope whose notes the store already had).

    Raises:
        DataFormatError: The file is not a valid ASEM export (every problem is listed with its
            line); nothing is written.
        StoreError: A write failed; what this import had written is removed again.
    """
    values, problems = _read(path)
    parsed = parse_export(values, max_text_chars)
    problems += parsed.problems
    known = _Stored.read(store, parsed) if not problems else _Stored({}, {})
    if not problems:
        problems += _cross_check(store, parsed, known)
    if problems:
        more = f"\n... and {len(problems) - _MAX_PROBLEMS} more" if len(problems) > _MAX_PROBLEMS else ""
        msg = f"{path}: not a valid ASEM export, nothing was imported ({len(problems)} problem(s)):\n" + "\n".join(problems[:_MAX_PROBLEMS]) + more
        raise DataFormatError(msg)
    groups: dict[str, tuple[Scope, list[NoteLine], list[LogLine]]] = {}
    for entry in parsed.notes:
        groups.setdefault(entry.note.scope.key, (entry.note.scope, [], []))[1].append(entry)
    for log in parsed.log:
        groups.setdefault(log.scope.key, (log.scope, [], []))[2].append(log)
    jobs = [_plan(store, scope, notes, logs, known, embed) for scope, notes, logs in groups.values()]
    done: list[_ScopeImport] = []
    try:
        for job in jobs:
            done.append(job)
            store.commit(job.batch, record=job.record)
    except StoreError as exc:
        for job in reversed(done):
            _undo(store, job)
        msg = f"{path}: a write failed, and what this import had written was removed again ({exc})"
        raise StoreError(msg) from exc
    return {job.scope.key: sum(1 for r in job.batch.notes if r.embedding is not None) for job in jobs}
