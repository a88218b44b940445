"""Validation of an export file before anything of it is written (see :mod:`asem_core._transfer`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidInputError
from ._ingest import check_metadata
from ._text import normalize_timestamp, require_unicode, validate_text
from ._types import Link, Note, OpType, Scope, Version

__all__ = ["ExportFile", "LogLine", "NoteLine", "parse_export"]

_NOTE_KEYS = {
    "id",
    "content",
    "timestamp",
    "keywords",
    "tags",
    "context",
    "links",
    "q",
    "uses",
    "scope",
    "created_at",
    "updated_at",
    "valid",
    "version",
    "metadata",
    "source_ids",
}
_REQUIRED = {"id", "content", "timestamp", "scope", "valid", "version"}
_MAX_ID = 256


@dataclass
class NoteLine:
    """A note of the file with its history, and the line it came from."""

    line: int
    note: Note
    history: list[Version]


@dataclass
class LogLine:
    """An operation-log row of the file."""

    line: int
    scope: Scope
    row: dict[str, Any]


@dataclass
class ExportFile:
    """A parsed export file; ``problems`` lists every defect found, with its line."""

    notes: list[NoteLine] = field(default_factory=list)
    log: list[LogLine] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _fail(msg: str) -> InvalidInputError:
    return InvalidInputError(msg)


def _string(value: object, what: str, allow_empty: bool = True, limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(f"{what} must be a string, got {type(value).__name__}")
    if not allow_empty and not value:
        raise _fail(f"{what} is empty")
    if limit is not None and len(value) > limit:
        raise _fail(f"{what} is longer than {limit} characters")
    require_unicode(value, what)
    return value


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list):
        raise _fail(f"{what} must be a list of strings")
    return [_string(v, f"{what}[{i}]") for i, v in enumerate(value)]


def _int(value: object, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(f"{what} must be an integer >= {low}, got {value!r}")
    return value


def _time(value: object, what: str, allow_empty: bool) -> str:
    text = _string(value, what)
    if not text and allow_empty:
        return text
    normal = normalize_timestamp(text, what)
    if normal != text:
        raise _fail(f"{what} must be an ISO time as ASEM writes it (e.g. {normal!r}), got {text!r}")
    return text


def _note(data: object, what: str, max_chars: int) -> Note:
    """A note dict of an export, checked field by field."""
    if not isinstance(data, Mapping):
        raise _fail(f"{what} must be an object")
    unknown = set(data) - _NOTE_KEYS
    missing = _REQUIRED - set(data)
    if unknown or missing:
        raise _fail(f"{what}: " + "; ".join([f"unknown field(s) {sorted(unknown)}"] * bool(unknown) + [f"missing field(s) {sorted(missing)}"] * bool(missing)))
    scope = data["scope"]
    if not isinstance(scope, Mapping) or set(scope) - {"user_id", "agent_id", "session_id"}:
        raise _fail(f"{what}.scope must be an object with user_id, agent_id and/or session_id")
    links = data.get("links", [])
    if not isinstance(links, list) or not all(isinstance(lk, Mapping) and set(lk) <= {"target", "relation"} and "target" in lk for lk in links):
        raise _fail(f"{what}.links must be a list of {{'target', 'relation'}} objects")
    q = data.get("q", 0.5)
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) or not -1.0 <= q <= 1.0:
        raise _fail(f"{what}.q must be a finite number in [-1, 1], got {q!r}")
    if not isinstance(data["valid"], bool):
        raise _fail(f"{what}.valid must be true or false, got {data['valid']!r}")
    return Note(
        id=_string(data["id"], f"{what}.id", allow_empty=False, limit=_MAX_ID),
        content=validate_text(data["content"], max_chars, f"{what}.content"),
        timestamp=_time(data["timestamp"], f"{what}.timestamp", allow_empty=False),
        keywords=_strings(data.get("keywords", []), f"{what}.keywords"),
        tags=_strings(data.get("tags", []), f"{what}.tags"),
        context=_string(data.get("context", ""), f"{what}.context"),
        links=[Link(_string(lk["target"], f"{what}.links.target", False), _string(lk.get("relation", "related"), f"{what}.links.relation")) for lk in links],
        q=float(q),
        uses=_int(data.get("uses", 0), f"{what}.uses", 0),
        scope=Scope(**scope),
        created_at=_time(data.get("created_at", ""), f"{what}.created_at", allow_empty=True),
        updated_at=_time(data.get("updated_at", ""), f"{what}.updated_at", allow_empty=True),
        valid=data["valid"],
        version=_int(data["version"], f"{what}.version", 1),
        metadata=check_metadata(data.get("metadata", {}), f"{what}.metadata"),
        source_ids=_strings(data.get("source_ids", []), f"{what}.source_ids"),
    )


def _note_line(data: Mapping[str, Any], line: int, max_chars: int) -> NoteLine:
    note = _note(data["note"], "note", max_chars)
    history = data.get("history")
    if not isinstance(history, list) or not history:
        raise _fail("history must be a non-empty list (every note has at least its first version)")
    versions: list[Version] = []
    for k, entry in enumerate(history):
        what = f"history[{k}]"
        if not isinstance(entry, Mapping) or set(entry) != {"note", "op", "reason", "at"}:
            raise _fail(f"{what} must be an object with exactly note, op, reason and at")
        old = _note(entry["note"], f"{what}.note", max_chars)
        if old.id != note.id or old.scope != note.scope:
            raise _fail(f"{what} belongs to note {old.id!r} of scope {old.scope}, not to {note.id!r} of scope {note.scope}")
        if entry["op"] not in {o.value for o in OpType}:
            raise _fail(f"{what}.op must be one of {[o.value for o in OpType]}, got {entry['op']!r}")
        versions.append(Version(old, OpType(entry["op"]), _string(entry["reason"], f"{what}.reason"), _time(entry["at"], f"{what}.at", True)))
    numbers = [v.note.version for v in versions]
    if len(set(numbers)) != len(numbers):
        raise _fail(f"history repeats a version: {numbers}")
    if max(numbers) != note.version:
        raise _fail(f"history ends at version {max(numbers)} but the note is at version {note.version}")
    return NoteLine(line, note, sorted(versions, key=lambda v: v.note.version))


def _log_line(data: Mapping[str, Any], line: int) -> LogLine:
    row, scope = data["log"], data.get("scope")
    if not isinstance(scope, Mapping) or set(scope) - {"user_id", "agent_id", "session_id"}:
        raise _fail("scope must be an object with user_id, agent_id and/or session_id")
    if not isinstance(row, Mapping):
        raise _fail("log must be an object")
    _string(row.get("id"), "log.id", allow_empty=False, limit=_MAX_ID)
    _string(row.get("op"), "log.op", allow_empty=False, limit=40)
    _string(row.get("reason", ""), "log.reason")
    _int(row.get("seq"), "log.seq", 0)
    check_metadata(row, "log")
    return LogLine(line, Scope(**scope), dict(row))


def parse_export(lines: Sequence[tuple[int, object]], max_chars: int) -> ExportFile:
    """Check every decoded line of an export: (line number, JSON value) pairs.

    Every problem is collected with its line number; nothing stops at the first.
    """
    out = ExportFile()
    seen: dict[str, int] = {}
    for number, data in lines:
        try:
            if not isinstance(data, Mapping):
                raise _fail("each line must be a JSON object")
            if set(data) == {"note", "history"}:
                entry = _note_line(data, number, max_chars)
                first = seen.setdefault(entry.note.id, number)
                if first != number:
                    raise _fail(f"note id {entry.note.id!r} already appears on line {first}")
                out.notes.append(entry)
            elif set(data) == {"log", "scope"}:
                out.log.append(_log_line(data, number))
            else:
                raise _fail(f"not an ASEM export line (keys {sorted(data)[:6]}; expected note+history or log+scope)")
        except InvalidInputError as exc:
            out.problems.append(f"line {number}: {exc}")
    return out
