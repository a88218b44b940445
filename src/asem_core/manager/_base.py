"""The manager contract: a fact, its neighbours, a decision, and the policy protocol.

Every policy (heuristic, prompted, learned, add-only) implements :class:`MemoryManager`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._types import Note, OpType

__all__ = ["AddOnlyManager", "Decision", "Fact", "MemoryManager", "Neighbour", "check_decision"]


@dataclass(frozen=True)
class Fact:
    """An incoming fact, as the manager sees it.

    Attributes:
        text: The fact.
        timestamp: ISO time of the event.
        speaker: Who said it, when known.
        metadata: The caller's metadata.
    """

    text: str
    timestamp: str
    speaker: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Neighbour:
    """An existing valid note near the fact, with the cosine similarity of their intents."""

    note: Note
    similarity: float


@dataclass(frozen=True)
class Decision:
    """The manager's choice.

    Attributes:
        op: The operation.
        reason: Why; always logged.
        target_id: For UPDATE, DELETE and NOOP: the existing note concerned.
        content: For UPDATE: the new content of the target (must keep both facts).
        supersedes: For ADD: an existing note the new fact replaces as the current value of the
            same slot (linked ``supersedes`` / ``superseded_by``; the old note stays valid).
    """

    op: OpType
    reason: str
    target_id: str | None = None
    content: str | None = None
    supersedes: str | None = None


@runtime_checkable
class MemoryManager(Protocol):
    """A policy that decides what to do with a fact given its nearest notes."""

    name: str

    def decide(self, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
        """Choose an operation for ``fact``.

        Args:
            fact: The incoming fact.
            neighbours: Valid notes of the same scope, most similar first.

        Returns:
            The decision. A target must be one of ``neighbours``.
        """
        ...


class AddOnlyManager:
    """Every fact becomes a new note (``add_many(..., manage=False)``; the add-only design of Mem0 2026)."""

    name = "add-only"

    def decide(self, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
        """Always ADD."""
        return Decision(OpType.ADD, "added directly (manage=False)")


def check_decision(decision: Decision, allowed: set[str]) -> Decision:
    """A decision whose target is unknown (or missing) falls back to ADD: the fact is never lost."""
    if decision.op is OpType.ADD:
        if decision.supersedes is not None and decision.supersedes not in allowed:
            return Decision(OpType.ADD, f"{decision.reason} (unknown note {decision.supersedes!r} to supersede: added without the link)")
        return decision
    if decision.target_id is None and decision.op is OpType.NOOP:
        return decision
    if decision.target_id not in allowed:
        return Decision(OpType.ADD, f"manager chose {decision.op.value} on unknown target {decision.target_id!r}; added instead")
    return decision
