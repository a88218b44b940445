"""Retrieval metrics on evidence ids."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["distinct_sources", "evidence_metrics"]


def distinct_sources(ranked: Sequence[Sequence[str]]) -> list[str]:
    """Flatten the source ids of ranked results, keeping the first occurrence of each."""
    out: list[str] = []
    seen: set[str] = set()
    for sources in ranked:
        for sid in sources:
            if sid not in seen:
                seen.add(sid)
                out.append(sid)
    return out


def evidence_metrics(ranked_sources: Sequence[str], evidence: Sequence[str], ks: Sequence[int]) -> dict[str, float]:
    """Recall@k (share of evidence among the first k distinct sources), hit@10 and MRR."""
    gold = set(evidence)
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = len(gold & set(ranked_sources[:k])) / len(gold)
    out["hit@10"] = float(bool(gold & set(ranked_sources[:10])))
    rr = 0.0
    for rank, sid in enumerate(ranked_sources, start=1):
        if sid in gold:
            rr = 1.0 / rank
            break
    out["mrr"] = rr
    return out
