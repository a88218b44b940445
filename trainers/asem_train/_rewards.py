"""Outcome rewards for GRPO (no operation labels), as plain functions in TRL's reward signature.

Each reward takes ``completions`` (the sampled replies, text after the prompt's pre-filled
prefix) and the dataset column ``state`` (JSON of a :class:`ManagerState` or
:class:`AnswerState`) and returns one float per completion; TRL adds them with the config's
weights.

Manager rewards (Memory-R1 style, outcome-based):

- :func:`format_reward`: 0 for a reply the prompted manager accepts, -1 for invalid JSON, an
  unknown op or a target that is not one of the numbered memories;
- :func:`manager_reward`: apply the operation to a copy of the state's bank (its neighbours),
  then score how well the questions tied to the fact or to those notes can be answered from
  the resulting bank: for each question, the best token recall of the gold answer among the
  two notes retrieved for it (by overlap of stemmed content words), averaged;
- :func:`fragmentation_reward`: -0.5 for an ADD that duplicates an existing note;
- :func:`current_reward`: on generated knowledge-update states, whether the memory after the
  operation holds every present value, leaves no superseded value looking current and merges no
  unrelated facts (:func:`asem_train._update_states.current_score`); 0 on LoCoMo states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asem_bench.metrics import answer_tokens, token_f1
from asem_core import Decision, OpType
from asem_core.training import ANSWER_PREFIX, MANAGER_PREFIX, ReplyError, content_words, lexical_tokens, parse_answer, parse_manager_reply

from ._states import AnswerState, ManagerState
from ._update_states import current_score

__all__ = [
    "MANAGER_PREFIX",
    "ANSWER_PREFIX",
    "answer_f1_reward",
    "answer_reward",
    "current_reward",
    "format_reward",
    "fragmentation_reward",
    "manager_reward",
    "score_decision",
    "score_operation",
]

DUPLICATE_SIMILARITY = 0.9
TOP_NOTES = 2
"""Notes retrieved per question when scoring a bank."""


def _text(completion: Any) -> str:
    if isinstance(completion, list):  # conversational format: [{"role": "assistant", "content": ...}]
        return str(completion[0].get("content", "")) if completion else ""
    return str(completion)


def _answerability(bank: Sequence[str], questions: Sequence[dict[str, Any]]) -> float:
    if not questions:
        return 0.0
    scores = []
    for q in questions:
        qwords = set(lexical_tokens(q["question"]))
        gold = answer_tokens(q["answer"])
        if not gold or not bank:
            scores.append(0.0)
            continue
        ranked = sorted(bank, key=lambda text: -len(qwords & set(lexical_tokens(text))))[:TOP_NOTES]
        scores.append(max(sum(1 for g in gold if g in set(answer_tokens(text))) / len(gold) for text in ranked))
    return sum(scores) / len(scores)


def score_operation(state: ManagerState, completion: str) -> dict[str, Any]:
    """Score one manager reply (the text after :data:`MANAGER_PREFIX`) on one state.

    Returns:
        ``valid``, ``op`` (or None), ``format``, ``answer``, ``fragmentation``, ``current`` and ``reason``.
    """
    try:
        decision = parse_manager_reply(MANAGER_PREFIX + completion, state.fact_obj(), state.neighbour_objs())
    except ReplyError as exc:
        return {"valid": False, "op": None, "format": -1.0, "answer": 0.0, "fragmentation": 0.0, "current": 0.0, "reason": str(exc)}
    return score_decision(state, decision)


def score_decision(state: ManagerState, decision: Decision) -> dict[str, Any]:
    """Score a decision (of any policy, an LLM's parsed reply or the heuristic's) on one state; see :func:`score_operation`."""
    bank = {n["id"]: n["content"] for n in state.neighbours}
    if decision.op is OpType.ADD:
        bank["new"] = state.fact
    elif decision.op is OpType.UPDATE and decision.target_id is not None:
        bank[decision.target_id] = decision.content or bank[decision.target_id]
    elif decision.op is OpType.DELETE and decision.target_id is not None:
        bank.pop(decision.target_id, None)
        bank["new"] = state.fact
    fragmentation = 0.0
    if decision.op is OpType.ADD:
        words = content_words(state.fact)
        for n in state.neighbours:
            if float(n["similarity"]) >= DUPLICATE_SIMILARITY or (words and words <= content_words(n["content"])):
                fragmentation = -0.5
                break
    return {
        "valid": True,
        "op": decision.op.value,
        "format": 0.0,
        "answer": _answerability(list(bank.values()), state.questions),
        "fragmentation": fragmentation,
        "current": current_score(state, decision),
        "reason": decision.reason,
    }


def _states(state: Sequence[Any]) -> list[ManagerState]:
    return [ManagerState.from_json(s) for s in state]


def format_reward(completions: Sequence[Any], state: Sequence[Any], **kwargs: Any) -> list[float]:
    """0 for a valid manager reply, -1 for an invalid one."""
    return [score_operation(s, _text(c))["format"] for s, c in zip(_states(state), completions)]


def manager_reward(completions: Sequence[Any], state: Sequence[Any], **kwargs: Any) -> list[float]:
    """How answerable the tied questions are from the bank after the operation (0 for invalid replies)."""
    return [score_operation(s, _text(c))["answer"] for s, c in zip(_states(state), completions)]


def fragmentation_reward(completions: Sequence[Any], state: Sequence[Any], **kwargs: Any) -> list[float]:
    """-0.5 for an ADD that duplicates an existing note, else 0."""
    return [score_operation(s, _text(c))["fragmentation"] for s, c in zip(_states(state), completions)]


def current_reward(completions: Sequence[Any], state: Sequence[Any], **kwargs: Any) -> list[float]:
    """How current the memory is after the operation (generated update states; 0 elsewhere and for invalid replies)."""
    return [score_operation(s, _text(c))["current"] for s, c in zip(_states(state), completions)]


def answer_f1_reward(completions: Sequence[Any], state: Sequence[Any], **kwargs: Any) -> list[float]:
    """Token F1 of the answer against the gold answer (a refusal is right on adversarial questions)."""
    out = []
    for raw, c in zip(state, completions):
        s = AnswerState.from_json(raw)
        ans = parse_answer(ANSWER_PREFIX + _text(c), s.note_objs())
        out.append(float(ans.refused) if s.category == 5 else token_f1(ans.text, s.answer))
    return out


def answer_reward(completions: Sequence[Any], state: Sequence[Any], **kwargs: Any) -> list[float]:
    """Format term of the answer agent: 0 for parseable JSON, -0.5 for a reply that had to be salvaged."""
    out = []
    for raw, c in zip(state, completions):
        s = AnswerState.from_json(raw)
        out.append(0.0 if parse_answer(ANSWER_PREFIX + _text(c), s.note_objs()).valid_reply else -0.5)
    return out
