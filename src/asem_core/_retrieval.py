"""Stage 4, two-phase retrieval, and the in-memory index of each scope that it reads.

Phase A recalls candidates (dense + lexical + one link hop, fused); phase B re-ranks them by
(1-λ)·z(relevance) + λ·z(q), z-scored inside the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._config import ASEMConfig
from ._construction import lexical_text
from ._store import ChromaStore
from ._types import Hit, Note, Scope
from .lexical import BM25Index

__all__ = ["ScopeState", "two_phase_search", "zscore"]


@dataclass
class ScopeState:
    """In-memory index of one scope: lexical index, link graph, provenance map, validity."""

    bm25: BM25Index = field(default_factory=BM25Index)
    links: dict[str, list[str]] = field(default_factory=dict)
    follows: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    valid: set[str] = field(default_factory=set)
    count: int = 0
    last_pool: list[str] = field(default_factory=list)
    last_hits: list[str] = field(default_factory=list)

    def index(self, note: Note, lexical_window: int) -> None:
        """Bring the index up to date with one (new or changed) note.

        The lexical document of a note is its own text plus, with ``lexical_window``, the text of
        the notes it is linked to by "follows" (the turns around it), so a reply is found by the
        words of the question it answers.
        """
        self.links[note.id] = [link.target for link in note.links]
        self.follows[note.id] = [link.target for link in note.links if link.relation == "follows"]
        for sid in note.source_ids:
            self.sources[sid] = note.id
        if note.valid:
            self.valid.add(note.id)
            raw = note.metadata.get("raw_text")
            content = f"{note.content} {raw}" if isinstance(raw, str) else note.content
            self.texts[note.id] = lexical_text(content, note.keywords, note.context)
        else:
            self.valid.discard(note.id)
            self.texts.pop(note.id, None)
            self.bm25.remove(note.id)
        for nid in [note.id, *self.follows[note.id]]:
            if nid in self.valid and nid in self.texts:
                window = [self.texts[o] for o in self.follows.get(nid, ())[: 2 * lexical_window] if o in self.texts] if lexical_window else []
                self.bm25.add(nid, " ".join([self.texts[nid], *window]))


def zscore(values: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Z-scores of ``values`` inside the pool.

    Args:
        values: The scores.
        floor: Lower bound on the spread used as denominator. With ``floor`` = 0, a spread
            of (near) zero gives all zeros, so the order is left to the other term.
    """
    if values.size == 0:
        return values
    std = max(float(values.std()), floor)
    if std < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / std


def two_phase_search(store: ChromaStore, state: ScopeState, scope: Scope, query: str, query_emb: np.ndarray, config: ASEMConfig, k: int) -> list[Hit]:
    """Run both phases for one query in one scope.

    Args:
        store: Where notes live.
        state: The scope's in-memory index (lexical channel, links, validity).
        scope: The scope searched.
        query: Query text (for the lexical channel).
        query_emb: Unit query vector (for the dense channel and similarities).
        config: Retrieval settings.
        k: Hits to return.
    """
    if not state.valid:
        state.last_pool, state.last_hits = [], []
        return []
    invalid = max(state.count - len(state.valid), 0)
    dense_raw = store.query(scope, query_emb, config.k1 + min(invalid, 4 * config.k1), total=state.count)
    dense = [(i, s) for i, s in dense_raw if i in state.valid and s > config.delta][: config.k1]
    lexical = state.bm25.search(query, config.k1)

    fused: dict[str, float] = {}
    channels: dict[str, set[str]] = {}
    for weight, ranked, name in ((config.dense_weight, dense, "dense"), (config.lexical_weight, lexical, "lexical")):
        for rank, (note_id, _) in enumerate(ranked, start=1):
            fused[note_id] = fused.get(note_id, 0.0) + weight / (config.rrf_k + rank)
            channels.setdefault(note_id, set()).add(name)
    if config.hop_weight > 0 and config.hop_sources > 0:
        sources = sorted(fused.items(), key=lambda kv: -kv[1])[: config.hop_sources]
        for src, score in sources:
            for target in state.links.get(src, ()):
                if target in state.valid and target not in fused:
                    fused[target] = config.hop_weight * score
                    channels.setdefault(target, set()).add("link")
                elif target in channels and "link" not in channels[target] and target != src:
                    channels[target].add("link")
    if not fused:
        state.last_pool, state.last_hits = [], []
        return []

    ids = list(fused)
    notes, embs = store.get_notes(scope, ids, embeddings=True)
    if not notes:
        return []
    sims = (embs @ query_emb).astype(np.float64) if embs is not None and embs.size else np.zeros(len(notes))
    if config.fusion == "score":
        lex = dict(lexical)
        top_lex = max(lex.values(), default=1.0) or 1.0
        lo, hi = float(sims.min()), float(sims.max())
        spread = hi - lo if hi - lo > 1e-9 else 1.0
        w = config.lexical_weight / max(config.lexical_weight + config.dense_weight, 1e-9)
        base = [w * lex.get(n.id, 0.0) / top_lex + (1 - w) * (sims[i] - lo) / spread for i, n in enumerate(notes)]
        direct = {n.id: b for n, b in zip(notes, base)}
        for n in notes:
            if channels[n.id] == {"link"}:
                direct[n.id] = min(direct[n.id], config.hop_weight * max((direct[s] for s in ids if n.id in state.links.get(s, ())), default=0.0))
        rel = np.asarray([direct[n.id] for n in notes], dtype=np.float64)
    else:
        rel = np.asarray([fused[n.id] for n in notes], dtype=np.float64)
    qs = np.asarray([n.q for n in notes], dtype=np.float64)
    scores = (1.0 - config.lam) * zscore(rel) + config.lam * zscore(qs, config.utility_spread_floor)
    order = sorted(range(len(notes)), key=lambda i: (-scores[i], -rel[i]))[:k]
    hits = [Hit(notes[i], float(scores[i]), float(sims[i]), float(rel[i]), float(qs[i]), tuple(sorted(channels[notes[i].id]))) for i in order]
    state.last_pool = [n.id for n in notes]
    state.last_hits = [h.note.id for h in hits]
    return hits
