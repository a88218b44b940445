"""The wire format of ASEM: typed request and response models (pydantic), shared by the REST API, the MCP server and ``asem --json``."""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from asem_core import Hit, Note, Operation, Version

__all__ = [
    "AddManyRequest",
    "AddRequest",
    "FeedbackRequest",
    "HitOut",
    "LinkOut",
    "NoteOut",
    "OperationOut",
    "ScopeArgs",
    "ScopeFields",
    "SearchRequest",
    "UpdateRequest",
    "VersionOut",
    "hit_out",
    "note_out",
    "operation_out",
    "version_out",
]


class ScopeArgs(TypedDict):
    """A scope as keyword arguments of :class:`~asem_core.ASEM` calls."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None


class ScopeFields(BaseModel):
    """The scope a call acts in: a user, an agent, a session, or a combination."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, description="Scope: user.")
    agent_id: str | None = Field(default=None, description="Scope: agent.")
    session_id: str | None = Field(default=None, description="Scope: session.")

    def scope(self) -> ScopeArgs:
        """The scope as keyword arguments of :class:`~asem_core.ASEM` calls."""
        return ScopeArgs(user_id=self.user_id, agent_id=self.agent_id, session_id=self.session_id)


class AddRequest(ScopeFields):
    """Add one fact through the memory manager."""

    text: str = Field(description="The fact.")
    timestamp: str | float | None = Field(default=None, description="When it happened (ISO 8601, a written date or epoch seconds; default now).")
    metadata: dict[str, Any] | None = Field(default=None, description="Kept unchanged on the note; 'speaker' and 'source_id' are understood.")


class AddManyRequest(ScopeFields):
    """Add many facts in one batch."""

    items: list[str | dict[str, Any]] = Field(description="Strings or objects {text, timestamp, metadata}.")
    link_adjacent: bool | None = Field(default=None, description="Link consecutive items ('follows'); default from the config.")


class SearchRequest(ScopeFields):
    """Two-phase, value-aware search."""

    query: str = Field(description="What to look for.")
    k: int | None = Field(default=None, description="Hits to return (default the config's k2).")
    min_similarity: float | None = Field(default=None, description="Drop hits whose cosine similarity is below this.")
    filters: dict[str, Any] | None = Field(default=None, description="Metadata filter, e.g. {'speaker': 'Caroline', 'timestamp': {'$gte': '2023-05-01'}}.")


class FeedbackRequest(ScopeFields):
    """Reward the notes used in an answer: q <- q + alpha (r - q)."""

    reward: float = Field(description="r in [-1, 1].")
    note_ids: list[str] | None = Field(default=None, description="Notes used (default: the hits of the last search in this scope).")


class UpdateRequest(ScopeFields):
    """Replace a note's content with a new version (the old one stays in the history)."""

    text: str = Field(description="The new content.")
    metadata: dict[str, Any] | None = Field(default=None, description="Metadata keys to set (others are kept).")
    reason: str = Field(default="explicit update", description="Logged with the change.")


class LinkOut(BaseModel):
    """A typed link to another note."""

    target: str = Field(description="Id of the linked note.")
    relation: str = Field(description="Free-form relation, e.g. 'follows' or 'superseded_by'.")


class NoteOut(BaseModel):
    """An atomic memory note."""

    id: str
    content: str
    timestamp: str = Field(description="ISO time of the event.")
    keywords: list[str]
    tags: list[str]
    context: str
    links: list[LinkOut]
    q: float = Field(description="Learned utility.")
    uses: int = Field(description="Feedback updates received.")
    scope: dict[str, str | None]
    created_at: str
    updated_at: str
    valid: bool = Field(description="False once deleted (it stays in the history).")
    version: int
    metadata: dict[str, Any]
    source_ids: list[str]


class HitOut(BaseModel):
    """A search result with the figures of both phases."""

    note: NoteOut
    score: float = Field(description="Phase-B score (1-lambda) z(relevance) + lambda z(q).")
    similarity: float = Field(description="Cosine similarity of the query to the note.")
    relevance: float = Field(description="Phase-A fused relevance.")
    utility: float = Field(description="The note's q at search time.")
    channels: list[str] = Field(description="Channels that recalled the note: dense, lexical, link.")


class OperationOut(BaseModel):
    """What happened to one fact or call."""

    op: str = Field(description="ADD, UPDATE, DELETE or NOOP.")
    note_id: str | None
    reason: str
    text: str
    target_id: str | None
    added_id: str | None


class VersionOut(BaseModel):
    """One version of a note in its history."""

    note: NoteOut
    op: str
    reason: str
    at: str


def note_out(note: Note) -> NoteOut:
    """A :class:`~asem_core.Note` on the wire."""
    return NoteOut(
        id=note.id,
        content=note.content,
        timestamp=note.timestamp,
        keywords=list(note.keywords),
        tags=list(note.tags),
        context=note.context,
        links=[LinkOut(target=link.target, relation=link.relation) for link in note.links],
        q=note.q,
        uses=note.uses,
        scope={"user_id": note.scope.user_id, "agent_id": note.scope.agent_id, "session_id": note.scope.session_id},
        created_at=note.created_at,
        updated_at=note.updated_at,
        valid=note.valid,
        version=note.version,
        metadata=dict(note.metadata),
        source_ids=list(note.source_ids),
    )


def hit_out(hit: Hit) -> HitOut:
    """A :class:`~asem_core.Hit` on the wire."""
    return HitOut(
        note=note_out(hit.note), score=hit.score, similarity=hit.similarity, relevance=hit.relevance, utility=hit.utility, channels=list(hit.channels)
    )


def operation_out(op: Operation) -> OperationOut:
    """An :class:`~asem_core.Operation` on the wire."""
    return OperationOut(op=op.op.value, note_id=op.note_id, reason=op.reason, text=op.text, target_id=op.target_id, added_id=op.added_id)


def version_out(version: Version) -> VersionOut:
    """A :class:`~asem_core.Version` on the wire."""
    return VersionOut(note=note_out(version.note), op=version.op.value, reason=version.reason, at=version.at)
