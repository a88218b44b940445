"""Retrieval metrics on evidence ids."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import snowballstemmer

__all__ = ["answer_tokens", "bleu1", "distinct_sources", "evidence_metrics", "exact_match", "normalize_answer", "token_f1"]


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


_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCT = re.compile(r"[^\w\s]")
_STEM = snowballstemmer.stemmer("english")


def normalize_answer(text: str) -> str:
    """LoCoMo's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = _PUNCT.sub(" ", str(text).lower().replace(",", ""))
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    """The answer's tokens after LoCoMo normalisation (lower case, no punctuation or articles)."""
    return [_STEM.stemWord(w) for w in normalize_answer(text).split()]


def token_f1(prediction: str, gold: str) -> float:
    """Token F1 after normalisation and stemming (as in LoCoMo's evaluation)."""
    pred, ref = answer_tokens(prediction), answer_tokens(gold)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def bleu1(prediction: str, gold: str) -> float:
    """BLEU-1: clipped unigram precision times the brevity penalty."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    clipped = sum((Counter(pred) & Counter(ref)).values()) / len(pred)
    brevity = 1.0 if len(pred) > len(ref) else math.exp(1 - len(ref) / len(pred))
    return clipped * brevity


def exact_match(prediction: str, gold: str) -> float:
    """Strict exact match after normalisation."""
    return float(normalize_answer(prediction) == normalize_answer(gold))
