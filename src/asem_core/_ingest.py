"""The ingest pipeline of ASEM: note construction, manager decisions, links, batched writes.

Kept apart from :mod:`asem_core._memory` (the public object) along the stages it holds:
facts in (validation), notes built (stage 1), manager operations (stage 2), links (stage 3),
and the in-memory index of each scope that retrieval reads.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._config import ASEMConfig
from ._embedder import Embedder
from ._enrich import Enrichment, HeuristicEnricher, joint_text, lexical_text
from ._errors import InvalidInputError
from ._llm import MeteredLLM
from ._llm_stages import LLMEnricher, LLMLinker
from ._manager import Decision, Fact, MemoryManager, Neighbour
from ._retrieval import ScopeState
from ._store import ChromaStore
from ._text import normalize_timestamp, now_iso, validate_text
from ._types import Link, Note, Operation, OpType, Scope, Version

__all__ = ["AddOnlyManager", "IngestPipeline", "check_metadata", "message_parts"]


class AddOnlyManager:
    """The policy of ``add_many(..., manage=False)``: every fact becomes a new note."""

    name = "add-only"

    def decide(self, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
        """Always ADD."""
        return Decision(OpType.ADD, "added directly (manage=False)")


@dataclass
class _Item:
    text: str
    timestamp: str
    metadata: dict[str, Any]
    speaker: str | None
    source_id: str | None


def _speaker_of(note: Note) -> str | None:
    speaker = note.metadata.get("speaker")
    return str(speaker) if speaker is not None else None


def check_metadata(metadata: object, where: str) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        msg = f"{where}: metadata must be a dict, got {type(metadata).__name__}"
        raise InvalidInputError(msg)
    try:
        json.dumps(dict(metadata))
    except (TypeError, ValueError) as exc:
        msg = f"{where}: metadata must be JSON-serialisable ({exc})"
        raise InvalidInputError(msg) from exc
    if "source_id" in metadata and not isinstance(metadata["source_id"], (str, int)):
        msg = f"{where}: metadata['source_id'] must be a string or int"
        raise InvalidInputError(msg)
    return dict(metadata)


def message_parts(message: Any, where: str) -> tuple[str, str]:
    """(role, content) of a dict message or a LangChain-style message object."""
    if isinstance(message, Mapping):
        role, content = message.get("role") or message.get("speaker") or message.get("type"), message.get("content", message.get("text"))
    else:
        role, content = getattr(message, "type", None), getattr(message, "content", None)
        name = getattr(message, "name", None)
        role = name or role
    if not isinstance(content, str):
        msg = f"{where}: a message needs string content (a dict with 'content' or an object with .content)"
        raise InvalidInputError(msg)
    return str(role or "user"), content


class IngestPipeline:
    """Ingest machinery shared by :class:`~asem_core.ASEM` (a mixin; it holds no public API)."""

    config: ASEMConfig
    embedder: Embedder
    enricher: HeuristicEnricher
    constructor: LLMEnricher | None
    llm: MeteredLLM | None
    linker: LLMLinker | None
    manager: MemoryManager
    store: ChromaStore
    _lock: threading.RLock
    _states: dict[str, ScopeState]
    _counters: dict[str, int]
    _query_cache: dict[str, np.ndarray]

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self._counters["embedded_texts"] += len(texts)
        return self.embedder.embed(texts)

    def _embed_query(self, query: str) -> np.ndarray:
        """Query vector, from a small LRU cache (agents and benchmarks repeat queries)."""
        with self._lock:
            cached = self._query_cache.pop(query, None)
            if cached is not None:
                self._query_cache[query] = cached
                return cached
        vector: np.ndarray = self._embed([query])[0]
        with self._lock:
            self._query_cache[query] = vector
            while len(self._query_cache) > self.config.query_cache:
                self._query_cache.pop(next(iter(self._query_cache)))
        return vector

    def _state(self, scope: Scope) -> ScopeState:
        """The scope's in-memory index, (re)loaded when the store holds notes it has not seen."""
        state = self._states.get(scope.key)
        count = self.store.count(scope)
        if state is not None and state.count == count:
            return state
        state = ScopeState()
        for note in self.store.iter_notes(scope):
            self._index(state, note)
        state.count = count
        self._states[scope.key] = state
        return state

    def _index(self, state: ScopeState, note: Note) -> None:
        """Bring the scope's in-memory index up to date with one (new or changed) note.

        The lexical document of a note is its own text plus, with ``lexical_window``, the text of
        the notes it is linked to by "follows" (the turns around it), so a reply is found by the
        words of the question it answers.
        """
        state.links[note.id] = [link.target for link in note.links]
        state.follows[note.id] = [link.target for link in note.links if link.relation == "follows"]
        for sid in note.source_ids:
            state.sources[sid] = note.id
        if note.valid:
            state.valid.add(note.id)
            raw = note.metadata.get("raw_text")
            content = f"{note.content} {raw}" if isinstance(raw, str) else note.content
            state.texts[note.id] = lexical_text(content, note.keywords, note.context)
        else:
            state.valid.discard(note.id)
            state.texts.pop(note.id, None)
            state.bm25.remove(note.id)
        for nid in [note.id, *state.follows[note.id]]:
            if nid in state.valid and nid in state.texts:
                window = (
                    [state.texts[o] for o in state.follows.get(nid, ())[: 2 * self.config.lexical_window] if o in state.texts]
                    if self.config.lexical_window
                    else []
                )
                state.bm25.add(nid, " ".join([state.texts[nid], *window]))

    def _embeddings_for(self, notes: Sequence[Note], known: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(joint, intent) embeddings of notes; intents already in ``known`` are not recomputed."""
        known = known or {}
        missing = [n for n in notes if n.id not in known]
        fresh = dict(zip((n.id for n in missing), self._embed([n.content for n in missing]))) if missing else {}
        intents = np.stack([known[n.id] if n.id in known else fresh[n.id] for n in notes]).astype(np.float32)
        if self.config.embed_mode == "mean":
            metas = self._embed([joint_text("", n.keywords, n.tags, n.context, _speaker_of(n)) for n in notes])
            joint = intents + metas
            joint /= np.linalg.norm(joint, axis=1, keepdims=True)
        else:
            joint = self._embed([joint_text(n.content, n.keywords, n.tags, n.context, _speaker_of(n)) for n in notes])
        return joint, intents

    def _parse_items(self, items: Iterable[Any]) -> list[_Item]:
        parsed: list[_Item] = []
        for i, raw in enumerate(items):
            where = f"item {i}"
            if isinstance(raw, str):
                raw = {"text": raw}
            if not isinstance(raw, Mapping):
                msg = f"{where}: must be a string or a dict with 'text', got {type(raw).__name__}"
                raise InvalidInputError(msg)
            text = validate_text(raw.get("text"), self.config.max_text_chars, f"{where}: text")
            meta = check_metadata(raw.get("metadata"), where)
            ts = normalize_timestamp(raw.get("timestamp"))
            speaker = meta.get("speaker")
            sid = meta.get("source_id")
            parsed.append(_Item(text, ts, meta, str(speaker) if speaker is not None else None, str(sid) if sid is not None else None))
        return parsed

    def _construct(self, items: list[_Item], known_sources: Mapping[str, str]) -> tuple[np.ndarray, list[Enrichment]]:
        """Stage 1: intent embeddings and enrichments; with an LLM, items become standalone facts.

        Items whose source id is already in memory (a re-ingest) get no LLM call.
        """
        texts, stamps, speakers = [it.text for it in items], [it.timestamp for it in items], [it.speaker for it in items]
        intents = self._embed(texts)
        enrich = self.enricher.enrich(texts, stamps, speakers, intents)
        fresh = [i for i, it in enumerate(items) if it.source_id is None or it.source_id not in known_sources]
        if self.constructor is None or not fresh:
            return intents, enrich
        made = self.constructor.construct(
            [texts[i] for i in fresh], [stamps[i] for i in fresh], [speakers[i] for i in fresh], intents[fresh], [enrich[i] for i in fresh]
        )
        built = {i: c for i, c in zip(fresh, made)}
        for i, c in built.items():
            enrich[i] = c.enrichment
        changed = [i for i, c in built.items() if c.content != items[i].text]
        for i in changed:  # the raw turn stays the note's provenance
            items[i].metadata = {**items[i].metadata, "raw_text": items[i].text}
            items[i].text = built[i].content
        if changed:
            intents[changed] = self._embed([items[i].text for i in changed])
        return intents, enrich

    def _batch_decisions(
        self,
        manager: MemoryManager,
        scope: Scope,
        items: list[_Item],
        intents: np.ndarray,
        store_near: list[list[tuple[str, float]]],
        known: dict[str, Note],
        known_sources: Mapping[str, str],
    ) -> list[Decision] | None:
        """Decisions of a batch-capable manager (e.g. the prompted LLM), generated together.

        Earlier items of the batch are offered as provisional notes (id ``batch:<j>``), mapped
        to the note that item went into when the decision is applied.
        """
        decide_batch = getattr(manager, "decide_batch", None)
        if decide_batch is None:
            return None
        n_near = max(self.config.link_k, 5)
        facts, lists, asked = [], [], []
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.source_id is not None:
                if item.source_id in known_sources or item.source_id in seen:
                    continue  # a re-ingested turn: NOOP by source id, no decision needed
                seen.add(item.source_id)
            asked.append(i)
            cands = [
                (Note(id=nid, content=known[nid].content, timestamp=known[nid].timestamp, metadata=known[nid].metadata, scope=scope), sim)
                for nid, sim in store_near[i]
                if nid in known
            ]
            for j in range(i):
                sim = float(intents[j] @ intents[i])
                meta = {"speaker": items[j].speaker} if items[j].speaker else {}
                cands.append((Note(id=f"batch:{j}", content=items[j].text, timestamp=items[j].timestamp, metadata=meta, scope=scope), sim))
            cands.sort(key=lambda c: -c[1])
            facts.append(Fact(item.text, item.timestamp, item.speaker, item.metadata))
            lists.append([Neighbour(n, s) for n, s in cands[:n_near]])
        decisions: list[Decision] = [Decision(OpType.NOOP, "known source id")] * len(items)
        for i, decision in zip(asked, decide_batch(facts, lists) if facts else []):
            decisions[i] = decision
        return decisions

    def _ingest(self, scope: Scope, items: list[_Item], adjacent: bool, manage: bool = True) -> list[Operation]:
        if self.llm is None:
            return self._ingest_batch(scope, items, adjacent, manage)
        with self.llm.budget(len(items), self.config.llm_calls_per_turn):
            return self._ingest_batch(scope, items, adjacent, manage)

    def _ingest_batch(self, scope: Scope, items: list[_Item], adjacent: bool, manage: bool) -> list[Operation]:
        cfg = self.config
        manager: MemoryManager = self.manager if manage else AddOnlyManager()
        state = self._state(scope)
        now = now_iso()
        intents, enrich = self._construct(items, state.sources)
        n_near = max(cfg.link_k, 5)
        store_near = self.store.query_many(scope, intents, n_near + 8, kind="i", total=state.count) if state.valid else [[] for _ in items]
        wanted = {i for near in store_near for i, _ in near if i in state.valid}
        known: dict[str, Note] = {n.id: n for n in self.store.get_notes(scope, sorted(wanted))[0]}
        known = {k: v for k, v in known.items() if v.valid}
        pre = self._batch_decisions(manager, scope, items, intents, store_near, known, state.sources)
        # new note, the neighbours it was linked to by similarity, and its nearest similarity (its priority for the LLM)
        link_jobs: list[tuple[str, list[str], float]] = []

        changed: dict[str, Note] = {}  # notes to write, new or modified
        versions: dict[str, tuple[OpType, str]] = {}  # note id -> (op, reason) of its new version
        reembed: set[str] = set()
        new_intent: dict[str, np.ndarray] = {}
        ops: list[Operation] = []
        batch_ids: list[str | None] = []  # note holding each item (for in-batch neighbours/links)
        seen_sources: dict[str, str] = {}
        prev_id: str | None = None

        def current(note_id: str) -> Note:
            return changed.get(note_id) or known[note_id]

        def link(a: str, b: str, relation: str) -> None:
            for src, dst in ((a, b), (b, a)):
                note = current(src)
                if any(lk.target == dst for lk in note.links):
                    continue
                if src not in changed:
                    note = Note.from_dict(note.to_dict())
                    changed[src] = note
                note.links.append(Link(dst, relation))

        for i, (item, enr) in enumerate(zip(items, enrich)):
            sid = item.source_id
            if sid is not None and (sid in state.sources or sid in seen_sources):
                target = state.sources.get(sid) or seen_sources[sid]
                ops.append(Operation(OpType.NOOP, target, f"source_id {sid!r} already in memory (idempotent re-ingest)", item.text, target))
                batch_ids.append(None)
                continue
            # neighbours: stored notes (by intent) and notes made earlier in this batch
            cands: dict[str, float] = {}
            for nid, sim in store_near[i]:
                if nid in known and (current(nid).valid):
                    cands[nid] = sim
            for j in range(i):
                holder = batch_ids[j]
                if holder is not None and holder in changed and changed[holder].valid:
                    vec = new_intent.get(holder)
                    if vec is not None:
                        cands[holder] = max(cands.get(holder, -1.0), float(vec @ intents[i]))
            near = sorted(cands.items(), key=lambda kv: -kv[1])[:n_near]
            neighbours = [Neighbour(current(nid), sim) for nid, sim in near]
            if pre is not None:
                decision = pre[i]
                allowed = {nid for nid in known if current(nid).valid} | {h for h in batch_ids if h is not None}
                if decision.target_id is not None and decision.target_id.startswith("batch:"):
                    holder = batch_ids[int(decision.target_id.split(":")[1])]
                    decision = Decision(decision.op, decision.reason, holder, decision.content)
            else:
                fact = Fact(item.text, item.timestamp, item.speaker, item.metadata)
                decision = manager.decide(fact, neighbours)
                allowed = {n.note.id for n in neighbours}
            decision = self._check_decision(decision, allowed)
            note_id: str | None = None
            if decision.op in (OpType.ADD, OpType.DELETE):
                if decision.op is OpType.DELETE:
                    assert decision.target_id is not None
                    old = Note.from_dict(current(decision.target_id).to_dict())
                    old.valid, old.version, old.updated_at = False, old.version + 1, now
                    changed[old.id] = old
                    versions[old.id] = (OpType.DELETE, decision.reason)
                note_id = uuid.uuid4().hex
                note = Note(
                    id=note_id,
                    content=item.text,
                    timestamp=item.timestamp,
                    keywords=enr.keywords,
                    tags=enr.tags,
                    context=enr.context,
                    q=cfg.q0,
                    scope=scope,
                    created_at=now,
                    updated_at=now,
                    metadata=item.metadata,
                    source_ids=[sid] if sid is not None else [],
                )
                changed[note_id] = note
                known[note_id] = note
                new_intent[note_id] = intents[i]
                versions[note_id] = (OpType.ADD, decision.reason if decision.op is OpType.ADD else f"fact kept after DELETE: {decision.reason}")
                linked = [nid for nid, sim in near[: cfg.link_k] if sim >= cfg.link_threshold and nid != note_id]
                for nid in linked:
                    link(note_id, nid, "similar")
                if linked and near[0][1] >= cfg.llm_link_gate:
                    link_jobs.append((note_id, linked, near[0][1]))
                if adjacent and prev_id is not None and prev_id != note_id:
                    link(note_id, prev_id, "follows")
                ops.append(Operation(decision.op, note_id, decision.reason, item.text, decision.target_id, note_id if decision.op is OpType.DELETE else None))
            elif decision.op is OpType.UPDATE:
                assert decision.target_id is not None
                note = Note.from_dict(current(decision.target_id).to_dict())
                note.content = decision.content or f"{note.content} {item.text}"
                note.version, note.updated_at, note.timestamp = note.version + 1, now, max(note.timestamp, item.timestamp)
                note.keywords = list(dict.fromkeys(note.keywords + enr.keywords))[: 2 * cfg.keywords_per_note]
                if sid is not None and sid not in note.source_ids:
                    note.source_ids.append(sid)
                changed[note.id] = note
                versions[note.id] = (OpType.UPDATE, decision.reason)
                reembed.add(note.id)
                note_id = note.id
                ops.append(Operation(OpType.UPDATE, note_id, decision.reason, item.text, note_id))
            else:  # NOOP
                note_id = decision.target_id
                if note_id is not None and sid is not None:
                    note = Note.from_dict(current(note_id).to_dict())
                    note.source_ids.append(sid)
                    note.version, note.updated_at = note.version + 1, now
                    changed[note_id] = note
                    versions[note_id] = (OpType.NOOP, f"provenance {sid!r} merged: {decision.reason}")
                ops.append(Operation(OpType.NOOP, note_id, decision.reason, item.text, decision.target_id))
            if sid is not None and note_id is not None:
                seen_sources[sid] = note_id
            batch_ids.append(note_id)
            if note_id is not None:
                prev_id = note_id

        if self.linker is not None and link_jobs:
            self._evolve(link_jobs, changed, known, versions, reembed)
        self._flush(scope, state, changed, versions, reembed, new_intent, ops, now)
        return ops

    def _evolve(
        self,
        jobs: list[tuple[str, list[str], float]],
        changed: dict[str, Note],
        known: dict[str, Note],
        versions: dict[str, tuple[OpType, str]],
        reembed: set[str],
    ) -> None:
        """Stage 3 with an LLM: label the new links and revise the neighbours' tags and context."""
        assert self.linker is not None

        def current(nid: str) -> Note:
            return changed.get(nid) or known[nid]

        plans = self.linker.plan([current(n) for n, _, _ in jobs], [[current(o) for o in others] for _, others, _ in jobs], [s for _, _, s in jobs])
        for (note_id, _, _), plan in zip(jobs, plans):
            if plan is None:
                continue
            for other, relation in plan.relations.items():
                for src, dst in ((note_id, other), (other, note_id)):
                    note = current(src)
                    if src not in changed:
                        note = Note.from_dict(note.to_dict())
                        changed[src] = note
                    note.links = [Link(lk.target, relation) if lk.target == dst and lk.relation == "similar" else lk for lk in note.links]
            for other, (tags, context) in plan.evolve.items():
                note = current(other)
                if other not in changed:
                    note = Note.from_dict(note.to_dict())
                    changed[other] = note
                note.tags, note.context = tags, context
                if other not in versions:  # a note made in this batch keeps its ADD version
                    note.version += 1
                    versions[other] = (OpType.EVOLVE, f"tags/context revised after new note {note_id}")
                    reembed.add(other)

    @staticmethod
    def _check_decision(decision: Decision, allowed: set[str]) -> Decision:
        """A decision whose target is unknown (or missing) falls back to ADD: the fact is never lost."""
        if decision.op is OpType.ADD:
            return decision
        if decision.target_id is None and decision.op is OpType.NOOP:
            return decision
        if decision.target_id not in allowed:
            return Decision(OpType.ADD, f"manager chose {decision.op.value} on unknown target {decision.target_id!r}; added instead")
        return decision

    def _flush(
        self,
        scope: Scope,
        state: ScopeState,
        changed: dict[str, Note],
        versions: dict[str, tuple[OpType, str]],
        reembed: set[str],
        new_intent: dict[str, np.ndarray],
        ops: Sequence[Operation],
        now: str,
    ) -> None:
        """Write a batch: history first (every note has its history), then notes, then the log.

        Existing notes are re-read just before the write and this batch's changes are merged into
        the fresh copies (links and sources united, utility kept), so a writer in another process
        (through a Chroma server) loses no link, source or utility update made in the meantime.
        """
        if changed:
            self._merge_fresh(scope, changed, new_intent, versions)
            to_embed = [n for nid, n in changed.items() if nid in new_intent or nid in reembed]
            plain = [n for nid, n in changed.items() if nid not in new_intent and nid not in reembed]
            self.store.put_versions([Version(changed[nid], op, reason, now) for nid, (op, reason) in versions.items()])
            if to_embed:
                joint, intents = self._embeddings_for(to_embed, {k: v for k, v in new_intent.items() if k not in reembed})
                self.store.put_notes(to_embed, joint, intents)
            if plain:
                self.store.put_notes(plain, None, None)
        self.store.log(
            scope, [{"op": o.op.value, "note_id": o.note_id, "target_id": o.target_id, "reason": o.reason, "text": o.text[:2000], "at": now} for o in ops]
        )
        for note in changed.values():
            self._index(state, note)
        # derived, not re-counted: a note another process wrote meanwhile keeps the counts apart,
        # so the next use of the scope reloads its index instead of missing that note
        state.count += len(new_intent)

    def _merge_fresh(self, scope: Scope, changed: dict[str, Note], new_intent: Mapping[str, np.ndarray], versions: Mapping[str, tuple[OpType, str]]) -> None:
        existing = [nid for nid in changed if nid not in new_intent]
        if not existing:
            return
        fresh, _ = self.store.get_notes(scope, existing)
        for current in fresh:
            mine = changed[current.id]
            targets = {lk.target for lk in current.links}
            relabel = {lk.target: lk.relation for lk in mine.links}
            current.links = [Link(lk.target, relabel[lk.target]) if lk.relation == "similar" and lk.target in relabel else lk for lk in current.links]
            current.links += [lk for lk in mine.links if lk.target not in targets]
            current.source_ids += [sid for sid in mine.source_ids if sid not in current.source_ids]
            if current.id in versions:
                current.content, current.valid, current.timestamp = mine.content, mine.valid, mine.timestamp
                current.keywords, current.updated_at = mine.keywords, mine.updated_at
                current.tags, current.context = mine.tags, mine.context
                current.metadata = mine.metadata
                current.version = max(current.version + 1, mine.version)
            changed[current.id] = current
