"""The memory manager: for each new fact, ADD, UPDATE(target), DELETE(target) or NOOP.

Every policy implements :class:`MemoryManager`. The heuristic policy here needs no LLM; the
prompted and GRPO-trained policies plug into the same interface.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ._config import ASEMConfig
from ._text import STOPWORDS
from ._types import Note, OpType

__all__ = ["Decision", "Fact", "HeuristicManager", "MemoryManager", "Neighbour", "resolve_manager"]


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
    """

    op: OpType
    reason: str
    target_id: str | None = None
    content: str | None = None


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


_NEGATION = re.compile(
    r"\b(no longer|not anymore|any ?more|stopped|quit|gave up|don't have|do not have|isn't|aren't|wasn't|never|sold|moved out|broke up|left)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[a-z0-9']+")


def _speaker(note: Note) -> str | None:
    value = note.metadata.get("speaker")
    return str(value) if value is not None else None


def _content_words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if w not in STOPWORDS}


def _extends(old: str, new: str) -> bool:
    """True when the new text holds every content word of the old one, and more."""
    old_words, new_words = _content_words(old), _content_words(new)
    return bool(old_words) and old_words < new_words


def _merge(old: str, new: str) -> str:
    """Content that keeps both facts: the new one alone when it already contains the old words."""
    old_words = set(_WORDS.findall(old.lower()))
    new_words = set(_WORDS.findall(new.lower()))
    if old_words and old_words <= new_words:
        return new
    return f"{old.rstrip()} {new.strip()}"


class HeuristicManager:
    """A fast policy without an LLM, on intent similarity and the speaker.

    - similarity ≥ ``duplicate_threshold``: NOOP (near-duplicate; its provenance is merged);
    - similarity ≥ ``extension_threshold``, same speaker, and the fact holds every content word
      of the note and more: UPDATE to the new text (it keeps the old fact);
    - similarity ≥ ``update_threshold``, same speaker, and the fact negates the note: DELETE
      the note (kept in history) and add the fact;
    - similarity ≥ ``update_threshold``, same speaker: UPDATE with content that keeps both facts;
    - otherwise: ADD.

    Args:
        config: Thresholds come from here.
    """

    name = "heuristic"

    def __init__(self, config: ASEMConfig | None = None) -> None:
        self.config = config or ASEMConfig()

    def decide(self, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
        """See :meth:`MemoryManager.decide`."""
        if not neighbours:
            return Decision(OpType.ADD, "no similar note in memory")
        best = max(neighbours, key=lambda n: n.similarity)
        sim = best.similarity
        if sim >= self.config.duplicate_threshold:
            return Decision(OpType.NOOP, f"near-duplicate of note {best.note.id} (similarity {sim:.3f})", best.note.id)
        if _speaker(best.note) != fact.speaker:
            return Decision(OpType.ADD, f"new fact (closest note {best.note.id} is another speaker's, similarity {sim:.3f})")
        negates = bool(_NEGATION.search(fact.text)) and not _NEGATION.search(best.note.content)
        if sim >= self.config.update_threshold and negates:
            return Decision(OpType.DELETE, f"contradicts note {best.note.id} (similarity {sim:.3f}, negation)", best.note.id)
        if not negates and sim >= self.config.extension_threshold and _extends(best.note.content, fact.text):
            return Decision(OpType.UPDATE, f"extends note {best.note.id} (similarity {sim:.3f}): the new text keeps the old fact", best.note.id, fact.text)
        if sim >= self.config.update_threshold:
            return Decision(
                OpType.UPDATE,
                f"same subject as note {best.note.id} (similarity {sim:.3f}): complement kept with it",
                best.note.id,
                _merge(best.note.content, fact.text),
            )
        return Decision(OpType.ADD, f"new fact (closest note similarity {sim:.3f})")


def resolve_manager(spec: MemoryManager | str | None, config: ASEMConfig, llm: Any = None) -> MemoryManager:
    """Turn ``manager=`` into a policy.

    Args:
        spec: ``None`` (the prompted LLM when ``llm`` is given and ``"manage"`` is among
            ``config.llm_stages``, else the heuristic), ``"heuristic"``, ``"prompted"`` (needs
            ``llm``), ``"grpo:PATH"`` (a manager trained by ``asem-train manager``), or a
            :class:`MemoryManager`.
        config: Thresholds and gates.
        llm: The memory's metered LLM, if any.

    Raises:
        ConfigError: An unknown name, or ``"prompted"`` without an LLM.
        ModelLoadError: A ``grpo:`` adapter that is missing or does not fit.
    """
    from ._errors import ConfigError

    if spec is None:
        if llm is not None and "manage" in config.llm_stages:
            from ._llm_stages import PromptedManager

            return PromptedManager(llm, config)
        return HeuristicManager(config)
    if spec == "heuristic":
        return HeuristicManager(config)
    if spec == "prompted":
        if llm is None:
            msg = "manager='prompted' needs an LLM: pass llm='smollm2' (or a hub id, folder or LangChain chat model)"
            raise ConfigError(msg)
        from ._llm_stages import PromptedManager

        return PromptedManager(llm, config)
    if isinstance(spec, str) and spec.startswith("grpo:"):
        from ._learned import LearnedManager

        return LearnedManager.from_pretrained(spec[len("grpo:") :], config)
    if isinstance(spec, str):
        msg = f"unknown manager {spec!r}: use 'heuristic', 'prompted', 'grpo:PATH' or pass a MemoryManager instance"
        raise ConfigError(msg)
    if not isinstance(spec, MemoryManager):
        msg = f"manager must implement MemoryManager (a .name and .decide(fact, neighbours)), got {type(spec).__name__}"
        raise ConfigError(msg)
    return spec
