"""Typed records returned by ASEM: notes, scopes, operations and search hits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._errors import InvalidInputError
from ._text import require_unicode

__all__ = ["SUPERSEDED_BY", "SUPERSEDES", "Hit", "Link", "Note", "OpType", "Operation", "Scope", "Version"]

_SCOPE_MAX = 256


@dataclass(frozen=True)
class Scope:
    """Who a note belongs to. Notes of one scope are never visible from another.

    Attributes:
        user_id: The end user the memory is about.
        agent_id: The agent that owns the memory.
        session_id: A single conversation or run.
    """

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        """Check that every given id is a short non-empty string."""
        for name in ("user_id", "agent_id", "session_id"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                msg = f"{name} must be a string or None, got {type(value).__name__}"
                raise InvalidInputError(msg)
            if not value.strip() or len(value) > _SCOPE_MAX:
                msg = f"{name} must be a non-empty string of at most {_SCOPE_MAX} characters"
                raise InvalidInputError(msg)
            require_unicode(value, name)

    @property
    def key(self) -> str:
        """A stable, collection-name-safe key for this scope."""
        raw = json.dumps([self.user_id, self.agent_id, self.session_id])
        return hashlib.sha1(raw.encode()).hexdigest()[:20]

    def to_dict(self) -> dict[str, str]:
        """The ids that are set, as a dict."""
        return {k: v for k, v in (("user_id", self.user_id), ("agent_id", self.agent_id), ("session_id", self.session_id)) if v is not None}

    @property
    def is_global(self) -> bool:
        """True for the scope with no id (it covers nothing but itself)."""
        return self.user_id is None and self.agent_id is None and self.session_id is None

    def covers(self, other: Scope) -> bool:
        """True when ``other`` lies beneath this scope: every id this scope sets, ``other`` sets the same.

        The global scope (no id) covers only itself, so a call without ids never reaches a user's notes.
        """
        if self.is_global:
            return other.is_global
        return all(v is None or getattr(other, k) == v for k, v in (("user_id", self.user_id), ("agent_id", self.agent_id), ("session_id", self.session_id)))

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.to_dict().items()) or "global"


class OpType(StrEnum):
    """What the memory manager did with a fact."""

    ADD = "ADD"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    NOOP = "NOOP"
    EVOLVE = "EVOLVE"
    """A neighbour's tags/context revised by link evolution (only in note histories)."""


SUPERSEDES = "supersedes"
"""Relation of the link from a newer note to the older note of the same slot it replaces."""
SUPERSEDED_BY = "superseded_by"
"""Relation of the link from a replaced note to the newer one."""


@dataclass(frozen=True)
class Link:
    """A directed, labelled link from one note to another (stored on both ends)."""

    target: str
    relation: str = "related"


@dataclass
class Note:
    """An atomic memory note.

    Attributes:
        id: Unique id of the note.
        content: The fact, as text.
        timestamp: ISO time of the event the note came from (not of ingestion).
        keywords: Salient terms of the content.
        tags: Broader categories.
        context: One line of context (speaker, date, topic).
        links: Links to other notes.
        q: Learned utility value.
        uses: How many feedback updates touched the note.
        scope: Owner of the note.
        created_at: ISO time the note was first written.
        updated_at: ISO time of the last change.
        valid: False once the note was deleted (it stays in history).
        version: Current version number (1 for a new note).
        metadata: What the caller passed to ``add``, unchanged.
        source_ids: Every ``metadata["source_id"]`` that went into the note.
    """

    id: str
    content: str
    timestamp: str
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    context: str = ""
    links: list[Link] = field(default_factory=list)
    q: float = 0.5
    uses: int = 0
    scope: Scope = field(default_factory=Scope)
    created_at: str = ""
    updated_at: str = ""
    valid: bool = True
    version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    source_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with every field."""
        return {
            "id": self.id,
            "content": self.content,
            "timestamp": self.timestamp,
            "keywords": list(self.keywords),
            "tags": list(self.tags),
            "context": self.context,
            "links": [{"target": link.target, "relation": link.relation} for link in self.links],
            "q": self.q,
            "uses": self.uses,
            "scope": self.scope.to_dict(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "valid": self.valid,
            "version": self.version,
            "metadata": self.metadata,
            "source_ids": list(self.source_ids),
        }

    @property
    def speaker(self) -> str | None:
        """``metadata["speaker"]`` as a string, when the note has one."""
        value = self.metadata.get("speaker")
        return str(value) if value is not None else None

    def copy(self) -> Note:
        """A deep copy (lists, links and metadata are not shared)."""
        return Note.from_dict(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Note:
        """Rebuild a note from :meth:`to_dict` output."""
        return cls(
            id=str(data["id"]),
            content=str(data["content"]),
            timestamp=str(data.get("timestamp", "")),
            keywords=list(data.get("keywords", [])),
            tags=list(data.get("tags", [])),
            context=str(data.get("context", "")),
            links=[Link(str(x["target"]), str(x.get("relation", "related"))) for x in data.get("links", [])],
            q=float(data.get("q", 0.5)),
            uses=int(data.get("uses", 0)),
            scope=Scope(**data.get("scope", {})),
            created_at=str(data.get("created_at", "")),
            updated_at=str(data.get("updated_at", "")),
            valid=bool(data.get("valid", True)),
            version=int(data.get("version", 1)),
            metadata=dict(data.get("metadata", {})),
            source_ids=[str(s) for s in data.get("source_ids", [])],
        )


@dataclass(frozen=True)
class Version:
    """One version of a note, as kept in its history.

    Attributes:
        note: The note as it was at this version.
        op: The operation that produced this version.
        reason: Why the manager (or the caller) made the change.
        at: ISO time of the change.
    """

    note: Note
    op: OpType
    reason: str
    at: str


@dataclass(frozen=True)
class Operation:
    """What happened to one incoming fact (or one explicit call).

    Attributes:
        op: ADD, UPDATE, DELETE or NOOP.
        note_id: The note written, changed or matched (None for a NOOP on nothing).
        target_id: The existing note the manager chose as target, if any.
        reason: Human-readable reason, always set.
        text: The incoming fact.
        added_id: For DELETE: the id of the note that holds the incoming fact.
    """

    op: OpType
    note_id: str | None
    reason: str
    text: str = ""
    target_id: str | None = None
    added_id: str | None = None


@dataclass(frozen=True)
class Hit:
    """A search result.

    Attributes:
        note: The note found.
        score: Final phase-B score, (1-λ)·z(relevance) + λ·z(q).
        similarity: Cosine similarity of the query to the note's embedding.
        relevance: Phase-A fused relevance (dense, lexical and link channels).
        utility: The note's utility q at search time.
        channels: Which channels recalled the note ("dense", "lexical", "link").
    """

    note: Note
    score: float
    similarity: float
    relevance: float
    utility: float
    channels: tuple[str, ...] = ()
