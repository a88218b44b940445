"""``asem-bench locomo``: evidence recall of ASEM against the baselines, on LoCoMo-format data."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asem_core import AnswerAgent, Embedder
from asem_core.llm import MeteredLLM
from asem_core.locomo import CATEGORY_NAMES, Conversation
from asem_core.manager import AddOnlyManager

from ._evolution import Credit, self_evolution
from ._systems import ASEMSystem, BM25System, DenseSystem, FullContextSystem, HybridSystem, NoMemorySystem, System
from .metrics import bleu1, distinct_sources, evidence_metrics, exact_match, token_f1

__all__ = ["KS", "BenchResult", "build_systems", "first_sessions", "run_locomo", "run_reader"]

KS = (1, 5, 10, 25)


@dataclass
class BenchResult:
    """Every figure of one system."""

    name: str
    per_category: dict[str, dict[str, float]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    evolution: list[dict[str, float]] = field(default_factory=list)
    reader: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {"overall": self.overall, "per_category": self.per_category, "latency": self.latency}
        if self.evolution:
            out["self_evolution"] = self.evolution
        if self.reader:
            out["reader"] = self.reader
        return out


def build_systems(names: Sequence[str], embedder: Embedder, asem_options: dict[str, Any], llm: Any = None) -> list[System]:
    """Instantiate the systems named.

    ``NoMemory``, ``FullContext``, ``Dense``, ``BM25``, ``Hybrid``, the ablations
    ``AtomicLinking`` (notes + links, no manager operations, no utility), ``ValueRetrievalOnly``
    (flat units + utility re-ranking) and ``RLManagerOnly`` (manager operations, similarity
    retrieval only), ``ASEM`` (the full pipeline, LLM-free unless ``asem_options`` name an LLM),
    and ``ASEM-LLM`` (the full pipeline with ``llm`` for the LLM stages).
    """
    dense = DenseSystem(embedder)
    bm25 = BM25System()
    out: list[System] = []
    for name in names:
        if name == "NoMemory":
            out.append(NoMemorySystem())
        elif name == "FullContext":
            out.append(FullContextSystem())
        elif name == "RLManagerOnly":
            similarity_only = {"lam": 0.0, "lexical_weight": 0.0, "hop_weight": 0.0, "lexical_window": 0}
            out.append(ASEMSystem("RLManagerOnly", embedder, **{**asem_options, **similarity_only}))
        elif name == "ASEM-LLM":
            if llm is None:
                msg = "ASEM-LLM needs --llm"
                raise ValueError(msg)
            out.append(ASEMSystem("ASEM-LLM", embedder, batch=16, progress=True, **{**asem_options, "llm": llm}))
        elif name == "Dense":
            out.append(dense)
        elif name == "BM25":
            out.append(bm25)
        elif name == "Hybrid":
            out.append(HybridSystem(dense, bm25))
        elif name == "ASEM":
            out.append(ASEMSystem("ASEM", embedder, **asem_options))
        elif name == "AtomicLinking":
            out.append(ASEMSystem("AtomicLinking", embedder, **{**asem_options, "manager": AddOnlyManager(), "lam": 0.0}))
        elif name == "ValueRetrievalOnly":
            out.append(
                ASEMSystem(
                    "ValueRetrievalOnly",
                    embedder,
                    **{**asem_options, "manager": AddOnlyManager(), "link_k": 0, "link_adjacent": False, "lexical_window": 0, "hop_weight": 0.0},
                )
            )
        else:
            msg = f"unknown system {name!r}"
            raise ValueError(msg)
    return out


def _questions(conv: Conversation) -> list[Any]:
    return [q for q in conv.qa if q.category in CATEGORY_NAMES and q.category != 5 and q.evidence]


def _evaluate(
    system: System, convs: Sequence[Conversation], qids: set[tuple[str, int]] | None = None, deep: bool = True
) -> tuple[dict[str, list[dict[str, float]]], list[float], dict[tuple[str, int], float]]:
    """Per-category metrics, search times, and recall@10 per question id.

    ASEM's ranking does not depend on k (k only cuts the re-ranked pool), so one search for
    25 hits gives both the first 10 and the first 25; other systems are asked twice.
    """
    by_cat: dict[str, list[dict[str, float]]] = {}
    times: list[float] = []
    per_question: dict[tuple[str, int], float] = {}
    one_search = deep and isinstance(system, ASEMSystem)
    for conv in convs:
        for n, qa in enumerate(_questions(conv)):
            if qids is not None and (conv.sample_id, n) not in qids:
                continue
            start = time.perf_counter()
            hits = system.retrieve(conv.sample_id, qa.question, 25 if one_search else 10)
            times.append(time.perf_counter() - start)
            metrics = evidence_metrics(distinct_sources(hits[:10]), qa.evidence, [k for k in KS if k <= 10])
            if deep:
                deeper = hits if one_search else system.retrieve(conv.sample_id, qa.question, 25)
                metrics["recall@25"] = evidence_metrics(distinct_sources(deeper), qa.evidence, [25])["recall@25"]
            by_cat.setdefault(str(qa.category), []).append(metrics)
            per_question[(conv.sample_id, n)] = metrics["recall@10"]
    return by_cat, times, per_question


def _summarise(name: str, by_cat: dict[str, list[dict[str, float]]]) -> BenchResult:
    res = BenchResult(name)
    everything = [m for rows in by_cat.values() for m in rows]
    for cat, rows in sorted(by_cat.items()):
        res.per_category[cat] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]} | {"questions": float(len(rows))}
    if everything:
        res.overall = {key: float(np.mean([r[key] for r in everything])) for key in everything[0]} | {"questions": float(len(everything))}
    return res


def run_locomo(
    convs: Sequence[Conversation],
    systems: Sequence[System],
    feedback_passes: int = 0,
    log: Any = print,
    credit: Credit | None = None,
    before_feedback: Callable[[System], None] | None = None,
) -> list[BenchResult]:
    """Ingest every conversation into every system, then score evidence retrieval.

    With ``feedback_passes`` > 0, systems that learn (ASEM systems with λ > 0) replay half of the
    questions with reward from the evidence (``credit``; by default hits holding evidence get r=1,
    others r=0) and recall@10 is reported after each pass on the replayed questions, their
    paraphrases and the held-out ones (split by evidence overlap; :mod:`asem_bench._evolution`).
    ``before_feedback`` is called with each system once it is ingested and scored, before any
    feedback changes it (e.g. the leave-one-out tuning).
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
        by_cat, times, _ = _evaluate(system, convs)
        res = _summarise(system.name, by_cat)
        eval_s = time.perf_counter() - t_eval
        turns = sum(len(c.turns) for c in convs)
        adds = system.add_ms_per_turn if isinstance(system, ASEMSystem) else [t * 1000 for t in add_times]
        res.latency = {
            "ingest_seconds": ingest_s,
            "seconds_per_turn": ingest_s / max(turns, 1),
            "add_p50_ms_per_turn": float(np.percentile(adds, 50)) if adds else 0.0,
            "add_p95_ms_per_turn": float(np.percentile(adds, 95)) if adds else 0.0,
            "search_p50_ms": float(np.percentile(times, 50) * 1000) if times else 0.0,
            "search_p95_ms": float(np.percentile(times, 95) * 1000) if times else 0.0,
            "llm_calls_per_turn": 0.0,
        }
        if isinstance(system, ASEMSystem):
            notes = [n for conv in convs for n in system.mem.all(user_id=conv.sample_id)]
            res.latency["notes"] = float(len(notes))
            res.latency["notes_missing_enrichment"] = float(sum(1 for n in notes if not (n.keywords and n.tags and n.context.strip())))
        if isinstance(system, ASEMSystem) and system.mem.llm is not None:
            usage = system.mem.llm.totals()
            res.latency["llm_calls_per_turn"] = usage["llm_calls"] / max(turns, 1)
            res.latency["llm_seconds_per_turn"] = usage["llm_seconds"] / max(turns, 1)
            res.latency["llm_tokens_per_turn"] = (usage["prompt_tokens"] + usage["completion_tokens"]) / max(turns, 1)
            res.latency["llm_stages"] = usage["llm_stages"]
        if before_feedback is not None:
            before_feedback(system)
        t_evo = time.perf_counter()
        if feedback_passes and isinstance(system, ASEMSystem) and system.mem.config.lam > 0:  # λ=0: utility cannot move a rank
            res.evolution = self_evolution(system, convs, feedback_passes, credit)
        evo_s = time.perf_counter() - t_evo
        log(f"{system.name}: recall@10 {res.overall.get('recall@10', 0):.3f}, ingest {ingest_s:.1f} s, evaluation {eval_s:.1f} s, self-evolution {evo_s:.1f} s")
        results.append(res)
    return results


def first_sessions(conv: Conversation, sessions: int) -> Conversation:
    """The conversation cut to its first ``sessions`` sessions, with the questions they answer."""
    turns = [t for t in conv.turns if t.session <= sessions]
    kept = {t.dia_id for t in turns}
    qa = [q for q in conv.qa if q.evidence and set(q.evidence) <= kept]
    return Conversation(conv.sample_id, conv.speakers, turns, qa)


def run_reader(
    convs: Sequence[Conversation],
    systems: Sequence[System],
    results: Sequence[BenchResult],
    reader: MeteredLLM,
    k: int = 10,
    max_questions: int | None = None,
    log: Any = print,
) -> None:
    """Answer every question (categories 1-5) with ``reader`` over each system's context.

    Adds to each result, per category and overall: token F1 and BLEU-1 (LoCoMo's
    normalisation), strict exact match, the refusal rate (on category 5, adversarial, a
    refusal is the right answer), and context tokens per question.
    """
    agent = AnswerAgent(reader, max_new_tokens=32)
    for system, res in zip(systems, results):
        rows: dict[str, list[dict[str, float]]] = {}
        before = reader.stage("answer").prompt_tokens
        asked = 0
        for conv in convs:
            qas = [q for q in conv.qa if q.category in CATEGORY_NAMES][:max_questions]
            contexts = [system.context(conv.sample_id, q.question, k) for q in qas]
            answers = agent.answer_many([q.question for q in qas], contexts)
            asked += len(qas)
            for q, a in zip(qas, answers):
                if q.category == 5:
                    row = {"refusal": float(a.refused)}
                else:
                    row = {"f1": token_f1(a.text, q.answer), "bleu1": bleu1(a.text, q.answer), "em": exact_match(a.text, q.answer), "refusal": float(a.refused)}
                rows.setdefault(str(q.category), []).append(row)
        out: dict[str, dict[str, float]] = {}
        for cat, items in sorted(rows.items()):
            out[cat] = {key: float(np.mean([r[key] for r in items])) for key in items[0]} | {"questions": float(len(items))}
        answered = [r for c, items in rows.items() if c != "5" for r in items]
        out["overall"] = {key: float(np.mean([r[key] for r in answered])) for key in ("f1", "bleu1", "em")} if answered else {}
        out["overall"]["adversarial_refusal"] = out.get("5", {}).get("refusal", 0.0)
        out["overall"]["context_tokens_per_question"] = (reader.stage("answer").prompt_tokens - before) / max(asked, 1)
        res.reader = out
        log(f"{system.name}: reader F1 {out['overall'].get('f1', 0):.3f}, adversarial refusal {out['overall']['adversarial_refusal']:.3f}")
