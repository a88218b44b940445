"""``ASEMStore``: a LangGraph ``BaseStore`` over ASEM, the long-term memory of LangGraph agents."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph.store.base.embed import get_text_at_path

from asem_core import ASEM, InvalidInputError, Note, Scope, matches_filter, open_memory

__all__ = ["ASEMStore"]

_AGENT = "langgraph"
_TEXT_FIELDS = ("content", "text", "memory", "data", "fact")


def _scope(namespace: tuple[str, ...]) -> Scope:
    # LangGraph forbids "." inside labels, so joining on it is reversible
    return Scope(user_id=".".join(namespace), agent_id=_AGENT)


def _namespace(scope: Scope) -> tuple[str, ...]:
    return tuple((scope.user_id or "").split("."))


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Mapping[str, Any], index: list[str] | None) -> str:
    """The text ASEM embeds for a value: the indexed fields, a text-like field, or the JSON."""
    if index:
        parts = [t for path in index for t in get_text_at_path(dict(value), path)]
        if parts:
            return "\n".join(parts)
    for name in _TEXT_FIELDS:
        if isinstance(value.get(name), str) and value[name].strip():
            return str(value[name])
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True, default=str)


def _check_put(op: PutOp) -> None:
    """A put LangGraph's contract allows: a string key and a dict value (or None to delete)."""
    if not isinstance(op.key, str) or not op.key:
        msg = f"ASEMStore.put: key must be a non-empty string, got {op.key!r}"
        raise InvalidInputError(msg)
    if op.value is not None and not isinstance(op.value, Mapping):
        msg = f"ASEMStore.put: value must be a dict (LangGraph stores JSON objects), got {type(op.value).__name__}"
        raise InvalidInputError(msg)
    if op.value is not None:
        try:
            json.dumps(dict(op.value))
        except (TypeError, ValueError) as exc:
            msg = f"ASEMStore.put: value of key {op.key!r} must be JSON-serialisable ({exc})"
            raise TypeError(msg) from exc  # what json.dumps raises, as LangGraph users expect


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    pairs = zip(namespace, path) if condition.match_type == "prefix" else zip(reversed(namespace), reversed(path))
    return all(p == "*" or n == p for n, p in pairs)


class ASEMStore(BaseStore):
    """LangGraph's long-term memory interface, backed by ASEM.

    Each namespace is an ASEM scope (``user_id`` = the labels joined by ".", ``agent_id`` =
    "langgraph"); each item is a note whose metadata holds its key and value. ``put`` on a
    new key adds a note (with links and note construction, no merging: a key is a key),
    ``put`` on an existing key updates that note with a new version, ``delete`` marks it
    deleted; every earlier value stays readable in ``memory.history(...)``. ``search`` with a
    ``query`` is ASEM's two-phase, value-aware search, in its order (``SearchItem.score`` is the
    cosine similarity of the item to the query, a number a caller can threshold); give
    feedback with :meth:`feedback` so useful memories rank higher.

    TTL is not supported (``supports_ttl`` is False).

    Args:
        memory: An :class:`~asem_core.ASEM`, a store folder, or None for the default store.
    """

    supports_ttl = False

    def __init__(self, memory: ASEM | str | os.PathLike[str] | None = None) -> None:
        self.memory = open_memory(memory)
        self._keys: dict[str, dict[str, str]] = {}  # scope key -> item key -> note id
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ helpers
    def _key_map(self, scope: Scope) -> dict[str, str]:
        keys = self._keys.get(scope.key)
        if keys is None:
            keys = {}
            for note in self.memory.all(user_id=scope.user_id, agent_id=scope.agent_id):
                key = note.metadata.get("lg_key")
                if isinstance(key, str):
                    keys[key] = note.id
            self._keys[scope.key] = keys
        return keys

    def _note(self, scope: Scope, key: str) -> Note | None:
        note_id = self._key_map(scope).get(key)
        if note_id is None:
            return None
        note = self.memory.get(note_id, user_id=scope.user_id, agent_id=scope.agent_id)
        return note if note.valid else None

    @staticmethod
    def _item(note: Note) -> Item:
        return Item(
            value=dict(note.metadata.get("lg_value", {})),
            key=str(note.metadata["lg_key"]),
            namespace=_namespace(note.scope),
            created_at=_time(note.created_at),
            updated_at=_time(note.updated_at),
        )

    def _namespaces(self) -> list[tuple[str, ...]]:
        return sorted({_namespace(s) for s in self.memory.store.scopes() if s.agent_id == _AGENT and s.user_id and not s.session_id})

    # ------------------------------------------------------------------ operations
    def _get(self, op: GetOp) -> Item | None:
        note = self._note(_scope(op.namespace), op.key)
        return self._item(note) if note is not None else None

    def _put(self, op: PutOp) -> None:
        scope = _scope(op.namespace)
        keys = self._key_map(scope)
        current = self._note(scope, op.key)
        if op.value is None:
            if current is not None:
                self.memory.delete(current.id, user_id=scope.user_id, agent_id=scope.agent_id, reason=f"LangGraph delete of key {op.key!r}")
                keys.pop(op.key, None)
            return
        value = dict(op.value)
        text = _text(value, op.index if isinstance(op.index, list) else None)
        meta = {"lg_key": op.key, "lg_value": value}
        if current is not None:
            self.memory.update(current.id, text, user_id=scope.user_id, agent_id=scope.agent_id, reason=f"LangGraph put on key {op.key!r}", metadata=meta)
        else:
            (added,) = self.memory.add_many([{"text": text, "metadata": meta}], user_id=scope.user_id, agent_id=scope.agent_id, manage=False)
            assert added.note_id is not None
            keys[op.key] = added.note_id

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        spaces = [ns for ns in self._namespaces() if ns[: len(prefix)] == prefix]
        found: list[tuple[float | None, float | None, Note]] = []  # (ASEM's ranking score, cosine similarity, note)
        for ns in spaces:
            scope = _scope(ns)
            if op.query:
                want = op.offset + op.limit + (50 if op.filter else 0)
                hits = self.memory.search(op.query, user_id=scope.user_id, agent_id=scope.agent_id, k=max(want, 1))
                found += [(h.score, h.similarity, h.note) for h in hits if isinstance(h.note.metadata.get("lg_key"), str)]
            else:
                found += [(None, None, n) for n in self.memory.all(user_id=scope.user_id, agent_id=scope.agent_id) if isinstance(n.metadata.get("lg_key"), str)]
        if op.filter:
            found = [(r, s, n) for r, s, n in found if matches_filter(n.metadata.get("lg_value", {}).get, op.filter)]
        if op.query:
            found.sort(key=lambda rsn: -(rsn[0] or 0.0))
        else:
            found.sort(key=lambda rsn: rsn[2].updated_at, reverse=True)
        page = found[op.offset : op.offset + op.limit]
        out: list[SearchItem] = []
        for _, score, note in page:
            item = self._item(note)
            out.append(SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at, score))
        return out

    def _list(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        spaces = [ns for ns in self._namespaces() if all(_matches(c, ns) for c in op.match_conditions or ())]
        if op.max_depth is not None:
            spaces = sorted({ns[: op.max_depth] for ns in spaces})
        return spaces[op.offset : op.offset + op.limit]

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run get/put/search/list-namespaces operations in order (see ``BaseStore.batch``)."""
        ops = list(ops)
        for op in ops:  # every put is checked before the first write
            if isinstance(op, PutOp):
                _check_put(op)
        results: list[Result] = []
        with self._lock:
            for op in ops:
                if isinstance(op, GetOp):
                    results.append(self._get(op))
                elif isinstance(op, PutOp):
                    results.append(self._put(op))  # type: ignore[func-returns-value]
                elif isinstance(op, SearchOp):
                    results.append(self._search(op))
                elif isinstance(op, ListNamespacesOp):
                    results.append(self._list(op))
                else:
                    msg = f"unknown store operation {type(op).__name__}"
                    raise TypeError(msg)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch` (in a worker thread)."""
        return await asyncio.to_thread(self.batch, list(ops))

    # ------------------------------------------------------------------ ASEM extras
    def feedback(self, reward: float, items: Iterable[Item]) -> None:
        """Reward the items an answer used: their utility moves toward ``reward`` (in [-1, 1])."""
        by_scope: dict[Scope, list[str]] = {}
        with self._lock:
            for item in items:
                scope = _scope(tuple(item.namespace))
                note_id = self._key_map(scope).get(item.key)
                if note_id is not None:
                    by_scope.setdefault(scope, []).append(note_id)
            for scope, ids in by_scope.items():
                self.memory.feedback(reward, ids, user_id=scope.user_id, agent_id=scope.agent_id)
