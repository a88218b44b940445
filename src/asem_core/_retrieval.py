"""Stage 4, two-phase retrieval, and the in-memory index of each scope that it reads.

Phase A recalls candidates (dense + lexical + one link hop, fused); phase B re-ranks them by
(1-λ)·z(relevance) + λ·z(q), z-scored inside the pool.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._config import ASEMConfig
from ._construction import lexical_text
from ._store import ChromaStore
from ._text import about_someone_else, lexical_tokens
from ._types import SUPERSEDED_BY, Hit, Note, Scope
from .lexical import BM25Index

__all__ = ["ScopeState", "two_phase_search", "zscore"]


@dataclass
class ScopeState:
    """In-memory index of one scope: lexical index, link graph, provenance map, validity."""

    bm25: BM25Index = field(default_factory=BM25Index)
    links: dict[str, list[str]] = field(default_factory=dict)
    follows: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    """Lexical tokens of each valid note's own text (its window document joins its neighbours')."""
    sources: dict[str, str] = field(default_factory=dict)
    valid: set[str] = field(default_factory=set)
    count: int = 0
    last_pool: list[str] = field(default_factory=list)
    last_hits: list[str] = field(default_factory=list)
    successor: dict[str, str] = field(default_factory=dict)
    filtered: bool = False
    utility: dict[str, float] = field(default_factory=dict)
    """q of the notes that feedback has touched (``uses`` > 0): the utility channel's candidates."""
    used: dict[str, list[str]] = field(default_factory=dict)
    """Experience note id -> the notes its answer used (``consolidate(note_ids=...)``)."""

    def only(self, ids: set[str]) -> ScopeState:
        """A view of this index in which only ``ids`` (of its valid notes) can be found (a metadata filter)."""
        return replace(self, valid=self.valid & ids, filtered=True)

    def index(self, note: Note, lexical_window: int) -> None:
        """Bring the index up to date with one (new or changed) note.

        The lexical document of a note is its own text plus, with ``lexical_window``, the text of
        the notes it is linked to by "follows" (the turns around it), so a reply is found by the
        words of the question it answers.
        """
        used = note.metadata.get("used")  # an experience note leads to the notes its answer used
        if isinstance(used, list):
            self.used[note.id] = [u for u in used if isinstance(u, str)]
        self.links[note.id] = [link.target for link in note.links] + self.used.get(note.id, [])
        self.follows[note.id] = [link.target for link in note.links if link.relation == "follows"]
        newer = next((link.target for link in note.links if link.relation == SUPERSEDED_BY), None)
        if newer is not None:
            self.successor[note.id] = newer
        for sid in note.source_ids:
            self.sources[sid] = note.id
        self.rate(note)
        if note.valid:
            self.valid.add(note.id)
            raw = note.metadata.get("raw_text")
            content = f"{note.content} {raw}" if isinstance(raw, str) else note.content
            self.texts[note.id] = lexical_text(content, note.keywords, note.context)
            self.tokens[note.id] = lexical_tokens(self.texts[note.id])
        else:
            self.valid.discard(note.id)
            self.texts.pop(note.id, None)
            self.tokens.pop(note.id, None)
            self.bm25.remove(note.id)
        for nid in [note.id, *self.follows[note.id]]:
            if nid in self.valid and nid in self.tokens:
                window = [o for o in self.follows.get(nid, ())[: 2 * lexical_window] if o in self.tokens] if lexical_window else []
                self.bm25.add_tokens(nid, [t for o in (nid, *window) for t in self.tokens[o]])

    def rate(self, note: Note) -> None:
        """Record the note's utility if feedback has touched it (called after every write of it)."""
        if note.uses > 0:
            self.utility[note.id] = note.q


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


_FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|me|my|mine|myself)\b", re.IGNORECASE)
_PAST = re.compile(
    r"\b(did|was|were|had|before|ever|previous(?:ly)?|used to|former(?:ly)?|originally|earlier|in the past|prior|back then|at first|ago)\b",
    re.IGNORECASE,
)


_NOW = re.compile(r"\b(now|currently|current|these days|nowadays|at the moment|at present|still|anymore|today)\b", re.IGNORECASE)


def asks_about_the_past(query: str) -> bool:
    """True when a question carries a past-tense cue ("did", "was", "before", "ever", "used to", ...)."""
    return bool(_PAST.search(query))


def asks_about_the_present(query: str) -> bool:
    """True for a question about the present (the newest value of a slot answers it).

    No past-tense cue, and in the first person ("where do I live?") or with a present cue ("now",
    "currently", "these days", ...). A third-person question without one ("what does Caroline do
    to relax?") is left to relevance alone.
    """
    return not asks_about_the_past(query) and bool(_FIRST_PERSON.search(query) or _NOW.search(query))


def two_phase_search(store: ChromaStore, parts: Sequence[tuple[Scope, ScopeState]], query: str, query_emb: np.ndarray, config: ASEMConfig, k: int) -> list[Hit]:
    """Run both phases for one query over one scope and the scopes beneath it.

    Phase A recalls candidates in each part; phase B scores the joint pool. When fewer than ``k``
    notes pass phase A, the nearest remaining notes fill the other places, ranked after the
    pool (no default threshold empties a result). With ``config.recency``, for a question about
    the present, a note ranks right below the newer note that superseded it.

    Args:
        store: Where notes live.
        parts: The scope searched and its in-memory index first, then the narrower scopes beneath it.
        query: Query text (for the lexical channel).
        query_emb: Unit query vector (for the dense channel and similarities).
        config: Retrieval settings.
        k: Hits to return.
    """
    primary = parts[0][1]
    owner: dict[str, int] = {}
    fused: dict[str, float] = {}
    channels: dict[str, set[str]] = {}
    lexical_all: dict[str, float] = {}
    spare: list[tuple[str, float]] = []  # dense candidates below delta, for a pool short of k
    present = config.recency and asks_about_the_present(query)
    for p, (scope, state) in enumerate(parts):
        if not state.valid:
            continue
        rated = _rated(state, config)
        if state.filtered:
            dense_raw = store.query(scope, query_emb, config.k1, ids=sorted(state.valid))
            lexical = [(i, s) for i, s in state.bm25.search(query, len(state.texts)) if i in state.valid][: config.k1]
        else:
            invalid = max(state.count - len(state.valid), 0)
            deeper = config.utility_depth * config.k1 if rated else 0
            dense_raw = store.query(scope, query_emb, config.k1 + max(min(invalid, 4 * config.k1), deeper), total=state.count)
            lexical = state.bm25.search(query, config.k1 + deeper)
        useful = _useful(dense_raw, lexical, state, config) if rated else []
        lexical = lexical[: config.k1]
        dense = [(i, s) for i, s in dense_raw if i in state.valid and s > config.delta][: config.k1]
        spare += [(i, s) for i, s in dense_raw if i in state.valid and s <= config.delta]
        lexical_all.update(lexical)
        local: dict[str, float] = {}
        for weight, ranked, name in ((config.dense_weight, dense, "dense"), (config.lexical_weight, lexical, "lexical")):
            for rank, (note_id, _) in enumerate(ranked, start=1):
                local[note_id] = local.get(note_id, 0.0) + weight / (config.rrf_k + rank)
                channels.setdefault(note_id, set()).add(name)
        for note_id, rank in useful:  # rewarded notes a little further down either channel join the pool
            if note_id not in local:
                local[note_id] = config.dense_weight / (config.rrf_k + rank)
                channels.setdefault(note_id, set()).add("utility")
        if config.hop_weight > 0 and config.hop_sources > 0:
            sources = sorted(local.items(), key=lambda kv: -kv[1])[: config.hop_sources]
            for src, score in sources:
                for target in state.links.get(src, ()):
                    if target in state.valid and target not in local:
                        local[target] = config.hop_weight * score
                        channels.setdefault(target, set()).add("link")
                    elif target in channels and "link" not in channels[target] and target != src:
                        channels[target].add("link")
        if present and state.successor:
            for note_id, score in list(local.items()):
                nxt = state.successor.get(note_id)
                while nxt is not None and nxt not in local and nxt in state.valid:
                    local[nxt] = config.hop_weight * score
                    channels.setdefault(nxt, set()).add("link")
                    nxt = state.successor.get(nxt)
        for note_id, score in local.items():
            fused[note_id] = score
            owner[note_id] = p
    cap = max(2 * config.k1, k)
    if len(parts) > 1 and len(fused) > cap:  # several scopes: one pool the size of a single scope's, best fused first
        fused = dict(sorted(fused.items(), key=lambda kv: -kv[1])[:cap])
    fill = [i for i, _ in sorted(spare, key=lambda kv: -kv[1]) if i not in fused][: max(k - len(fused), 0)]
    if present:  # a note that fills a place brings the newer notes of its slot
        for note_id in list(fill):
            state = next(st for _, st in parts if note_id in st.valid)
            nxt = state.successor.get(note_id)
            while nxt is not None and nxt not in fused and nxt not in fill and nxt in state.valid:
                fill.append(nxt)
                nxt = state.successor.get(nxt)
    for note_id in fill:
        owner[note_id] = next(p for p, (_, st) in enumerate(parts) if note_id in st.valid)
    if not fused and not fill:
        primary.last_pool, primary.last_hits = [], []
        return []

    notes, embs = _fetch(store, parts, owner, [*fused, *fill])
    if any(not n.valid for n in notes):  # deleted by another client since this index was read
        for n in notes:
            if not n.valid:
                parts[owner[n.id]][1].index(n, config.lexical_window)
        rows = [i for i, n in enumerate(notes) if n.valid]
        notes, embs = [notes[i] for i in rows], (embs[rows] if embs is not None and embs.size else embs)
        fused = {i: v for i, v in fused.items() if i in parts[owner[i]][1].valid}
    if not notes:
        return []
    sims_all = (embs @ query_emb).astype(np.float64) if embs is not None and embs.size else np.zeros(len(notes))
    keep = [i for i, n in enumerate(notes) if n.id in fused]
    pool, sims = [notes[i] for i in keep], sims_all[keep]
    hits = _rank(pool, sims, fused, channels, lexical_all, parts, owner, config, present, query) if pool else []
    floor = min((h.score for h in hits), default=0.0)
    halve = config.recency and bool(_FIRST_PERSON.search(query))
    extra = sorted(
        ((n, float(sims_all[i])) for i, n in enumerate(notes) if n.id not in fused),
        key=lambda e: -e[1] * (0.5 if halve and about_someone_else(e[0].content) else 1.0),
    )
    hits += [Hit(note, floor - rank, sim, 0.0, note.q, ("dense",)) for rank, (note, sim) in enumerate(extra, start=1)]
    if present:
        hits = _by_chain(hits, _heads([h.note for h in hits], parts, owner))
    hits = _monotonic(hits)[:k]
    primary.last_pool = [n.id for n in pool] + [n.id for n, _ in extra]
    primary.last_hits = [h.note.id for h in hits]
    return hits


def _rated(state: ScopeState, config: ASEMConfig) -> bool:
    """True when the utility channel has something to find in this scope."""
    return config.utility_depth > 0 and config.lam > 0 and any(q > config.q0 for q in state.utility.values())


def _useful(dense: Sequence[tuple[str, float]], lexical: Sequence[tuple[str, float]], state: ScopeState, config: ASEMConfig) -> list[tuple[str, int]]:
    """The utility channel: notes rated above ``q0`` among the deeper dense (above ``delta``) and lexical candidates, with their rank."""
    out: dict[str, int] = {}
    for rank, (note_id, sim) in enumerate(dense, start=1):
        if note_id in state.valid and sim > config.delta and state.utility.get(note_id, config.q0) > config.q0:
            out.setdefault(note_id, rank)
    for rank, (note_id, _) in enumerate(lexical, start=1):
        if note_id in state.valid and state.utility.get(note_id, config.q0) > config.q0:
            out[note_id] = min(out.get(note_id, rank), rank)
    return sorted(out.items(), key=lambda kv: kv[1])


def _fetch(store: ChromaStore, parts: Sequence[tuple[Scope, ScopeState]], owner: dict[str, int], ids: list[str]) -> tuple[list[Note], np.ndarray | None]:
    """Notes (and their embeddings) of ``ids``, read from the part that owns each."""
    if len(parts) == 1:
        return store.get_notes(parts[0][0], ids, embeddings=True)
    notes: list[Note] = []
    embs: list[np.ndarray] = []
    for p, (scope, _) in enumerate(parts):
        mine = [i for i in ids if owner[i] == p]
        if mine:
            got, vectors = store.get_notes(scope, mine, embeddings=True)
            notes += got
            if vectors is not None:
                embs.append(vectors)
    return notes, (np.concatenate(embs) if embs else None)


def _rank(
    notes: list[Note],
    sims: np.ndarray,
    fused: dict[str, float],
    channels: dict[str, set[str]],
    lexical: dict[str, float],
    parts: Sequence[tuple[Scope, ScopeState]],
    owner: dict[str, int],
    config: ASEMConfig,
    present: bool,
    query: str,
) -> list[Hit]:
    """Phase B over the pool: (1-λ)·z(relevance) + λ·z(q), best first.

    For a question about the present, the newest note of a slot takes the best relevance of its
    chain; for a question in the first person ("where do I live?"), notes about someone else
    ("my brother lives in Paris") count half.
    """
    ids = [n.id for n in notes]
    if config.fusion == "score":
        top_lex = max(lexical.values(), default=1.0) or 1.0
        lo, hi = float(sims.min()), float(sims.max())
        spread = max(hi - lo, config.similarity_spread_floor, 1e-9)
        w = config.lexical_weight / max(config.lexical_weight + config.dense_weight, 1e-9)
        base = [w * lexical.get(n.id, 0.0) / top_lex + (1 - w) * (sims[i] - lo) / spread for i, n in enumerate(notes)]
        direct = {n.id: b for n, b in zip(notes, base)}
        for n in notes:
            if channels[n.id] == {"link"}:
                links = parts[owner[n.id]][1].links
                direct[n.id] = min(direct[n.id], config.hop_weight * max((direct[s] for s in ids if n.id in links.get(s, ())), default=0.0))
        rel = np.asarray([direct[n.id] for n in notes], dtype=np.float64)
    else:
        rel = np.asarray([fused[n.id] for n in notes], dtype=np.float64)
    if config.speaker_weight > 0:
        for i in _other_speakers(notes, query):
            rel[i] *= 1.0 - config.speaker_weight
    if config.recency and _FIRST_PERSON.search(query):  # "where do I live?" is about the speaker
        for i, n in enumerate(notes):
            if about_someone_else(n.content):
                rel[i] *= 0.5
    _vouched(rel, notes, parts, owner, sims >= config.experience_gate)
    if present:  # the newest note of a slot answers for the present with the chain's best relevance
        for i, h in _heads(notes, parts, owner).items():
            rel[h] = max(rel[h], rel[i])
    qs = np.asarray([n.q for n in notes], dtype=np.float64)
    floor = config.relevance_spread_floor if config.fusion == "score" else 0.0
    scores = (1.0 - config.lam) * zscore(rel, floor) + config.lam * zscore(qs, config.utility_spread_floor)
    order = sorted(range(len(notes)), key=lambda i: (-scores[i], -rel[i]))
    return [Hit(notes[i], float(scores[i]), float(sims[i]), float(rel[i]), float(qs[i]), tuple(sorted(channels[notes[i].id]))) for i in order]


def _vouched(rel: np.ndarray, notes: Sequence[Note], parts: Sequence[tuple[Scope, ScopeState]], owner: dict[str, int], like: np.ndarray) -> None:
    """A note that an experience like the query (``like``) used takes at least the experience's relevance (in place)."""
    index = {n.id: i for i, n in enumerate(notes)}
    for i, note in enumerate(notes):
        if not like[i]:
            continue
        for used in parts[owner[note.id]][1].used.get(note.id, ()):
            j = index.get(used)
            if j is not None:
                rel[j] = max(rel[j], rel[i])


def _other_speakers(notes: Sequence[Note], query: str) -> list[int]:
    """Positions of notes by speakers the query does not name, when it names some of the pool's speakers."""
    speakers = {n.speaker for n in notes if n.speaker}
    named = {s for s in speakers if s.split() and re.search(rf"\b{re.escape(s.split()[0])}\b", query)}
    if not named or named == speakers:
        return []
    return [i for i, n in enumerate(notes) if n.speaker and n.speaker not in named]


def _heads(notes: list[Note], parts: Sequence[tuple[Scope, ScopeState]], owner: dict[str, int]) -> dict[int, int]:
    """Pool position of each superseded note -> that of the newest note of its chain in the pool."""
    index = {n.id: i for i, n in enumerate(notes)}
    heads: dict[int, int] = {}
    for i, note in enumerate(notes):
        successor = parts[owner[note.id]][1].successor
        nxt, seen = successor.get(note.id), set()
        while nxt is not None and nxt not in seen:
            seen.add(nxt)
            if nxt in index:
                heads[i] = index[nxt]
            nxt = successor.get(nxt)
    return heads


def _by_chain(hits: list[Hit], heads: dict[int, int]) -> list[Hit]:
    """Each slot's newest note at the best place of its chain, the older notes of the chain right below it."""
    groups: dict[int, list[int]] = {}
    for i in range(len(hits)):
        groups.setdefault(heads.get(i, i), []).append(i)
    out: list[Hit] = []
    for head, members in sorted(groups.items(), key=lambda kv: min(kv[1])):
        out.append(hits[head])
        out += [hits[m] for m in members if m != head]
    return out


def _monotonic(hits: list[Hit]) -> list[Hit]:
    """Scores that never rise down the list (a note moved below another takes at most its score)."""
    out: list[Hit] = []
    for hit in hits:
        if out and hit.score > out[-1].score:
            hit = Hit(hit.note, out[-1].score, hit.similarity, hit.relevance, hit.utility, hit.channels)
        out.append(hit)
    return out
