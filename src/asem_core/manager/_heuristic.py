"""The heuristic manager: ADD / UPDATE / DELETE / NOOP on intent similarity and the speaker, no LLM."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._config import ASEMConfig
from .._text import content_words, merge_texts
from .._types import OpType
from ._base import Decision, Fact, Neighbour
from ._supersede import superseded_neighbour

__all__ = ["HeuristicManager"]


_NEGATION = re.compile(
    r"\b(no longer|not anymore|any ?more|stopped|quit|gave up|don't have|do not have|isn't|aren't|wasn't|never|sold|moved out|broke up|left)\b",
    re.IGNORECASE,
)


def _nothing_new(old: str, new: str, short: int) -> bool:
    """True unless a short new statement adds a content word (a name, a number) the old one lacks."""
    new_words = content_words(new)
    return len(new_words) > short or new_words <= content_words(old)


def _extends(old: str, new: str) -> bool:
    """True when the new text holds every content word of the old one, and more."""
    old_words, new_words = content_words(old), content_words(new)
    return bool(old_words) and old_words < new_words


class HeuristicManager:
    """A fast policy without an LLM, on intent similarity and the speaker.

    - similarity ≥ ``duplicate_threshold``: NOOP (near-duplicate; its provenance is merged);
    - similarity ≥ ``extension_threshold``, same speaker, and the fact holds every content word
      of the note and more: UPDATE to the new text (it keeps the old fact);
    - similarity ≥ ``update_threshold``, same speaker, and the fact negates the note: DELETE
      the note (kept in history) and add the fact;
    - similarity ≥ ``supersede_threshold``, same speaker, both about the speaker, and the fact
      announces a change of the same slot: ADD it with a ``supersedes`` link to the note (which
      stays valid, for questions about the past);
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
        if sim >= self.config.duplicate_threshold and _nothing_new(best.note.content, fact.text, self.config.supersede_max_words):
            return Decision(OpType.NOOP, f"near-duplicate of note {best.note.id} (similarity {sim:.3f})", best.note.id)
        same_speaker = best.note.speaker == fact.speaker
        negates = bool(_NEGATION.search(fact.text)) and not _NEGATION.search(best.note.content)
        if same_speaker and sim >= self.config.update_threshold and negates:
            return Decision(OpType.DELETE, f"contradicts note {best.note.id} (similarity {sim:.3f}, negation)", best.note.id)
        old = superseded_neighbour(fact, neighbours, self.config)
        if old is not None:
            reason = f"supersedes note {old.note.id}: same speaker and slot, newer value (similarity {old.similarity:.3f})"
            return Decision(OpType.ADD, reason, old.note.id, supersedes=old.note.id)
        if not same_speaker:
            return Decision(OpType.ADD, f"new fact (closest note {best.note.id} is another speaker's, similarity {sim:.3f})")
        if not negates and sim >= self.config.extension_threshold and _extends(best.note.content, fact.text):
            return Decision(OpType.UPDATE, f"extends note {best.note.id} (similarity {sim:.3f}): the new text keeps the old fact", best.note.id, fact.text)
        if sim >= self.config.update_threshold:
            return Decision(
                OpType.UPDATE,
                f"same subject as note {best.note.id} (similarity {sim:.3f}): complement kept with it",
                best.note.id,
                merge_texts(best.note.content, fact.text),
            )
        return Decision(OpType.ADD, f"new fact (closest note similarity {sim:.3f})")
