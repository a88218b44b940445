"""Self-evolution on LoCoMo: replay half of the questions with reward and watch recall move.

The questions of each conversation are split in two halves (even / odd positions). Each pass
replays the first half: a search, then a reward per hit from the evidence (the credit
assignment below). After each pass recall@10 is measured on:

- ``replayed``: the replayed questions themselves;
- ``paraphrased``: the replayed information needs asked in other words (a fixed template rewrite
  of the question: another question phrase and a lead-in, see :func:`paraphrase`);
- ``overlap``: held-out questions that share an evidence turn with a replayed one (the notes
  that helped before can help again);
- ``disjoint``: held-out questions that share no evidence turn with a replayed one (utility must
  not hurt them);
- ``heldout``: every held-out question.

Credit assignment (:class:`Credit`): which hits of the feedback search are rewarded (``depth``:
the first k hits), what a hit without evidence gets (``miss``: 0 pulls its utility down slowly,
-1 faster), and whether only hits ranked above the last evidence hit are punished
(``above_only``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from asem_core.locomo import Conversation

from ._systems import ASEMSystem
from .metrics import distinct_sources, evidence_metrics

__all__ = ["Credit", "paraphrase", "self_evolution"]

_LEADS = ("Remind me: ", "Quick question, ", "From our chats, ", "Tell me again: ")
_WH = (
    (r"^what\b", "which thing"),
    (r"^when\b", "at what time"),
    (r"^where\b", "in what place"),
    (r"^who\b", "which person"),
    (r"^why\b", "for what reason"),
    (r"^how many\b", "what number of"),
    (r"^how\b", "in what way"),
)


def paraphrase(question: str, n: int = 0) -> str:
    """A template rewrite of ``question``: another question phrase and one of four lead-ins."""
    q = question.strip()
    body = q[:1].lower() + q[1:]
    for pattern, repl in _WH:
        if re.match(pattern, body):
            body = re.sub(pattern, repl, body, count=1)
            break
    return _LEADS[n % len(_LEADS)] + body


@dataclass(frozen=True)
class Credit:
    """How the reward of one replayed question is spread over the hits of its search.

    Attributes:
        depth: Hits of the feedback search that get a reward (the first ``depth``).
        miss: Reward of a hit that holds no evidence (in [-1, 0]); None leaves such hits unrated
            (a note that did not help this question may be another question's evidence).
        above_only: Give ``miss`` only to hits ranked above the last evidence hit (a hit below
            it did not push evidence down); the others are left unrated.
        consolidate: After the first rewarded search of a question, store the exchange (question
            and gold answer) as an experience note that leads to the hits that held evidence
            (:meth:`asem_core.ASEM.consolidate` with ``note_ids``).
    """

    depth: int = 10
    miss: float | None = 0.0
    above_only: bool = False
    consolidate: bool = False

    def rewards(self, ranked: Sequence[Sequence[str]], evidence: Sequence[str]) -> dict[int, float]:
        """Position -> reward for the hits of one search."""
        gold = set(evidence)
        holds = [bool(set(sources) & gold) for sources in ranked[: self.depth]]
        last = max((i for i, h in enumerate(holds) if h), default=-1)
        out: dict[int, float] = {}
        for i, h in enumerate(holds):
            if h:
                out[i] = 1.0
            elif self.miss is not None and (not self.above_only or i < last):
                out[i] = self.miss
        return out


def _questions(conv: Conversation) -> list[Any]:
    return [q for q in conv.qa if q.category in (1, 2, 3, 4) and q.evidence]


def self_evolution(system: ASEMSystem, convs: Sequence[Conversation], passes: int, credit: Credit | None = None) -> list[dict[str, float]]:
    """Recall@10 of each question group (see the module docstring) after 0..``passes`` feedback passes."""
    credit = credit or Credit()
    groups: dict[str, list[tuple[str, str, Sequence[str]]]] = {"replayed": [], "paraphrased": [], "overlap": [], "disjoint": []}
    replay: list[tuple[str, str, Sequence[str], str]] = []
    for conv in convs:
        qs = _questions(conv)
        replayed_evidence = {ev for n, q in enumerate(qs) if n % 2 == 0 for ev in q.evidence}
        for n, q in enumerate(qs):
            item = (conv.sample_id, q.question, q.evidence)
            if n % 2 == 0:
                replay.append((*item, str(q.answer)))
                groups["replayed"].append(item)
                groups["paraphrased"].append((conv.sample_id, paraphrase(q.question, n), q.evidence))
            else:
                groups["overlap" if set(q.evidence) & replayed_evidence else "disjoint"].append(item)

    def recall(items: Sequence[tuple[str, str, Sequence[str]]]) -> float:
        scores = [evidence_metrics(distinct_sources(system.retrieve(conv, question, 10)), evidence, [10])["recall@10"] for conv, question, evidence in items]
        return float(np.mean(scores)) if scores else 0.0

    def point(p: int) -> dict[str, float]:
        row = {"pass": float(p)} | {f"{name}_recall@10": recall(items) for name, items in groups.items()}
        held = len(groups["overlap"]) + len(groups["disjoint"])
        row["heldout_recall@10"] = (row["overlap_recall@10"] * len(groups["overlap"]) + row["disjoint_recall@10"] * len(groups["disjoint"])) / max(held, 1)
        row["train_recall@10"] = row["replayed_recall@10"]
        return row

    curve = [point(0)]
    consolidated: set[tuple[str, str]] = set()
    for p in range(1, passes + 1):
        for sample_id, question, evidence, answer in replay:
            ranked = system.retrieve(sample_id, question, credit.depth)
            rewards = credit.rewards(ranked, evidence)
            system.feedback(sample_id, rewards)
            helped = [i for i, r in rewards.items() if r > 0]
            if credit.consolidate and helped and (sample_id, question) not in consolidated:
                system.consolidate(sample_id, question, answer, helped)
                consolidated.add((sample_id, question))
        curve.append(point(p))
    counts = {f"{name}_questions": float(len(items)) for name, items in groups.items()}
    curve[0].update(counts)
    return curve
