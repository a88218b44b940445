"""Training and evaluation states from the knowledge-update scenarios of ``asem-bench updates``.

Each scenario (one person's memory: a value stated, then changed, beside other people's values
of the same slot, another slot and chit-chat) is replayed in order with the heuristic reference
policy. A state is a fact the LLM manager would be asked about (:func:`asem_core.training.asks_llm`),
with its neighbours and ``truth``: what every turn of the scenario so far states (subject and
value), so :func:`current_score` can tell, after any operation, whether the memory still holds
each subject's present value, whether a superseded value is left looking current, and whether a
note now mixes subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asem_bench._updates import UpdateScenario, generate_scenarios
from asem_core import ASEM, ASEMConfig, Decision, Embedder, OpType
from asem_core.training import asks_llm, ingest_sessions

from ._states import ManagerState, _Recorder, neighbour_dict

__all__ = ["build_update_states", "current_score", "update_states"]


def _turn_index(turn_id: str) -> int:
    return int(turn_id.rsplit(":", 1)[1])


def build_update_states(scenarios: Sequence[UpdateScenario], embedder: Embedder, config: ASEMConfig | None = None) -> list[ManagerState]:
    """Replay each scenario with the heuristic policy; keep the decisions an LLM manager is asked about."""
    cfg = config or ASEMConfig()
    states: list[ManagerState] = []
    for sc in scenarios:
        recorder = _Recorder(cfg)
        mem = ASEM.ephemeral(embedder=embedder, manager=recorder, config=cfg)
        ingest_sessions(mem, [t.as_item() for t in sc.turns], user_id=sc.id)
        for fact, near, decision in recorder.seen:
            if not near or not asks_llm(fact, near, cfg):
                continue
            sid = str(fact.metadata.get("source_id", ""))
            upto = _turn_index(sid)
            truth = {tid: list(v) for tid, v in sc.subjects.items() if _turn_index(tid) <= upto}
            neighbours = [neighbour_dict(n) for n in near]
            states.append(ManagerState(sc.id, sid, fact.text, fact.timestamp, fact.speaker, neighbours, [], decision.op.value, truth))
        mem.close()
    return states


def update_states(n: int, embedder: Embedder, *, split: str, seed: int = 0, config: ASEMConfig | None = None) -> list[ManagerState]:
    """States of ``n`` generated scenarios of one split (``"train"`` or ``"eval"``: disjoint templates)."""
    return build_update_states(generate_scenarios(n, split=split, seed=seed), embedder, config)


def _bank_after(state: ManagerState, decision: Decision) -> list[dict[str, Any]]:
    """The live notes (sources, superseded flag) after applying ``decision`` to the state's neighbours."""
    bank = [{"id": n["id"], "sources": list(n.get("source_ids", [])), "superseded": bool(n.get("superseded"))} for n in state.neighbours]
    new = {"id": "new", "sources": [state.source_id], "superseded": False}
    target = next((n for n in bank if n["id"] == decision.target_id), None)
    if decision.op is OpType.ADD:
        bank.append(new)
        old = next((n for n in bank if n["id"] == decision.supersedes), None)
        if old is not None:
            old["superseded"] = True
    elif decision.op is OpType.UPDATE and target is not None:
        target["sources"] = [*target["sources"], state.source_id]
    elif decision.op is OpType.DELETE and target is not None:
        bank = [n for n in bank if n is not target]
        bank.append(new)
    return bank


def _subjects(note: dict[str, Any], truth: dict[str, list[str]]) -> set[str]:
    return {truth[s][0] for s in note["sources"] if s in truth}


def current_score(state: ManagerState, decision: Decision) -> float:
    """How current the memory is after the operation, from the scenario's truth (0 for states without one).

    For each subject the fact or its neighbours state: 1 when a live note states the subject's
    present value (the value of its latest turn so far), else 0; averaged. Minus 0.5 when a live,
    not superseded note's latest statement of a subject is an older value (it would answer a
    question about now with a stale value), and minus 0.5 when the operation made a note hold
    more than one subject (a merge of unrelated facts).
    """
    truth = state.truth
    if not truth:
        return 0.0
    before = [{"sources": list(n.get("source_ids", []))} for n in state.neighbours]
    bank = _bank_after(state, decision)
    subjects = {truth[state.source_id][0]} | {s for n in before for s in _subjects(n, truth)}
    latest: dict[str, str] = {}
    for tid in sorted(truth, key=_turn_index):
        latest[truth[tid][0]] = truth[tid][1]
    present = 0
    stale = False
    for subject in subjects:
        holds = False
        for note in bank:
            stated = [s for s in sorted(note["sources"], key=_turn_index) if s in truth and truth[s][0] == subject]
            if not stated:
                continue
            value = truth[stated[-1]][1]
            if value == latest[subject]:
                holds = True
            elif not note["superseded"]:
                stale = True
        present += holds
    mixed_before = sum(len(_subjects(n, truth)) > 1 for n in before)
    mixed_after = sum(len(_subjects(n, truth)) > 1 for n in bank)
    return present / len(subjects) - 0.5 * stale - 0.5 * (mixed_after > mixed_before)
