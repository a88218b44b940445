"""Stage 5, utility: the EMA update of used notes, and a utility table for items ASEM does not store.

Frameworks keep their own documents (a LlamaIndex ``VectorStoreIndex``, a LangChain vector
store); the table lets ASEM learn a utility for each of their ids and re-rank them by value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._config import ASEMConfig
from ._errors import InvalidInputError, NoteNotFoundError, StoreError
from ._journal import DUMMY
from ._retrieval import ScopeState, zscore
from ._text import now_iso, require_unicode
from ._types import Note, Scope
from ._write import WritePlan

__all__ = ["UtilityTable", "check_reward", "check_rewards", "ema", "feedback_plans", "value_rerank"]


def check_reward(reward: object) -> float:
    """Return the reward as a float, or raise :class:`InvalidInputError` unless it is finite and in [-1, 1]."""
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward) or not -1.0 <= reward <= 1.0:
        msg = f"reward must be a finite number in [-1, 1], got {reward!r}"
        raise InvalidInputError(msg)
    return float(reward)


def ema(q: float, reward: float, alpha: float) -> float:
    """The utility update q ← q + α(r − q)."""
    return q + alpha * (reward - q)


def check_rewards(reward: float | Mapping[str, float], note_ids: Sequence[str] | None) -> tuple[float, dict[str, float] | None, Sequence[str] | None]:
    """Validate ``feedback(reward, note_ids)``: (scalar reward, per-note rewards or None, note ids or None).

    Raises:
        InvalidInputError: A reward out of range, a bad mapping, both forms at once, or a string of ids.
    """
    per_note: dict[str, float] | None = None
    scalar = 0.0
    if isinstance(reward, Mapping):
        if note_ids is not None:
            msg = "feedback takes note_ids or a mapping of note id -> reward, not both"
            raise InvalidInputError(msg)
        if not reward or not all(isinstance(k, str) for k in reward):
            msg = "feedback's reward mapping must be non-empty, keyed by note id strings"
            raise InvalidInputError(msg)
        per_note = {k: check_reward(v) for k, v in reward.items()}
        note_ids = list(per_note)
    else:
        scalar = check_reward(reward)
    if isinstance(note_ids, str):
        msg = "note_ids must be a list of ids, not a string"
        raise InvalidInputError(msg)
    if note_ids is not None:
        if not isinstance(note_ids, Sequence):
            msg = f"note_ids must be a list of note id strings, got {type(note_ids).__name__}"
            raise InvalidInputError(msg)
        bad = [i for i in note_ids if not isinstance(i, str) or not i]
        if bad:
            msg = f"note_ids must hold non-empty note id strings, got {bad[0]!r}"
            raise InvalidInputError(msg)
        for i in note_ids:
            require_unicode(i, "an id of note_ids")
    return scalar, per_note, note_ids


Locate = Callable[[Sequence[str]], dict[Scope, list[Note]]]
"""Note ids -> the notes found, grouped by the scope that holds them."""


def feedback_plans(
    locate: Locate,
    state: ScopeState,
    scope: Scope,
    scalar: float,
    per_note: Mapping[str, float] | None,
    note_ids: Sequence[str] | None,
    config: ASEMConfig,
) -> tuple[list[WritePlan], list[Note]]:
    """The write plans of one feedback call: q ← q + α(r − q) and one more use for each used note.

    Args:
        locate: Finds notes by id in the scope and the scopes beneath it.
        state: The index of the scope searched (its last search's hits and pool are the default notes).
        scope: The scope.
        scalar: The reward of every note, when ``per_note`` is None.
        per_note: One reward per note id.
        note_ids: The notes used (default: the hits of the last search in this scope).
        config: ``alpha``, ``shrink`` and ``q0``.

    Returns:
        One plan (utilities only) per scope holding a note, and the updated notes.

    Raises:
        InvalidInputError: No notes to update.
        NoteNotFoundError: An id is not in this scope or beneath it (nothing is changed).
    """
    ids = list(dict.fromkeys(note_ids if note_ids is not None else state.last_hits))
    if not ids:
        msg = "feedback needs note_ids, or a search in this scope first"
        raise InvalidInputError(msg)
    rewards = per_note if per_note is not None else dict.fromkeys(ids, scalar)
    found = locate(ids)
    missing = set(ids) - {n.id for notes in found.values() for n in notes}
    if missing:
        msg = f"no note(s) {sorted(missing)} in scope {scope} or beneath it; no utility was changed"
        raise NoteNotFoundError(msg)
    at = now_iso()
    plans: dict[Scope, WritePlan] = {}
    used: list[Note] = []
    for owner, notes in found.items():
        plan = plans.setdefault(owner, WritePlan(owner, at, utility_only=True))
        for note in notes:
            note.q = ema(note.q, rewards[note.id], config.alpha)
            note.uses += 1
            plan.notes[note.id] = note
            plan.log.append({"op": "FEEDBACK", "note_id": note.id, "reward": rewards[note.id], "q": note.q, "reason": "utility update", "at": at})
            used.append(note)
    if config.shrink > 0 and note_ids is None:
        rest = [i for i in state.last_pool if i not in set(ids)]
        for owner, others in locate(rest).items():
            plan = plans.setdefault(owner, WritePlan(owner, at, utility_only=True))
            for note in others:
                note.q = note.q + config.shrink * (config.q0 - note.q)
                plan.notes[note.id] = note
    return list(plans.values()), used


def value_rerank(scores: Sequence[float], utilities: Sequence[float], lam: float, spread_floor: float = 0.0) -> np.ndarray:
    """Phase-B scores (1-λ)·z(score) + λ·z(q) for a pool of items.

    With all utilities equal (e.g. every item new), the result orders items exactly as ``scores``.
    """
    s = np.asarray(scores, dtype=np.float64)
    q = np.asarray(utilities, dtype=np.float64)
    return np.asarray((1.0 - lam) * zscore(s) + lam * zscore(q, spread_floor))


class UtilityTable:
    """Utility values of external item ids, persisted in the ASEM store (one Chroma collection).

    Args:
        client: The Chroma client of the store.
        name: Collection name.
        q0: Utility of an item never rated.
    """

    def __init__(self, client: Any, name: str, q0: float) -> None:
        self.q0 = q0
        try:
            self._col = client.get_or_create_collection(name, embedding_function=None)
        except Exception as exc:
            msg = f"cannot open the utility table {name!r}: {exc}"
            raise StoreError(msg) from exc

    def get(self, keys: Sequence[str]) -> dict[str, tuple[float, int]]:
        """(q, uses) of each key; unseen keys get (q0, 0)."""
        out = {k: (self.q0, 0) for k in keys}
        if keys:
            got = self._col.get(ids=list(dict.fromkeys(keys)), include=["metadatas"])
            for key, meta in zip(got["ids"], got["metadatas"]):
                out[key] = (float(meta.get("q", self.q0)), int(meta.get("uses", 0)))
        return out

    def update(self, keys: Sequence[str], reward: float, alpha: float) -> dict[str, float]:
        """Apply the EMA update to each key; returns the new utilities."""
        reward = check_reward(reward)
        if not keys:
            return {}
        unique = list(dict.fromkeys(keys))
        current = self.get(unique)
        new = {k: ema(current[k][0], reward, alpha) for k in unique}
        now = now_iso()
        self._col.upsert(
            ids=unique,
            embeddings=[DUMMY] * len(unique),
            metadatas=[{"q": new[k], "uses": current[k][1] + 1, "updated": now} for k in unique],
        )
        return new
