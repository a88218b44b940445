"""``asem-bench updates``: facts that change, generated from templates, and who keeps them current.

Each scenario is one person's memory (one scope): a slot's value stated, then changed one to
three times over later sessions, interleaved with unrelated turns, the same slot's value of other
people (distractors) and another slot's fact. Questions ask the present value, a past value and
whether a value ever held. Metrics:

- ``current@1``: the first result holds the turn that states the present value;
- ``stale_above_current``: a result holding a superseded value ranks above the first result that
  holds the present one (or the present one is not among the results);
- ``past_recall@5`` and ``ever_recall@5``: a turn naming the asked value is among the first five.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asem_core import InvalidInputError
from asem_core.locomo import Turn

from ._systems import System
from ._updates_data import EVAL_SLOTS, FILLER, NAMES, RELATIVES, TRAIN_SLOTS, Slot

__all__ = ["UpdateQuestion", "UpdateScenario", "format_updates_table", "generate_scenarios", "run_updates"]


@dataclass(frozen=True)
class UpdateQuestion:
    """A question of a scenario.

    Attributes:
        text: The question.
        kind: ``"current"``, ``"past"`` or ``"ever"``.
        gold: Turn ids that answer it.
        stale: For ``"current"``: turn ids that state a superseded value.
    """

    text: str
    kind: str
    gold: frozenset[str]
    stale: frozenset[str] = frozenset()


@dataclass
class UpdateScenario:
    """One person's memory and the questions about it."""

    id: str
    speaker: str
    slot: str
    values: list[str]
    turns: list[Turn] = field(default_factory=list)
    questions: list[UpdateQuestion] = field(default_factory=list)
    subjects: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Turn id -> (subject, value): what each turn states (``"Ann:city"``, ``"Berlin"``); filler turns are
    their own subject with an empty value. The trainer scores a memory's current values with it."""


def generate_scenarios(n: int, *, split: str = "eval", seed: int = 0) -> list[UpdateScenario]:
    """``n`` scenarios of one split (``"eval"`` or ``"train"``: disjoint slots, templates and names).

    Args:
        n: Scenarios to make.
        split: Which half of the templates to draw from.
        seed: Random seed (the same seed gives the same scenarios).
    """
    if split not in ("eval", "train"):
        msg = f"split must be 'eval' or 'train', got {split!r}"
        raise InvalidInputError(msg)
    slots = EVAL_SLOTS if split == "eval" else TRAIN_SLOTS
    rng = random.Random(f"{split}:{seed}")
    return [_scenario(f"{split}-{i:04d}", slots[i % len(slots)], slots, split, rng) for i in range(n)]


def _scenario(sid: str, slot: Slot, slots: Sequence[Slot], split: str, rng: random.Random) -> UpdateScenario:
    speaker = rng.choice(NAMES[split])
    changes = rng.choice((1, 1, 2, 2, 3))
    values = rng.sample(slot.values, changes + 2)
    chain, spare = values[: changes + 1], values[changes + 1]
    scenario = UpdateScenario(sid, speaker, slot.name, chain)
    day = datetime(2023, 1, 1) + timedelta(days=rng.randrange(300))
    stated: list[str] = []  # the turn that made each value of the chain current

    def say(text: str, session: int, subject: str = "", value: str = "") -> str:
        dia = f"{sid}:{len(scenario.turns)}"
        stamp = (day + timedelta(minutes=len(scenario.turns))).isoformat()
        scenario.turns.append(Turn(dia, speaker, text, stamp, session))
        scenario.subjects[dia] = (subject or f"chat:{text}", value)
        return dia

    other_slot = rng.choice([s for s in slots if s.name != slot.name])
    for session in range(changes + 1):
        for _ in range(rng.randint(0, 2)):
            say(rng.choice(FILLER), session + 1)
        mine = f"{speaker}:{slot.name}"
        if session == 0:
            stated.append(say(rng.choice(slot.state).format(v=chain[0]), 1, mine, chain[0]))
            value = rng.choice(other_slot.values)
            say(rng.choice(other_slot.state).format(v=value), 1, f"{speaker}:{other_slot.name}", value)
        else:
            stated.append(say(rng.choice(slot.change).format(old=chain[session - 1], v=chain[session]), session + 1, mine, chain[session]))
        if rng.random() < 0.6:  # someone else's value of the same slot
            who = rng.choice(RELATIVES[split])
            say(rng.choice(slot.other).format(who=who, v=spare), session + 1, f"{who}:{slot.name}", spare)
        for _ in range(rng.randint(0, 2)):
            say(rng.choice(FILLER), session + 1)
        day += timedelta(days=rng.randint(7, 60))

    def naming(value: str) -> frozenset[str]:
        return frozenset(t.dia_id for t in scenario.turns if value.lower() in t.text.lower() and t.dia_id in stated)

    scenario.questions.append(UpdateQuestion(rng.choice(slot.current), "current", frozenset({stated[-1]}), frozenset(stated[:-1])))
    j = rng.randint(1, changes)
    scenario.questions.append(UpdateQuestion(rng.choice(slot.past).format(v=chain[j]), "past", naming(chain[j - 1])))
    k = rng.randint(0, changes - 1)
    scenario.questions.append(UpdateQuestion(rng.choice(slot.ever).format(v=chain[k]), "ever", naming(chain[k])))
    return scenario


def _scores(ranked: Sequence[Sequence[str]], q: UpdateQuestion) -> dict[str, float]:
    if q.kind != "current":
        return {f"{q.kind}_recall@5": float(any(set(r) & q.gold for r in ranked[:5]))}
    first = next((i for i, r in enumerate(ranked) if set(r) & q.gold), None)
    limit = len(ranked) if first is None else first
    stale = any(set(r) & q.stale and not set(r) & q.gold for r in ranked[:limit])
    return {"current@1": float(first == 0), "stale_above_current": float(stale), "current@5": float(first is not None and first < 5)}


def run_updates(
    scenarios: Sequence[UpdateScenario], systems: Sequence[System], *, k: int = 10, log: Callable[[str], None] = print
) -> dict[str, dict[str, Any]]:
    """Ingest every scenario into every system, ask its questions, and average the metrics per system."""
    out: dict[str, dict[str, Any]] = {}
    for system in systems:
        start = time.perf_counter()
        for sc in scenarios:
            system.ingest(sc.id, sc.turns)
        ingest_s = time.perf_counter() - start
        sums: dict[str, list[float]] = {}
        for sc in scenarios:
            for q in sc.questions:
                for key, value in _scores(system.retrieve(sc.id, q.text, k), q).items():
                    sums.setdefault(key, []).append(value)
        row: dict[str, Any] = {key: sum(v) / len(v) for key, v in sums.items()}
        row["questions"] = sum(len(sc.questions) for sc in scenarios)
        row["ingest_s"] = round(ingest_s, 1)
        out[system.name] = row
        log(f"{system.name}: current@1 {row['current@1']:.3f}, stale above current {row['stale_above_current']:.3f}, ingest {ingest_s:.1f} s")
    return out


def format_updates_table(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown table of :func:`run_updates` results."""
    cols = ("current@1", "current@5", "stale_above_current", "past_recall@5", "ever_recall@5")
    lines = ["| system | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{row.get(c, 0.0):.3f}" for c in cols) + " |")
    return "\n".join(lines)
