"""``asem-bench locomo``: evidence recall of ASEM against the baselines, on LoCoMo-format data."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._embedder import Embedder
from .._locomo import CATEGORY_NAMES, Conversation
from ._metrics import distinct_sources, evidence_metrics
from ._systems import ASEMSystem, BM25System, DenseSystem, HybridSystem, System

__all__ = ["KS", "BenchResult", "build_systems", "run_locomo"]

KS = (1, 5, 10, 25)


@dataclass
class BenchResult:
    """Every figure of one system."""

    name: str
    per_category: dict[str, dict[str, float]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    evolution: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {"overall": self.overall, "per_category": self.per_category, "latency": self.latency}
        if self.evolution:
            out["self_evolution"] = self.evolution
        return out


def build_systems(names: Sequence[str], embedder: Embedder, asem_options: dict[str, Any]) -> list[System]:
    """Instantiate the systems named (Dense, BM25, Hybrid, ASEM, and ASEM ablations)."""
    dense = DenseSystem(embedder)
    bm25 = BM25System()
    out: list[System] = []
    for name in names:
        if name == "Dense":
            out.append(dense)
        elif name == "BM25":
            out.append(bm25)
        elif name == "Hybrid":
            out.append(HybridSystem(dense, bm25))
        elif name == "ASEM":
            out.append(ASEMSystem("ASEM", embedder, **asem_options))
        elif name == "AtomicLinking":
            out.append(ASEMSystem("AtomicLinking", embedder, **{**asem_options, "manager": _AddOnly(), "lam": 0.0}))
        elif name == "ValueRetrievalOnly":
            out.append(
                ASEMSystem(
                    "ValueRetrievalOnly",
                    embedder,
                    **{**asem_options, "manager": _AddOnly(), "link_k": 0, "link_adjacent": False, "lexical_window": 0, "hop_weight": 0.0},
                )
            )
        else:
            msg = f"unknown system {name!r}"
            raise ValueError(msg)
    return out


class _AddOnly:
    """A manager that always adds (the ablations without manager operations)."""

    name = "add-only"

    def decide(self, fact: Any, neighbours: Any) -> Any:
        from .._manager import Decision
        from .._types import OpType

        return Decision(OpType.ADD, "ablation: every fact is added")


def _questions(conv: Conversation) -> list[Any]:
    return [q for q in conv.qa if q.category in CATEGORY_NAMES and q.category != 5 and q.evidence]


def _evaluate(
    system: System, convs: Sequence[Conversation], qids: set[tuple[str, int]] | None = None, deep: bool = True
) -> tuple[dict[str, list[dict[str, float]]], list[float]]:
    by_cat: dict[str, list[dict[str, float]]] = {}
    times: list[float] = []
    for conv in convs:
        for n, qa in enumerate(_questions(conv)):
            if qids is not None and (conv.sample_id, n) not in qids:
                continue
            start = time.perf_counter()
            ranked = distinct_sources(system.retrieve(conv.sample_id, qa.question, 10))
            times.append(time.perf_counter() - start)
            metrics = evidence_metrics(ranked, qa.evidence, [k for k in KS if k <= 10])
            if deep:
                deeper = distinct_sources(system.retrieve(conv.sample_id, qa.question, 25))
                metrics["recall@25"] = evidence_metrics(deeper, qa.evidence, [25])["recall@25"]
            by_cat.setdefault(str(qa.category), []).append(metrics)
    return by_cat, times


def _summarise(name: str, by_cat: dict[str, list[dict[str, float]]]) -> BenchResult:
    res = BenchResult(name)
    everything = [m for rows in by_cat.values() for m in rows]
    for cat, rows in sorted(by_cat.items()):
        res.per_category[cat] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]} | {"questions": float(len(rows))}
    if everything:
        res.overall = {key: float(np.mean([r[key] for r in everything])) for key in everything[0]} | {"questions": float(len(everything))}
    return res


def run_locomo(convs: Sequence[Conversation], systems: Sequence[System], feedback_passes: int = 0, log: Any = print) -> list[BenchResult]:
    """Ingest every conversation into every system, then score evidence retrieval.

    With ``feedback_passes`` > 0, systems that learn (ASEM) replay a training half of the
    questions with reward from the evidence (hits holding evidence get r=1, others r=0) and
    recall@10 is reported on both halves after each pass.
    """
    results: list[BenchResult] = []
    for system in systems:
        start = time.perf_counter()
        add_times: list[float] = []
        for conv in convs:
            t0 = time.perf_counter()
            system.ingest(conv.sample_id, conv.turns)
            add_times.append((time.perf_counter() - t0) / max(len(conv.turns), 1))
        ingest_s = time.perf_counter() - start
        t_eval = time.perf_counter()
        by_cat, times = _evaluate(system, convs)
        res = _summarise(system.name, by_cat)
        eval_s = time.perf_counter() - t_eval
        turns = sum(len(c.turns) for c in convs)
        res.latency = {
            "ingest_seconds": ingest_s,
            "seconds_per_turn": ingest_s / max(turns, 1),
            "search_p50_ms": float(np.percentile(times, 50) * 1000) if times else 0.0,
            "search_p95_ms": float(np.percentile(times, 95) * 1000) if times else 0.0,
            "llm_calls_per_turn": 0.0,
        }
        t_evo = time.perf_counter()
        if feedback_passes and isinstance(system, ASEMSystem):
            res.evolution = _self_evolution(system, convs, feedback_passes)
        evo_s = time.perf_counter() - t_evo
        log(f"{system.name}: recall@10 {res.overall.get('recall@10', 0):.3f}, ingest {ingest_s:.1f} s, evaluation {eval_s:.1f} s, self-evolution {evo_s:.1f} s")
        results.append(res)
    return results


def _self_evolution(system: ASEMSystem, convs: Sequence[Conversation], passes: int) -> list[dict[str, float]]:
    train: set[tuple[str, int]] = set()
    test: set[tuple[str, int]] = set()
    for conv in convs:
        for n, _ in enumerate(_questions(conv)):
            (train if n % 2 == 0 else test).add((conv.sample_id, n))

    def recall(ids: set[tuple[str, int]]) -> float:
        by_cat, _ = _evaluate(system, convs, ids, deep=False)
        rows = [m["recall@10"] for ms in by_cat.values() for m in ms]
        return float(np.mean(rows)) if rows else 0.0

    curve = [{"pass": 0.0, "train_recall@10": recall(train), "heldout_recall@10": recall(test)}]
    for p in range(1, passes + 1):
        for conv in convs:
            for n, qa in enumerate(_questions(conv)):
                if (conv.sample_id, n) not in train:
                    continue
                ranked = system.retrieve(conv.sample_id, qa.question, 10)
                good = [i for i, sources in enumerate(ranked) if set(sources) & set(qa.evidence)]
                bad = [i for i in range(len(ranked)) if i not in good]
                if good:
                    system.feedback(conv.sample_id, 1.0, good)
                if bad:
                    system.feedback(conv.sample_id, 0.0, bad)
        curve.append({"pass": float(p), "train_recall@10": recall(train), "heldout_recall@10": recall(test)})
    return curve
