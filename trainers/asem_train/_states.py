"""Training states built by replaying LoCoMo-format conversations with the reference (heuristic) policy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from asem_core import ASEM, ASEMConfig, Decision, Embedder, Fact, HeuristicManager, Neighbour, Note
from asem_core.locomo import Conversation
from asem_core.manager import is_superseded
from asem_core.training import REFUSAL, answer_messages, ingest_sessions, manager_messages

__all__ = ["AnswerState", "ManagerState", "build_answer_states", "build_manager_states", "neighbour_dict", "replay", "state_note"]


@dataclass
class ManagerState:
    """One decision of the memory manager, with what is needed to score any operation.

    Attributes:
        conversation: Sample id.
        source_id: The turn the fact came from.
        fact: The fact text.
        timestamp: Its time.
        speaker: Who said it.
        neighbours: The nearest valid notes: ``id``, ``content``, ``timestamp``, ``speaker``,
            ``similarity``, ``source_ids``.
        questions: Questions whose evidence is the fact's turn or a neighbour's source turn:
            ``question``, ``answer``, ``evidence``, ``category``.
        reference: The heuristic policy's operation (for information, not a label).
        truth: For generated knowledge-update states: turn id -> (subject, value) of every turn
            so far (see :mod:`asem_train._update_states`); empty for LoCoMo states.
    """

    conversation: str
    source_id: str
    fact: str
    timestamp: str
    speaker: str | None
    neighbours: list[dict[str, Any]]
    questions: list[dict[str, Any]] = field(default_factory=list)
    reference: str = ""
    truth: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> str:
        """The state as a JSON string (a dataset column)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> ManagerState:
        """Rebuild a state from :meth:`to_json` output (or its dict)."""
        data = json.loads(text) if isinstance(text, str) else text
        return cls(**data)

    def fact_obj(self) -> Fact:
        """The fact as the manager sees it."""
        return Fact(self.fact, self.timestamp, self.speaker, {"source_id": self.source_id})

    def neighbour_objs(self) -> list[Neighbour]:
        """The neighbours as the manager sees them."""
        return [Neighbour(state_note(n), float(n["similarity"])) for n in self.neighbours]

    def messages(self) -> list[dict[str, str]]:
        """The prompted manager's prompt for this state."""
        return manager_messages(self.fact_obj(), self.neighbour_objs())


def neighbour_dict(n: Neighbour) -> dict[str, Any]:
    """A neighbour as a state stores it: id, content, time, speaker, similarity, sources and whether it is superseded."""
    return {
        "id": n.note.id,
        "content": n.note.content,
        "timestamp": n.note.timestamp,
        "speaker": n.note.metadata.get("speaker"),
        "similarity": round(n.similarity, 4),
        "source_ids": list(n.note.source_ids),
        "superseded": is_superseded(n.note),
    }


def state_note(n: dict[str, Any]) -> Note:
    """A neighbour dict of a state as a :class:`Note`."""
    meta = {"speaker": n["speaker"]} if n.get("speaker") else {}
    return Note(id=n["id"], content=n["content"], timestamp=n.get("timestamp", ""), metadata=meta, source_ids=list(n.get("source_ids", [])))


class _Recorder:
    """Wraps the heuristic policy and records every (fact, neighbours, decision)."""

    def __init__(self, config: ASEMConfig) -> None:
        self.inner = HeuristicManager(config)
        self.name = "heuristic"
        self.seen: list[tuple[Fact, list[Neighbour], Decision]] = []

    def decide(self, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
        decision = self.inner.decide(fact, neighbours)
        self.seen.append((fact, list(neighbours), decision))
        return decision


def replay(mem: ASEM, conv: Conversation, max_turns: int | None = None) -> set[str]:
    """Ingest a conversation (or its first turns) session by session; return the turn ids ingested."""
    turns = conv.turns[:max_turns] if max_turns else conv.turns
    ingest_sessions(mem, [t.as_item() for t in turns], user_id=conv.sample_id)
    return {t.dia_id for t in turns}


def _by_evidence(conv: Conversation) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for qa in conv.qa:
        if qa.category == 5:
            continue
        row = {"question": qa.question, "answer": qa.answer, "evidence": list(qa.evidence), "category": qa.category}
        for ev in qa.evidence:
            out.setdefault(ev, []).append(row)
    return out


def build_manager_states(
    convs: Sequence[Conversation],
    embedder: Embedder,
    config: ASEMConfig | None = None,
    *,
    min_similarity: float | None = None,
    max_turns: int | None = None,
) -> list[ManagerState]:
    """Replay each conversation in order with the heuristic policy and record its decisions.

    Only decisions the prompted manager would be asked about are kept: those whose nearest
    note reaches ``min_similarity`` (default ``config.llm_manager_gate``).

    Args:
        convs: Conversations (LoCoMo format).
        embedder: The embedder of the replayed memory.
        config: Thresholds of the reference policy.
        min_similarity: Keep states whose best neighbour is at least this similar.
        max_turns: Replay only the first turns of each conversation.
    """
    cfg = config or ASEMConfig()
    gate = cfg.llm_manager_gate if min_similarity is None else min_similarity
    states: list[ManagerState] = []
    for conv in convs:
        recorder = _Recorder(cfg)
        mem = ASEM.ephemeral(embedder=embedder, manager=recorder, config=cfg)
        replay(mem, conv, max_turns)
        evidence = _by_evidence(conv)
        for fact, near, decision in recorder.seen:
            if not near or max(n.similarity for n in near) < gate:
                continue
            sid = str(fact.metadata.get("source_id", ""))
            sources = {sid} | {s for n in near for s in n.note.source_ids}
            questions = {q["question"]: q for s in sorted(sources) for q in evidence.get(s, [])}
            neighbours = [neighbour_dict(n) for n in near]
            states.append(ManagerState(conv.sample_id, sid, fact.text, fact.timestamp, fact.speaker, neighbours, list(questions.values()), decision.op.value))
        mem.close()
    return states


@dataclass
class AnswerState:
    """One question with the notes the memory retrieves for it and the gold answer."""

    conversation: str
    question: str
    answer: str
    category: int
    notes: list[dict[str, Any]]

    def to_json(self) -> str:
        """The state as a JSON string."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> AnswerState:
        """Rebuild from :meth:`to_json` output."""
        data = json.loads(text) if isinstance(text, str) else text
        return cls(**data)

    def note_objs(self) -> list[Note]:
        """The retrieved notes."""
        return [state_note(n) for n in self.notes]

    def messages(self) -> list[dict[str, str]]:
        """The answer agent's prompt for this state."""
        return answer_messages(self.question, self.note_objs())


def build_answer_states(convs: Sequence[Conversation], embedder: Embedder, *, k: int = 5, max_turns: int | None = None) -> list[AnswerState]:
    """Ingest each conversation with the LLM-free default and record the top-``k`` notes per question.

    Adversarial questions (category 5) get the refusal as their gold answer.
    """
    states: list[AnswerState] = []
    for conv in convs:
        mem = ASEM.ephemeral(embedder=embedder)
        kept = replay(mem, conv, max_turns)
        for qa in conv.qa:
            if not qa.evidence or not set(qa.evidence) <= kept:
                continue
            hits = mem.search(qa.question, user_id=conv.sample_id, k=k)
            notes = [
                {
                    "id": h.note.id,
                    "content": h.note.content,
                    "timestamp": h.note.timestamp,
                    "speaker": h.note.metadata.get("speaker"),
                    "source_ids": h.note.source_ids,
                }
                for h in hits
            ]
            gold = REFUSAL if qa.category == 5 else qa.answer
            states.append(AnswerState(conv.sample_id, qa.question, gold, qa.category, notes))
        mem.close()
    return states
