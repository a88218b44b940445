"""The ingest pipeline: facts in, then stages 1-3 in order, then one write plan applied.

Validation of incoming items, note construction (stage 1, :mod:`asem_core._construction`),
manager decisions (stage 2, :mod:`asem_core.manager`) and links (stage 3,
:mod:`asem_core._linking`) produce one :class:`~asem_core._write.WritePlan` per batch, which
:func:`~asem_core._write.apply_plan` writes; the scope's in-memory index
(:class:`~asem_core._retrieval.ScopeState`) is then updated from the plan.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._config import ASEMConfig
from ._construction import Enrichment, HeuristicEnricher, LLMEnricher, joint_text
from ._embedder import Embedder
from ._errors import InvalidInputError
from ._linking import LinkJob, LLMLinker, evolve, link_new_note
from ._retrieval import ScopeState
from ._store import ChromaStore
from ._text import normalize_timestamp, now_iso, require_unicode, validate_text
from ._types import Note, Operation, OpType, Scope
from ._vectors import VectorCache, composed_joint
from ._write import WritePlan, apply_plan
from .llm import MeteredLLM
from .manager import SUPERSEDED_BY, SUPERSEDES, AddOnlyManager, Decision, Fact, MemoryManager, Neighbour, check_decision

__all__ = ["IngestPipeline", "check_metadata", "is_assistant", "message_parts"]


@dataclass
class _Item:
    text: str
    timestamp: str
    metadata: dict[str, Any]
    speaker: str | None
    source_id: str | None


_MAX_DEPTH = 32


def _check_json_value(value: object, where: str, path: str) -> None:
    """Walk ``value`` without recursion: str keys only, no lone surrogates, no NaN, bounded depth."""
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        item, at, depth = stack.pop()
        if depth > _MAX_DEPTH:
            msg = f"{where}: metadata is nested deeper than {_MAX_DEPTH} levels (at {at})"
            raise InvalidInputError(msg)
        if isinstance(item, str):
            require_unicode(item, f"{where}: metadata text at {at}")
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    msg = f"{where}: metadata keys must be strings, got {key!r} ({type(key).__name__}) at {at}"
                    raise InvalidInputError(msg)
                require_unicode(key, f"{where}: a metadata key at {at}")
                stack.append((sub, f"{at}[{key!r}]", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{at}[{i}]", depth + 1) for i, sub in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            msg = f"{where}: metadata holds {item!r} at {at}, which is not valid JSON"
            raise InvalidInputError(msg)
        elif item is not None and not isinstance(item, (bool, int, float)):
            msg = f"{where}: metadata must be JSON-serialisable; {at} is a {type(item).__name__}"
            raise InvalidInputError(msg)


def check_metadata(metadata: object, where: str) -> dict[str, Any]:
    """Validate metadata given by a caller and return a copy as a plain dict.

    Raises:
        InvalidInputError: Not a mapping, a key that is not a string (``{1: "a"}`` would come back
            keyed ``"1"``), a value JSON cannot carry exactly, nesting deeper than 32 levels,
            lone surrogates, or a ``source_id`` that is not a string or int.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        msg = f"{where}: metadata must be a dict, got {type(metadata).__name__}"
        raise InvalidInputError(msg)
    _check_json_value(metadata, where, "metadata")
    if "source_id" in metadata and (isinstance(metadata["source_id"], bool) or not isinstance(metadata["source_id"], (str, int))):
        msg = f"{where}: metadata['source_id'] must be a string or int"
        raise InvalidInputError(msg)
    copied: dict[str, Any] = json.loads(json.dumps(dict(metadata)))
    return copied


def is_assistant(message: Any) -> bool:
    """True for an assistant turn: role "assistant" or "ai" (dicts, LangChain and LlamaIndex messages)."""
    if isinstance(message, Mapping):
        role = message.get("role") or message.get("type")
    else:
        role = getattr(message, "type", None)
        role = getattr(message, "role", None) if role in (None, "chat") else role
    role = getattr(role, "value", role)  # LlamaIndex's MessageRole enum
    return str(role).lower() in ("ai", "assistant")


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
    _query_cache: VectorCache
    _pieces: VectorCache

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self._counters["embedded_texts"] += len(texts)
        return self.embedder.embed(texts)

    def _embed_query(self, query: str) -> np.ndarray:
        """Query vector, from a small LRU cache (agents and benchmarks repeat queries)."""
        vector: np.ndarray = self._query_cache.vectors([query], self._embed)[0]
        return vector

    def _state(self, scope: Scope) -> ScopeState:
        """The scope's in-memory index, (re)loaded when the store holds notes it has not seen."""
        state = self._states.get(scope.key)
        count = self.store.count(scope)
        if state is not None and state.count == count:
            return state
        state = ScopeState()
        for note in self.store.iter_notes(scope):
            state.index(note, self.config.lexical_window)
        state.count = count
        self._states[scope.key] = state
        return state

    def _apply(self, plan: WritePlan, state: ScopeState) -> None:
        """Write a plan, then bring the scope's in-memory index (read before the plan was made) up to date with it."""
        apply_plan(self.store, plan, self._embeddings_for)
        if plan.utility_only:
            owner = self._states.get(plan.scope.key)  # the rated notes' scope (a narrower one after a user-level search)
            if owner is not None:
                for note in plan.notes.values():
                    owner.rate(note)
            return
        for note in plan.notes.values():
            state.index(note, self.config.lexical_window)
        # derived, not re-counted: a note another process wrote meanwhile keeps the counts apart,
        # so the next use of the scope reloads its index instead of missing that note
        state.count += len(plan.new_intents)

    def _embeddings_for(self, notes: Sequence[Note], known: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(joint, intent) embeddings of notes; intents already in ``known`` are not recomputed."""
        known = known or {}
        missing = [n for n in notes if n.id not in known]
        fresh = dict(zip((n.id for n in missing), self._embed([n.content for n in missing]))) if missing else {}
        intents = np.stack([known[n.id] if n.id in known else fresh[n.id] for n in notes]).astype(np.float32)
        if self.config.embed_mode == "single":  # one pass: the note is searched by its raw-text vector
            return intents.copy(), intents
        if self.config.embed_mode == "composed":  # one pass over the text + the cached vector of its context line
            return composed_joint(intents, notes, self._pieces, self._embed), intents
        if self.config.embed_mode == "mean":
            metas = self._embed([joint_text("", n.keywords, n.tags, n.context, n.speaker) for n in notes])
            joint = intents + metas
            joint /= np.linalg.norm(joint, axis=1, keepdims=True)
        else:
            joint = self._embed([joint_text(n.content, n.keywords, n.tags, n.context, n.speaker) for n in notes])
        return joint, intents

    def _parse_items(self, items: Iterable[Any]) -> list[_Item]:
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            msg = f"items must be a list of strings or dicts with 'text', got {type(items).__name__} (wrap a single fact in a list, or use add())"
            raise InvalidInputError(msg)
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
            ts = normalize_timestamp(raw.get("timestamp"), f"{where}: timestamp")
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
        plan = WritePlan(scope, now, base=known)
        link_jobs: list[LinkJob] = []
        batch_ids: list[str | None] = []  # note holding each item (for in-batch neighbours/links)
        seen_sources: dict[str, str] = {}
        prev_id: str | None = None
        for i, (item, enr) in enumerate(zip(items, enrich)):
            sid = item.source_id
            if sid is not None and (sid in state.sources or sid in seen_sources):
                target = state.sources.get(sid) or seen_sources[sid]
                plan.ops.append(Operation(OpType.NOOP, target, f"source_id {sid!r} already in memory (idempotent re-ingest)", item.text, target))
                batch_ids.append(None)
                continue
            # neighbours: stored notes (by intent) and notes made earlier in this batch
            cands: dict[str, float] = {nid: sim for nid, sim in store_near[i] if nid in known and plan.current(nid).valid}
            for j in range(i):
                holder = batch_ids[j]
                if holder is not None and holder in plan.notes and plan.notes[holder].valid:
                    vec = plan.new_intents.get(holder)
                    if vec is not None:
                        cands[holder] = max(cands.get(holder, -1.0), float(vec @ intents[i]))
            near = sorted(cands.items(), key=lambda kv: -kv[1])[:n_near]
            if pre is not None:
                decision = pre[i]
                allowed = {nid for nid in known if plan.current(nid).valid} | {h for h in batch_ids if h is not None}
                if decision.target_id is not None and decision.target_id.startswith("batch:"):
                    holder = batch_ids[int(decision.target_id.split(":")[1])]
                    decision = Decision(decision.op, decision.reason, holder, decision.content)
            else:
                neighbours = [Neighbour(plan.current(nid), sim) for nid, sim in near]
                decision = manager.decide(Fact(item.text, item.timestamp, item.speaker, item.metadata), neighbours)
                allowed = {n.note.id for n in neighbours}
            decision = check_decision(decision, allowed)
            note_id = self._apply_decision(plan, decision, item, enr, intents[i])
            if decision.op in (OpType.ADD, OpType.DELETE) and note_id is not None:
                job = link_new_note(plan, note_id, near, cfg, prev_id if adjacent else None)
                if job is not None:
                    link_jobs.append(job)
            if sid is not None and note_id is not None:
                seen_sources[sid] = note_id
            batch_ids.append(note_id)
            if note_id is not None:
                prev_id = note_id

        if self.linker is not None and link_jobs:
            evolve(plan, self.linker, link_jobs)
        self._apply(plan, state)
        return plan.ops

    def _apply_decision(self, plan: WritePlan, decision: Decision, item: _Item, enr: Enrichment, intent: np.ndarray) -> str | None:
        """Put one checked decision into the plan; returns the note that now holds the item."""
        cfg, sid, now = self.config, item.source_id, plan.at
        if decision.op in (OpType.ADD, OpType.DELETE):
            if decision.op is OpType.DELETE:
                assert decision.target_id is not None
                plan.change(decision.target_id, OpType.DELETE, decision.reason).valid = False
            note = Note(
                id=uuid.uuid4().hex,
                content=item.text,
                timestamp=item.timestamp,
                keywords=enr.keywords,
                tags=enr.tags,
                context=enr.context,
                q=cfg.q0,
                scope=plan.scope,
                created_at=now,
                updated_at=now,
                metadata=item.metadata,
                source_ids=[sid] if sid is not None else [],
            )
            reason = decision.reason if decision.op is OpType.ADD else f"fact kept after DELETE: {decision.reason}"
            plan.create(note, intent, OpType.ADD, reason)
            if decision.op is OpType.ADD and decision.supersedes is not None:
                plan.link(note.id, decision.supersedes, SUPERSEDES, back=SUPERSEDED_BY)
            added = note.id if decision.op is OpType.DELETE else None
            plan.ops.append(Operation(decision.op, note.id, decision.reason, item.text, decision.target_id, added))
            return note.id
        if decision.op is OpType.UPDATE:
            assert decision.target_id is not None
            note = plan.change(decision.target_id, OpType.UPDATE, decision.reason, reembed=True)
            note.content = decision.content or f"{note.content} {item.text}"
            note.timestamp = max(note.timestamp, item.timestamp)
            note.keywords = list(dict.fromkeys(note.keywords + enr.keywords))[: 2 * cfg.keywords_per_note]
            if sid is not None and sid not in note.source_ids:
                note.source_ids.append(sid)
            plan.ops.append(Operation(OpType.UPDATE, note.id, decision.reason, item.text, note.id))
            return note.id
        # NOOP: the item's provenance is merged into the note it duplicates
        if decision.target_id is not None and sid is not None:
            plan.change(decision.target_id, OpType.NOOP, f"provenance {sid!r} merged: {decision.reason}").source_ids.append(sid)
        plan.ops.append(Operation(OpType.NOOP, decision.target_id, decision.reason, item.text, decision.target_id))
        return decision.target_id
